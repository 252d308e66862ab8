using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// A level's phase 1 reads every segment's new rows and window edges together and hands each row to the segments whose
/// range holds it: per segment, the candidates and directions must be exactly those of its own statement, over random
/// segments (behavioural conditions and lists included), late and future-dated rows, and hops of every length.
/// </summary>
[Trait("Category", "Engine")]
public sealed class SharedPhaseOneTests
{
    private static readonly TimeSpan[] Hops = [TimeSpan.FromMinutes(7), TimeSpan.FromHours(1), TimeSpan.FromHours(9), TimeSpan.FromDays(2)];

    [Theory]
    [InlineData(41)]
    [InlineData(42)]
    public async Task Each_segment_gets_exactly_its_own_candidates_and_directions(int seed)
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var world = new EvaluationWorld(engine, schema, seed) { Behavioural = true };
        var t0 = new DateTime(2026, 4, 1, 8, 15, 0, DateTimeKind.Utc);
        await world.IngestHistoryAsync(t0, 25, 14, 4);

        await world.SaveRandomSegmentsAsync(10, t0);
        var segments = new List<(SegmentDefinition Definition, IReadOnlyDictionary<string, SegmentDefinition> References)>();
        foreach (var id in world.SegmentIds)
        {
            var validated = await world.ValidatedAsync(id);
            segments.Add((validated.Definition, validated.References));
        }

        var compared = 0;
        foreach (var hop in Hops)
        {
            var w0 = await EngineNowAsync(engine);
            var t1 = t0 + hop;
            await world.IngestAsync(t1, 40, 10);
            var batch = await engine.QueryAsync(CandidateQuery.IncrementalBatch(schema, EvaluationWorld.Tenant, segments, t0, t1, w0));
            var shared = batch.Read(row => (Segment: row.Get<int>(0), Profile: row.GetString(1), Directions: row.Get<int>(2)))
                .ToLookup(r => r.Segment, r => (r.Profile, r.Directions));
            for (var i = 0; i < segments.Count; i++)
            {
                var own = await engine.QueryAsync(CandidateQuery.Incremental(schema, EvaluationWorld.Tenant, segments[i].Definition, segments[i].References, t0, t1, w0));
                var expected = own.Read(row => (Profile: row.GetString(0), Directions: row.Get<int>(1))).ToHashSet();
                Assert.True(expected.SetEquals(shared[i]), $"segment {i}, ({t0:O}, {t1:O}]: expected {expected.Count}, shared {shared[i].Count()}; differing {string.Join(", ", expected.Except(shared[i]).Concat(shared[i].Except(expected)).Take(5))}");
                compared += expected.Count;
            }

            t0 = t1;
        }

        Assert.True(compared > 0);
    }

    [Fact]
    public async Task The_changed_event_rows_are_the_rows_behind_window_count_candidates()
    {
        // Window counts only: their candidates are exactly the profiles of their new rows and edge crossings, so the
        // changed rows the evaluator benchmark times as a tick's floor must be of exactly those profiles.
        var empty = new Dictionary<string, SegmentDefinition>();
        List<CandidateQuery.PhaseOneSegment> segments =
        [
            new(new SegmentDefinition("openers", null, new EventCondition("Opened Email", [], new LastDaysWindow(2), Measure.Count, Comparison.Gte, 1)), empty, false),
            new(new SegmentDefinition("buyers", null, new EventCondition("Placed Order", [], new LastHoursWindow(30), Measure.Count, Comparison.Gte, 2)), empty, false),
        ];
        var t0 = new DateTime(2026, 4, 1, 8, 15, 0, DateTimeKind.Utc);
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var world = new EvaluationWorld(engine, schema, 7);
        await world.IngestHistoryAsync(t0, 12, 30, 0);
        var w0 = await EngineNowAsync(engine);
        var t1 = t0.AddHours(5);
        await world.IngestAsync(t1, 40, 0);

        var batch = await engine.QueryAsync(CandidateQuery.IncrementalBatch(schema, EvaluationWorld.Tenant, segments, t0, t1, w0));
        var candidates = batch.Read(row => row.GetString(1)).ToHashSet(StringComparer.Ordinal);
        var floor = await engine.QueryAsync(CandidateQuery.ChangedEventRows(schema, EvaluationWorld.Tenant, segments, t0, t1, w0));
        var (rows, profiles) = floor.Read(row => (row.Get<long>(0), row.Get<long>(1)))[0];

        Assert.NotEmpty(candidates);
        Assert.Equal(candidates.Count, profiles);
        Assert.True(rows >= profiles, $"{rows} rows of {profiles} profiles");
    }

    private static async Task<DateTime> EngineNowAsync(IClickHouseEngine engine)
    {
        var now = (await engine.QueryAsync(new SqlStatement("SELECT now64(6, 'UTC')"))).Read(row => row.GetDateTime(0))[0];
        await Task.Delay(5);
        return now;
    }
}
