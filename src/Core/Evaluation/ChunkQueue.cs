using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace SegmentMcp.Core.Evaluation;

/// <summary>
/// One unit of phase 2: re-evaluate <see cref="ProfileIds"/> (sorted, so the chunk is one contiguous key range) for
/// one segment version at <see cref="EvaluatedAt"/>; or, when <see cref="Whole"/>, the whole segment in one query (a
/// new or changed version, where every profile is a candidate). Plain data, so a durable broker can carry it.
/// </summary>
/// <remarks>
/// A chunk of several segments carries them in <see cref="Together"/> (each a chunk of its own segment, evaluated in one
/// statement); its own segment, version and profiles are then empty.
/// </remarks>
public sealed record ChunkWork(string Tenant, string SegmentId, int Version, DateTime EvaluatedAt, int ChunkIndex, IReadOnlyList<string> ProfileIds, bool Whole = false)
{
    /// <summary>The segments' chunks this chunk evaluates in one statement; null for a chunk of one segment.</summary>
    public IReadOnlyList<ChunkWork>? Together { get; init; }
}

/// <summary>
/// The work queue between phase 1 and the workers. The in-process implementation is a channel; a durable broker
/// (Kafka, SQS, a ClickHouse queue table) can implement the same contract: at-least-once delivery is enough, because
/// re-running a chunk is harmless.
/// </summary>
public interface IChunkQueue
{
    ValueTask EnqueueAsync(ChunkWork work, CancellationToken cancellationToken);

    /// <summary>No more work will be enqueued; readers finish once the queue drains.</summary>
    void Complete();

    /// <summary>Takes work until the queue is completed and empty. Several readers share the work.</summary>
    IAsyncEnumerable<ChunkWork> ReadAllAsync(CancellationToken cancellationToken);
}

/// <summary>Creates one queue per batch of work (a dependency level of a tick).</summary>
public interface IChunkQueueFactory
{
    IChunkQueue Create();
}

/// <summary>The default: an unbounded in-process <see cref="Channel{T}"/>.</summary>
public sealed class ChannelChunkQueue : IChunkQueue
{
    private readonly Channel<ChunkWork> channel = Channel.CreateUnbounded<ChunkWork>(new UnboundedChannelOptions { SingleWriter = true });

    public ValueTask EnqueueAsync(ChunkWork work, CancellationToken cancellationToken) => channel.Writer.WriteAsync(work, cancellationToken);

    public void Complete() => channel.Writer.TryComplete();

    public async IAsyncEnumerable<ChunkWork> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var work in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return work;
        }
    }

    /// <summary>Creates channel queues.</summary>
    public sealed class Factory : IChunkQueueFactory
    {
        public static Factory Instance { get; } = new();

        public IChunkQueue Create() => new ChannelChunkQueue();
    }
}
