using Microsoft.Extensions.Logging.Abstractions;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// Phase 2 hands each chunk's transitions to one writer and goes on: gathering, the writer waits for a full batch or the
/// level's last chunk; writing behind, chunks that finish while a write runs are written together in the next one. Either
/// way membership, the log and the sizes come out as the full recompute's.
/// </summary>
[Trait("Category", "Engine")]
public sealed class ChangeWriterTests
{
    [Fact]
    public async Task Chunks_finished_during_a_write_are_written_together_and_membership_matches_the_recompute()
    {
        var (engine, schema, world) = await SeedAsync(23);
        var store = new RecordingMembership(new MembershipStore(engine, schema));
        var evaluator = new SegmentEvaluator(
            engine, schema, world.Segments, store, new EvaluatorOptions { Workers = 1, ChunkSize = 3, IngestLag = TimeSpan.Zero, GatherWrites = false });
        var t1 = await FirstTickThenIngestAsync(evaluator, world);
        var (callsBefore, setsBefore) = (store.Writes, store.ChangeSets);

        // The first write stalls between its log and its membership rows while the worker goes on with later chunks.
        var writes = 0;
        evaluator.AfterLogWritten = async _ =>
        {
            if (Interlocked.Increment(ref writes) == 1)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        };
        var report = await evaluator.TickAsync(EvaluationWorld.Tenant, t1, null, CancellationToken.None);

        var calls = store.Writes - callsBefore;
        var changeSets = store.ChangeSets - setsBefore;
        Assert.True(report.Statistics.Chunks >= 3, $"{report.Statistics.Chunks} chunks");
        Assert.True(changeSets >= 3, $"{changeSets} chunks with changes");
        Assert.True(calls < changeSets, $"{calls} writes for {changeSets} chunks with changes");
        foreach (var id in world.SegmentIds)
        {
            var expected = await world.RecomputeAsync(id, t1);
            Assert.Equal(expected, await world.StoredMembersAsync(id));
            var saved = await world.Segments.GetAsync(EvaluationWorld.Tenant, id, CancellationToken.None);
            Assert.Equal(t1, saved!.EvaluatedAt);
            Assert.Equal(expected.Count, saved.Size);
            var (members, _) = await store.MembersAmongAsync(EvaluationWorld.Tenant, id, [.. Enumerable.Range(0, 60).Select(world.Profile)], CancellationToken.None);
            Assert.Equal(expected, new SortedSet<string>(members, StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task Gathering_writes_a_full_batch_at_a_time_and_the_rest_once_every_chunk_is_handed_over()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var store = new RecordingMembership(new MembershipStore(engine, schema));
        var at = new DateTime(2026, 5, 1, 6, 0, 0, DateTimeKind.Utc);
        var writer = new ChangeWriter(store, EvaluationWorld.Tenant, at, maxChangesPerWrite: 4, gather: true, afterLogWritten: null, NullLogger.Instance, CancellationToken.None);
        var owners = new List<ChunkOwner>();
        for (var i = 0; i < 5; i++)
        {
            var owner = new ChunkOwner();
            owners.Add(owner);
            writer.Add(new ChunkWork(EvaluationWorld.Tenant, $"s{i}", 1, at, i, []), owner, new SegmentChanges($"s{i}", [$"p{i}a", $"p{i}b"], []));
            if (i == 0)
            {
                // Two changes, below a batch of four, and more chunks may come: nothing is written yet.
                await Task.Delay(TimeSpan.FromMilliseconds(300));
                Assert.Equal(0, store.Writes);
            }
        }

        await writer.CompleteAsync();

        // Batches of at most four changes (two chunks), the last one once the writer is told no more chunks come.
        Assert.Equal(3, store.Writes);
        Assert.Equal(5, store.ChangeSets);
        for (var i = 0; i < 5; i++)
        {
            Assert.Null(owners[i].Failure);
            Assert.Equal(2, owners[i].WrittenChanges);
            var (members, _) = await store.MembersAmongAsync(EvaluationWorld.Tenant, $"s{i}", [$"p{i}a", $"p{i}b", "p9"], CancellationToken.None);
            Assert.Equal([$"p{i}a", $"p{i}b"], members.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task A_tick_cancelled_between_a_writes_log_and_membership_stops_and_the_next_tick_repairs()
    {
        var (engine, schema, world) = await SeedAsync(29);
        var evaluator = new SegmentEvaluator(engine, schema, new EvaluatorOptions { Workers = 2, ChunkSize = 4, IngestLag = TimeSpan.Zero });
        var t1 = await FirstTickThenIngestAsync(evaluator, world);
        using var cancel = new CancellationTokenSource();
        evaluator.AfterLogWritten = async _ => await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => evaluator.TickAsync(EvaluationWorld.Tenant, t1, null, cancel.Token).WaitAsync(TimeSpan.FromMinutes(2)));

        evaluator.AfterLogWritten = null;
        var t2 = t1.AddHours(3);
        await evaluator.TickAsync(EvaluationWorld.Tenant, t2, null, CancellationToken.None);
        foreach (var id in world.SegmentIds)
        {
            var expected = await world.RecomputeAsync(id, t2);
            Assert.Equal(expected, await world.StoredMembersAsync(id));
            Assert.Equal(expected, await world.ReplayedLogAsync(id));
        }
    }

    private static async Task<(IClickHouseEngine Engine, StorageSchema Schema, EvaluationWorld World)> SeedAsync(int seed)
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        return (engine, schema, await EvaluatorCrashTests.SeedAsync(engine, schema, seed));
    }

    /// <summary>Evaluates the seeded segments at the start, then ingests 20 hours later; returns that time.</summary>
    private static async Task<DateTime> FirstTickThenIngestAsync(SegmentEvaluator evaluator, EvaluationWorld world)
    {
        await evaluator.TickAsync(EvaluationWorld.Tenant, EvaluatorCrashTests.Start, null, CancellationToken.None);
        var t1 = EvaluatorCrashTests.Start.AddHours(20);
        await world.IngestAsync(t1, 60, 15);
        return t1;
    }

    private sealed class ChunkOwner : ChangeWriter.IChunkOwner
    {
        private int written;

        public Exception? Failure { get; set; }

        public int WrittenChanges => Volatile.Read(ref written);

        void ChangeWriter.IChunkOwner.Written(SegmentChanges changes, TimeSpan elapsed) => Interlocked.Add(ref written, changes.Count);
    }
}
