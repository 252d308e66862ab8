using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// Phase 2 hands each chunk's transitions to one writer and goes on: chunks that finish while a write runs are written
/// together in the next one, and membership, the log and the sizes come out as the full recompute's.
/// </summary>
[Trait("Category", "Engine")]
public sealed class ChangeWriterTests
{
    [Fact]
    public async Task Chunks_finished_during_a_write_are_written_together_and_membership_matches_the_recompute()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var start = EvaluatorCrashTests.Start;
        var world = await EvaluatorCrashTests.SeedAsync(engine, schema, 23);
        var store = new RecordingMembership(new MembershipStore(engine, schema));
        var evaluator = new SegmentEvaluator(
            engine, schema, world.Segments, store, new EvaluatorOptions { Workers = 1, ChunkSize = 3, IngestLag = TimeSpan.Zero });
        await evaluator.TickAsync(EvaluationWorld.Tenant, start, null, CancellationToken.None);

        var t1 = start.AddHours(20);
        await world.IngestAsync(t1, 60, 15);
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
}
