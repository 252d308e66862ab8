using SegmentMcp.Core.Evaluation;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// A tick starts by handing back what the managed heap holds free once it grew <see cref="SegmentEvaluator.ManagedReleaseThreshold"/>
/// above what the last release left, as it does the engine's freed memory: the tick's peak should not stack on what
/// earlier work left committed.
/// </summary>
/// <remarks>
/// Alone: another test's tick would release the garbage this one leaves (the heap is the process's) before its own tick
/// starts.
/// </remarks>
[Collection(nameof(ManagedMemoryReleaseTests))]
public sealed class ManagedMemoryReleaseTests
{
    private static readonly DateTime Now = new(2026, 12, 4, 9, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task A_tick_over_a_heap_that_earlier_work_left_large_starts_with_a_compacting_full_collection()
    {
        var schema = await TestEngines.NewSchemaAsync(TestEngines.Embedded);
        var world = new EvaluationWorld(TestEngines.Embedded, schema, 20261204, profiles: 20);
        await world.IngestHistoryAsync(Now, 10, 5, 2);
        await world.SaveRandomSegmentsAsync(2, Now.AddDays(-1));
        await using var evaluator = new SegmentEvaluator(TestEngines.Embedded, schema, new EvaluatorOptions { IngestLag = TimeSpan.Zero });

        // What earlier work leaves: objects that lived long enough to reach the oldest generation (a long tick's lists,
        // an import's buffers), then died. They stay committed until a full collection; a gen-0 collection records the
        // heap's size without returning them.
        LeaveOldGarbage(SegmentEvaluator.ManagedReleaseFloor + (2 * SegmentEvaluator.ManagedReleaseThreshold));
        GC.Collect(0);
        Assert.True(GC.GetGCMemoryInfo().TotalCommittedBytes > SegmentEvaluator.ManagedReleaseFloor + SegmentEvaluator.ManagedReleaseThreshold);
        var before = GC.GetGCMemoryInfo(GCKind.FullBlocking).Index;

        await evaluator.TickAsync(EvaluationWorld.Tenant, Now, null, CancellationToken.None);

        var collection = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        Assert.True(collection.Index > before, "no full blocking collection ran during the tick");
        Assert.True(collection.Compacted, "the tick's full collection did not compact the heap");
        foreach (var id in world.SegmentIds)
        {
            Assert.Equal(await world.RecomputeAsync(id, Now), await world.StoredMembersAsync(id));
        }
    }

    private static void LeaveOldGarbage(long bytes)
    {
        var live = new List<byte[]>();
        for (long allocated = 0; allocated < bytes; allocated += 8192)
        {
            live.Add(new byte[8192]);
        }

        GC.Collect();
        GC.Collect();
        GC.KeepAlive(live);
    }
}

/// <summary>Runs <see cref="ManagedMemoryReleaseTests"/> with no other test beside it.</summary>
[CollectionDefinition(nameof(ManagedMemoryReleaseTests), DisableParallelization = true)]
public sealed class ManagedMemoryReleaseCollection;
