using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// A segment reading only profile properties turns whole from its own, lower share of the profiles (its query over the
/// universe reads ranges of the current-value table), while a segment reading events with as many candidates stays in
/// chunks; both end equal to the full recompute.
/// </summary>
[Trait("Category", "Engine")]
public sealed class PropertyWholeEvaluationTests
{
    [Fact]
    public async Task A_property_only_segment_is_evaluated_whole_from_its_own_share_and_an_event_segment_is_not()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var world = await EvaluatorCrashTests.SeedAsync(engine, schema, 31);
        var properties = await SaveAsync(world, """{"property": {"name": "city", "op": "in", "value": ["Boston", "Tokyo"]}}""");
        var events = await SaveAsync(world, """{"event": {"metric": "Opened Email", "window": {"last_days": 7}, "measure": "count", "op": "gte", "value": 1}}""");
        var evaluator = new SegmentEvaluator(engine, schema, new EvaluatorOptions
        {
            Workers = 2,
            ChunkSize = 5,
            IngestLag = TimeSpan.Zero,
            WholeEvaluationMinimum = 1_000,
            PropertyWholeEvaluationMinimum = 1,
            PropertyWholeEvaluationShare = 0.01,
        });
        await evaluator.TickAsync(EvaluationWorld.Tenant, EvaluatorCrashTests.Start, null, CancellationToken.None);

        var t1 = EvaluatorCrashTests.Start.AddHours(20);
        await world.IngestAsync(t1, 80, 40);
        var report = await evaluator.TickAsync(EvaluationWorld.Tenant, t1, null, CancellationToken.None);

        var byProperty = report.Segments.Single(s => s.SegmentId == properties);
        var byEvents = report.Segments.Single(s => s.SegmentId == events);
        Assert.True(byProperty.Candidates > 0 && byEvents.Candidates > 0, $"{byProperty.Candidates} and {byEvents.Candidates} candidates");
        Assert.True(byProperty.EvaluatedWhole);
        Assert.False(byEvents.EvaluatedWhole);
        foreach (var id in world.SegmentIds)
        {
            var expected = await world.RecomputeAsync(id, t1);
            Assert.Equal(expected, await world.StoredMembersAsync(id));
            Assert.Equal(expected, await world.ReplayedLogAsync(id));
        }
    }

    /// <summary>
    /// A segment whose query the engine estimates to read few rows per candidate is evaluated whole however small its
    /// share of the profiles; with the rule off (or a scan estimated dearer) it stays in chunks; exact either way.
    /// </summary>
    [Theory]
    [InlineData(1e9, true)]
    [InlineData(1e-3, false)]
    [InlineData(0, false)]
    public async Task A_segment_whose_query_reads_few_rows_per_candidate_is_evaluated_whole(double rowsPerCandidate, bool whole)
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var world = await EvaluatorCrashTests.SeedAsync(engine, schema, 37);
        var shortWindow = await SaveAsync(world, """{"event": {"metric": "Opened Email", "window": {"last_hours": 24}, "measure": "count", "op": "gte", "value": 1}}""");
        var evaluator = new SegmentEvaluator(engine, schema, new EvaluatorOptions
        {
            Workers = 2,
            ChunkSize = 5,
            IngestLag = TimeSpan.Zero,
            WholeEvaluationMinimum = 1,
            WholeEvaluationShare = 1,
            WholeEvaluationRowsPerCandidate = rowsPerCandidate,
        });
        await evaluator.TickAsync(EvaluationWorld.Tenant, EvaluatorCrashTests.Start, null, CancellationToken.None);

        var t1 = EvaluatorCrashTests.Start.AddHours(30);
        await world.IngestAsync(t1, 80, 40);
        var report = await evaluator.TickAsync(EvaluationWorld.Tenant, t1, null, CancellationToken.None);

        var result = report.Segments.Single(s => s.SegmentId == shortWindow);
        Assert.True(result.Candidates > 0, "the hour's events and the window's edge make candidates");
        Assert.Equal(whole, result.EvaluatedWhole);
        foreach (var id in world.SegmentIds)
        {
            var expected = await world.RecomputeAsync(id, t1);
            Assert.Equal(expected, await world.StoredMembersAsync(id));
            Assert.Equal(expected, await world.ReplayedLogAsync(id));
        }
    }

    /// <summary>
    /// A tick reuses an earlier tick's estimate of the same segment version within <see cref="EvaluatorOptions.EstimateReuse"/>
    /// of evaluation time, and asks the engine again beyond it; the choice it makes stays the same and exact.
    /// </summary>
    [Fact]
    public async Task An_estimate_is_reused_by_the_ticks_that_follow_and_asked_again_beyond_the_reuse_span()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var world = new EvaluationWorld(engine, schema, 38);
        await world.IngestHistoryAsync(EvaluatorCrashTests.Start, 20, 15, 5);
        var shortWindow = await SaveAsync(world, """{"event": {"metric": "Opened Email", "window": {"last_hours": 24}, "measure": "count", "op": "gte", "value": 1}}""");
        var recording = new RecordingEngine(engine);
        var evaluator = new SegmentEvaluator(recording, schema, new EvaluatorOptions
        {
            Workers = 2,
            ChunkSize = 5,
            IngestLag = TimeSpan.Zero,
            WholeEvaluationMinimum = 1,
            WholeEvaluationShare = 1,
            WholeEvaluationRowsPerCandidate = 1e9,
            EstimateReuse = TimeSpan.FromHours(1),
        });
        await evaluator.TickAsync(EvaluationWorld.Tenant, EvaluatorCrashTests.Start, null, CancellationToken.None);

        var asked = new List<int>();
        var at = EvaluatorCrashTests.Start.AddHours(30);
        foreach (var step in new[] { TimeSpan.Zero, TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(40), TimeSpan.FromHours(2) })
        {
            at += step;
            await world.IngestAsync(at, 80, 10);
            var report = await evaluator.TickAsync(EvaluationWorld.Tenant, at, null, CancellationToken.None);
            var result = report.Segments.Single(s => s.SegmentId == shortWindow);
            Assert.True(result.Candidates > 0, $"no candidates at {at:O}");
            Assert.True(result.EvaluatedWhole, $"not evaluated whole at {at:O}");
            asked.Add(recording.Statements.Count(text => text.StartsWith("EXPLAIN ESTIMATE", StringComparison.Ordinal)));
        }

        // Asked at the first of these ticks, reused 20 and 60 minutes later, asked again two hours after that.
        Assert.Equal([1, 1, 1, 2], asked);
        var expected = await world.RecomputeAsync(shortWindow, at);
        Assert.Equal(expected, await world.StoredMembersAsync(shortWindow));
        Assert.Equal(expected, await world.ReplayedLogAsync(shortWindow));
    }

    private static async Task<string> SaveAsync(EvaluationWorld world, string condition)
    {
        var definition = SegmentDefinitionJson.Parse($$"""{"name": "shape", "condition": {{condition}}}""").Definition!;
        var saved = await world.Segments.SaveAsync(EvaluationWorld.Tenant, null, definition.Name, null, SegmentDefinitionJson.Write(definition), CancellationToken.None);
        world.SegmentIds.Add(saved.Id);
        return saved.Id;
    }
}
