using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.Evaluation;

/// <summary>
/// Writes the transitions of a level's chunks behind the workers that find them. A worker hands over a chunk's changes
/// and goes on to its next chunk; one writer takes every chunk handed over since its last write and writes them
/// together (log, membership, buckets: three statements however many chunks and segments). A tick's chunk writes were
/// 30 statements for 10 chunks, the largest share of a one-worker tick after the queries. Gathering (the default), the
/// writer waits until a full write's worth of changes is pending or every chunk is handed over: an ordinary tick's
/// level is then one write (3 statements instead of 21 for a 0.1% hour on the 2M-profile demo, 40 ms instead of
/// 222 ms), while a level with many changes still writes behind its workers, a full batch at a time.
/// </summary>
/// <remarks>
/// The write protocol is the store's (log first, then membership), so a crash or a failed write leaves log entries
/// the next tick rolls forward. A failed write fails every segment with a chunk in it: their states stay where they
/// were and the next tick repairs them.
/// </remarks>
internal sealed class ChangeWriter
{
    private readonly Channel<WrittenChunk> pending = Channel.CreateUnbounded<WrittenChunk>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IMembershipStore membership;
    private readonly string tenant;
    private readonly DateTime at;
    private readonly int maxChangesPerWrite;
    private readonly bool gather;
    private readonly SemaphoreSlim handedOver = new(0);
    private long pendingChanges;
    private volatile bool complete;
    private readonly Func<ChunkWork, ValueTask>? afterLogWritten;
    private readonly ILogger logger;
    private readonly Task writing;

    /// <param name="membership">The store written to.</param>
    /// <param name="tenant">The tenant of every chunk handed over.</param>
    /// <param name="at">The evaluation time of every chunk handed over.</param>
    /// <param name="maxChangesPerWrite">Changes one write gathers at most (a chunk is never split).</param>
    /// <param name="gather">
    /// Wait for <paramref name="maxChangesPerWrite"/> pending changes or the last chunk before writing, instead of
    /// writing whatever was handed over since the last write.
    /// </param>
    /// <param name="afterLogWritten">Test hook: runs for each chunk of a write after the log and before membership.</param>
    /// <param name="logger">Where each written chunk is reported.</param>
    /// <param name="cancellationToken">Stops the writes.</param>
    public ChangeWriter(
        IMembershipStore membership,
        string tenant,
        DateTime at,
        int maxChangesPerWrite,
        bool gather,
        Func<ChunkWork, ValueTask>? afterLogWritten,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        this.membership = membership;
        this.tenant = tenant;
        this.at = at;
        this.maxChangesPerWrite = maxChangesPerWrite;
        this.gather = gather;
        this.afterLogWritten = afterLogWritten;
        this.logger = logger;
        writing = Task.Run(() => WriteAllAsync(cancellationToken), cancellationToken);
    }

    /// <summary>One chunk's changes, written for <paramref name="Segment"/>.</summary>
    /// <param name="Work">The chunk.</param>
    /// <param name="Segment">Its segment's progress, told of the written changes or of the failure.</param>
    /// <param name="Changes">What entered and exited.</param>
    public sealed record WrittenChunk(ChunkWork Work, IChunkOwner Segment, SegmentChanges Changes);

    /// <summary>What a chunk's segment learns from the writer.</summary>
    public interface IChunkOwner
    {
        /// <summary>Set once a chunk of the segment failed: its later chunks are not written.</summary>
        Exception? Failure { get; set; }

        /// <summary>A chunk's changes are stored; <paramref name="elapsed"/> is its share of the write.</summary>
        void Written(SegmentChanges changes, TimeSpan elapsed);
    }

    /// <summary>Hands a chunk's changes over; a chunk with none is done at once.</summary>
    public void Add(ChunkWork work, IChunkOwner segment, SegmentChanges changes)
    {
        if (changes.Count == 0)
        {
            segment.Written(changes, TimeSpan.Zero);
            Report(work, changes);
            return;
        }

        if (!pending.Writer.TryWrite(new WrittenChunk(work, segment, changes)))
        {
            throw new InvalidOperationException("The change writer was completed before every chunk was handed over.");
        }

        var before = Interlocked.Add(ref pendingChanges, changes.Count) - changes.Count;
        if (before < maxChangesPerWrite && before + changes.Count >= maxChangesPerWrite)
        {
            handedOver.Release();
        }
    }

    /// <summary>No more chunks: waits until every one handed over is written or has failed its segment.</summary>
    public Task CompleteAsync()
    {
        pending.Writer.TryComplete();
        complete = true;
        handedOver.Release();
        return writing;
    }

    private async Task WriteAllAsync(CancellationToken cancellationToken)
    {
        var reader = pending.Reader;
        while (true)
        {
            // Gathering: a write's fixed cost (three statements, 40–80 ms) is paid once per full batch or level.
            while (gather && !complete && Interlocked.Read(ref pendingChanges) < maxChangesPerWrite)
            {
                await handedOver.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            if (!await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                break;
            }

            var batch = new List<WrittenChunk>();
            var changes = 0;
            while (changes < maxChangesPerWrite && reader.TryRead(out var chunk))
            {
                Interlocked.Add(ref pendingChanges, -chunk.Changes.Count);
                if (chunk.Segment.Failure is not null)
                {
                    continue;
                }

                batch.Add(chunk);
                changes += chunk.Changes.Count;
            }

            if (batch.Count > 0)
            {
                await WriteAsync(batch, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task WriteAsync(List<WrittenChunk> batch, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        Func<ValueTask>? hook = afterLogWritten is { } after
            ? async () =>
            {
                foreach (var chunk in batch)
                {
                    await after(chunk.Work).ConfigureAwait(false);
                }
            }
            : null;
        try
        {
            await membership.WriteChangesAsync(tenant, at, [.. batch.Select(c => c.Changes)], hook, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            foreach (var chunk in batch)
            {
                chunk.Segment.Failure ??= exception;
            }

            logger.LogWarning(
                exception,
                "Writing {Chunks} chunks of {Tenant} ({Segments}) failed; their segments keep their states and are repaired next tick",
                batch.Count,
                tenant,
                string.Join(", ", batch.Select(c => c.Work.SegmentId).Distinct(StringComparer.Ordinal)));
            return;
        }

        // Each chunk's share of the write, by its changes: what the segments' work figures add up to.
        var total = batch.Sum(c => c.Changes.Count);
        foreach (var chunk in batch)
        {
            chunk.Segment.Written(chunk.Changes, watch.Elapsed * chunk.Changes.Count / total);
            Report(chunk.Work, chunk.Changes);
        }
    }

    private void Report(ChunkWork work, SegmentChanges changes) =>
        logger.LogDebug(
            "Chunk {Chunk} of {Tenant}/{Segment} written: {Profiles} profiles, {Entered} entered, {Exited} exited",
            work.ChunkIndex, work.Tenant, work.SegmentId, work.ProfileIds.Count, changes.Entered.Count, changes.Exited.Count);
}
