using SegmentMcp.Core.Evaluation;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// Phase 2 evaluates a segment's candidates by its whole query when this process measured that as cheaper than
/// restricted chunks, and the result is the full recompute's either way.
/// </summary>
public sealed class SegmentCostsTests
{
    [Fact]
    public void The_whole_query_wins_only_once_timed_and_cheaper_by_the_margin()
    {
        var costs = new SegmentCosts();

        // Nothing timed: restricted.
        Assert.False(costs.WholeIsCheaper("db", "acme", "s1", 1, 100_000));

        // Whole 40 ms; restricted at the default 40 µs a candidate: 10 ms + 40 µs × n against 50 ms with the margin.
        costs.RecordWhole("db", "acme", "s1", 1, TimeSpan.FromMilliseconds(40));
        Assert.False(costs.WholeIsCheaper("db", "acme", "s1", 1, 900));
        Assert.True(costs.WholeIsCheaper("db", "acme", "s1", 1, 1100));

        // A chunk of 2,000 candidates timed at 210 ms: 100 µs a candidate after the statement's overhead, so fewer
        // candidates already cost more than the whole query.
        costs.RecordRestricted("db", "acme", "s1", 1, 2000, TimeSpan.FromMilliseconds(210));
        Assert.False(costs.WholeIsCheaper("db", "acme", "s1", 1, 300));
        Assert.True(costs.WholeIsCheaper("db", "acme", "s1", 1, 500));

        // Too few candidates to say what one costs; another version, database or tenant knows nothing.
        costs.RecordRestricted("db", "acme", "s1", 1, 50, TimeSpan.FromSeconds(5));
        Assert.False(costs.WholeIsCheaper("db", "acme", "s1", 1, 300));
        Assert.False(costs.WholeIsCheaper("db", "acme", "s1", 2, 100_000));
        Assert.False(costs.WholeIsCheaper("other", "acme", "s1", 1, 100_000));
        Assert.False(costs.WholeIsCheaper("db", "other", "s1", 1, 100_000));
    }

    [Fact]
    [Trait("Category", "Engine")]
    public async Task Candidates_turned_whole_by_measured_cost_give_the_full_recomputes_membership_and_log()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var world = await EvaluatorCrashTests.SeedAsync(engine, schema, 31);
        var start = EvaluatorCrashTests.Start;

        // Never whole for the share of the profiles: only for the cost.
        var evaluator = new SegmentEvaluator(
            engine, schema, new EvaluatorOptions { WholeEvaluationMinimum = 1, WholeEvaluationShare = 1, IngestLag = TimeSpan.Zero });
        await evaluator.TickAsync(EvaluationWorld.Tenant, start, null, CancellationToken.None);
        var before = new Dictionary<string, SortedSet<string>>();
        foreach (var id in world.SegmentIds)
        {
            before[id] = await world.StoredMembersAsync(id);
        }

        // The whole queries measured as nearly free: every segment with candidates is evaluated whole next tick.
        foreach (var segment in await world.Segments.LiveVersionsAsync(EvaluationWorld.Tenant, CancellationToken.None))
        {
            SegmentCosts.Shared.RecordWhole(schema.Database, EvaluationWorld.Tenant, segment.SegmentId, segment.Version, TimeSpan.FromTicks(1));
        }

        var t1 = start.AddHours(30);
        await world.IngestAsync(t1, 80, 20);
        var report = await evaluator.TickAsync(EvaluationWorld.Tenant, t1, null, CancellationToken.None);

        Assert.Contains(report.Segments, r => r.EvaluatedWhole && r.Entered + r.Exited > 0);
        Assert.All(report.Segments.Where(r => r.Candidates > 0), r => Assert.True(r.EvaluatedWhole, r.SegmentId));
        foreach (var id in world.SegmentIds)
        {
            var expected = await world.RecomputeAsync(id, t1);
            Assert.Equal(expected, await world.StoredMembersAsync(id));
            Assert.Equal(expected.Count, report.Segments.Single(r => r.SegmentId == id).Size);
            var log = await world.ChangesAsync(id, t1, t1.AddMilliseconds(1));
            Assert.Equal(expected.Except(before[id]).Order(StringComparer.Ordinal), log.Where(c => c.Entered).Select(c => c.ProfileId).Order(StringComparer.Ordinal));
            Assert.Equal(before[id].Except(expected).Order(StringComparer.Ordinal), log.Where(c => !c.Entered).Select(c => c.ProfileId).Order(StringComparer.Ordinal));
        }
    }
}
