using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// A changed version of a saved segment is evaluated whole by the engine: on one engine written as a generation of its
/// own beside the previous members (the edit's entries derived by the readers), where another segment reads its log
/// (and before schema 20) diffed against its stored members and the differences written (log, membership, buckets).
/// The members never cross into the process, and the result is the full recompute's, after a crash between the writes too.
/// </summary>
[Trait("Category", "Engine")]
public sealed class ChangedVersionTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_changed_version_is_diffed_and_written_by_the_engine_as_the_recompute_says(bool generations)
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine, $"changed_written_{generations}");
        var world = await EvaluatorCrashTests.SeedAsync(engine, schema, 31);
        var store = new RecordingMembership(new MembershipStore(engine, schema) { EditsAsGenerations = generations });
        var evaluator = new SegmentEvaluator(engine, schema, world.Segments, store, new EvaluatorOptions { Workers = 2, ChunkSize = 5, IngestLag = TimeSpan.Zero });
        await evaluator.TickAsync(EvaluationWorld.Tenant, EvaluatorCrashTests.Start, null, CancellationToken.None);
        var before = new Dictionary<string, SortedSet<string>>();
        foreach (var id in world.SegmentIds.ToList())
        {
            before[id] = await world.StoredMembersAsync(id);
            await world.ReplaceAsync(id, EvaluatorCrashTests.Start);
        }

        var t1 = EvaluatorCrashTests.Start.AddHours(5);
        await world.IngestAsync(t1, 40, 10);
        var (writesBefore, enteredBefore) = (store.Writes, store.Entered);
        var report = await evaluator.TickAsync(EvaluationWorld.Tenant, t1, null, CancellationToken.None);

        Assert.Equal(writesBefore, store.Writes);
        var changes = 0L;
        foreach (var id in world.SegmentIds)
        {
            var expected = await world.RecomputeAsync(id, t1);
            var result = report.Segments.Single(s => s.SegmentId == id);
            Assert.True(result.EvaluatedWhole);
            Assert.Equal(expected, await world.StoredMembersAsync(id));
            Assert.Equal(expected.Count, result.Size);
            Assert.Equal(expected.Except(before[id]).Count(), result.Entered);
            Assert.Equal(before[id].Except(expected).Count(), result.Exited);
            var log = await world.ChangesAsync(id, t1, t1.AddMilliseconds(1));
            Assert.Equal(expected.Except(before[id]).Order(StringComparer.Ordinal), log.Where(c => c.Entered).Select(c => c.ProfileId).Order(StringComparer.Ordinal));
            Assert.Equal(before[id].Except(expected).Order(StringComparer.Ordinal), log.Where(c => !c.Entered).Select(c => c.ProfileId).Order(StringComparer.Ordinal));
            var (members, _) = await store.MembersAmongAsync(EvaluationWorld.Tenant, id, [.. Enumerable.Range(0, 60).Select(world.Profile)], CancellationToken.None);
            Assert.Equal(expected, new SortedSet<string>(members, StringComparer.Ordinal));
            changes += result.Entered + result.Exited;
        }

        Assert.True(changes > 0, "the new versions should change membership");
        Assert.Equal(generations ? world.SegmentIds.Count : 0, store.UnloggedEdits);
        if (!generations)
        {
            Assert.Equal(report.Statistics.Entered, store.Entered - enteredBefore);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_changed_version_that_fails_after_its_log_is_repaired_by_the_next_tick(bool generations)
    {
        var (world, evaluator, t1) = await ChangedVersionsDyingAfterTheirLogAsync(37, generations);
        var t2 = t1.AddHours(2);
        await world.IngestAsync(t2, 20, 5);
        var report = await evaluator.TickAsync(EvaluationWorld.Tenant, t2, null, CancellationToken.None);
        foreach (var id in world.SegmentIds)
        {
            var expected = await world.RecomputeAsync(id, t2);
            Assert.Equal(expected, await world.StoredMembersAsync(id));
            Assert.Equal(expected, await world.ReplayedLogAsync(id));
            Assert.Equal(expected.Count, report.Segments.Single(s => s.SegmentId == id).Size);
        }
    }

    /// <summary>
    /// Evaluated again at the time of an earlier evaluation (a repeated <c>evaluate --as-of</c>), after an attempt that
    /// died at that same time: the log already holds entries at that time, so the changes cannot be read back from it
    /// and are diffed in the process instead; membership and the sizes still come out as the recompute's.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_changed_version_evaluated_again_at_an_earlier_attempts_time_stays_exact(bool generations)
    {
        var (world, evaluator, t1) = await ChangedVersionsDyingAfterTheirLogAsync(41, generations);

        // More history up to the same time, then the same evaluation time again, and once more unchanged.
        await world.IngestAsync(t1, 30, 10);
        foreach (var _ in Enumerable.Range(0, 2))
        {
            var report = await evaluator.TickAsync(EvaluationWorld.Tenant, t1, null, CancellationToken.None);
            foreach (var id in world.SegmentIds)
            {
                var expected = await world.RecomputeAsync(id, t1);
                Assert.Equal(expected, await world.StoredMembersAsync(id));
                Assert.Equal(expected.Count, report.Segments.Single(s => s.SegmentId == id).Size);
            }
        }
    }

    /// <summary>
    /// A seeded world evaluated at the start, every segment then saved as a new version, and a tick 5 hours later in
    /// which every changed version dies once its first write is done: the log of its diff (before membership and its
    /// buckets), or its new generation's buckets (before its state names the generation).
    /// </summary>
    private static async Task<(EvaluationWorld World, SegmentEvaluator Evaluator, DateTime T1)> ChangedVersionsDyingAfterTheirLogAsync(int seed, bool generations)
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine, $"changed_dying_{seed}_{generations}");
        var world = await EvaluatorCrashTests.SeedAsync(engine, schema, seed);
        var store = new MembershipStore(engine, schema) { EditsAsGenerations = generations };
        var evaluator = new SegmentEvaluator(engine, schema, world.Segments, store, new EvaluatorOptions { Workers = 1, ChunkSize = 5, IngestLag = TimeSpan.Zero });
        await evaluator.TickAsync(EvaluationWorld.Tenant, EvaluatorCrashTests.Start, null, CancellationToken.None);
        var before = new Dictionary<string, SortedSet<string>>();
        foreach (var id in world.SegmentIds.ToList())
        {
            before[id] = await world.StoredMembersAsync(id);
            await world.ReplaceAsync(id, EvaluatorCrashTests.Start);
        }

        var t1 = EvaluatorCrashTests.Start.AddHours(5);
        await world.IngestAsync(t1, 40, 10);
        evaluator.AfterLogWritten = _ => throw new InvalidOperationException("the process died here");
        var failed = await Assert.ThrowsAsync<TickFailedException>(() => evaluator.TickAsync(EvaluationWorld.Tenant, t1, null, CancellationToken.None));
        Assert.Equal(world.SegmentIds.Count, failed.Failures.Count);
        if (generations)
        {
            // The new generations are written, and nothing reads them: the states still name the previous ones.
            Assert.Empty(await world.ChangesAsync(world.SegmentIds[0], t1, t1.AddMilliseconds(1)));
            foreach (var id in world.SegmentIds)
            {
                Assert.Equal(before[id], await world.StoredMembersAsync(id));
                Assert.Equal(before[id].Count, await world.Membership.CountAsync(EvaluationWorld.Tenant, id, CancellationToken.None));
            }
        }
        else
        {
            // Some version's diff reached the log before it died (which ones have a diff depends on the seeded world).
            var logged = new List<string>();
            foreach (var id in world.SegmentIds)
            {
                if ((await world.ChangesAsync(id, t1, t1.AddMilliseconds(1))).Any())
                {
                    logged.Add(id);
                }
            }

            Assert.NotEmpty(logged);
        }

        evaluator.AfterLogWritten = null;
        return (world, evaluator, t1);
    }
}
