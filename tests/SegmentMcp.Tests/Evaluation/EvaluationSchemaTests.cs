using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>Phase 1's time and value ranges read through the evaluator's projections, not the whole metric or property.</summary>
[Trait("Category", "Engine")]
public sealed class EvaluationSchemaTests
{
    [Fact]
    public async Task Window_edge_and_update_time_queries_use_the_projections()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        await schema.EnsureCreatedAsync(engine); // idempotent, projections included
        var world = new EvaluationWorld(engine, schema, 5);
        // Enough rows that a metric spans several marks of the table, so that reading an hour through a projection pays.
        await world.IngestAsync(new DateTime(2026, 1, 10, 0, 0, 0, DateTimeKind.Utc), 60_000, 20_000);

        // Phase 1 names the fine projection (marks of 256 rows); other queries keep ClickHouse's choice.
        const string Phase1 = " SETTINGS preferred_optimize_projection_name = 'by_time_256'";
        var edge = $"SELECT profile_id FROM {schema.Events} WHERE tenant = 'acme' AND metric = 'Opened Email' AND ts BETWEEN toDateTime64('2026-01-09 00:00:00', 3, 'UTC') AND toDateTime64('2026-01-09 01:00:00', 3, 'UTC')";
        Assert.Contains("ReadFromMergeTree (by_time_256)", await ExplainAsync(engine, edge + Phase1), StringComparison.Ordinal);
        Assert.Contains("ReadFromMergeTree (by_time)", await ExplainAsync(engine, edge), StringComparison.Ordinal);

        var updates = $"SELECT profile_id FROM {schema.Traits} WHERE tenant = 'acme' AND property IN ['city'] AND updated_at > toDateTime64('2026-01-09 00:00:00', 3, 'UTC') AND updated_at <= toDateTime64('2026-01-09 01:00:00', 3, 'UTC')";
        Assert.Contains("ReadFromMergeTree (by_time_256)", await ExplainAsync(engine, updates + Phase1), StringComparison.Ordinal);
        Assert.Contains("ReadFromMergeTree (by_update)", await ExplainAsync(engine, updates), StringComparison.Ordinal);

        // Rows ingested after a watermark and then merged into the big part sit in every mark of their metric there;
        // in ingestion order they stay together.
        const string NewRows = " SETTINGS preferred_optimize_projection_name = 'by_ingest'";
        var watermark = (await engine.QueryAsync(new SqlStatement("SELECT toString(now64(6))"))).Rows[0][0];
        await Task.Delay(10);
        await world.IngestAsync(new DateTime(2026, 1, 10, 1, 0, 0, DateTimeKind.Utc), 300, 0);
        await engine.ExecuteAsync(new SqlStatement($"OPTIMIZE TABLE {schema.Events} FINAL"));
        var fresh = $"SELECT profile_id FROM {schema.Events} WHERE tenant = 'acme' AND metric = 'Opened Email' AND ingested_at > toDateTime64('{watermark}', 6, 'UTC') AND ts <= toDateTime64('2026-01-11 00:00:00', 3, 'UTC')";
        Assert.Contains("ReadFromMergeTree (by_ingest)", await ExplainAsync(engine, fresh + NewRows), StringComparison.Ordinal);

        // Phase 2 reads its candidates' events newer than the timelines with their values and properties (schema 21):
        // merged into the big part, they come from the same projection unnamed, the engine choosing it for its fewer
        // marks, and only they are read.
        var candidates = (await engine.QueryAsync(new SqlStatement(
            $"SELECT groupArray(profile_id) FROM (SELECT DISTINCT profile_id FROM {schema.Events} WHERE ingested_at > toDateTime64('{watermark}', 6, 'UTC') LIMIT 50)"))).Rows[0][0];
        var parameters = new[] { new SqlParameter("candidates", "Array(String)", candidates) };
        var total = await engine.QueryScalarAsync<ulong>(new SqlStatement($"SELECT count() FROM {schema.Events}"));
        foreach (var columns in new[] { "value", "value, properties" })
        {
            var newer = $"SELECT count() FROM (SELECT tenant, metric, profile_id, ts, {columns}, ingested_at FROM {schema.Events} WHERE tenant = 'acme' AND profile_id IN {{candidates:Array(String)}} AND ingested_at > toDateTime64('{watermark}', 6, 'UTC')) WHERE metric IN ['Opened Email']";
            var plan = await engine.QueryAsync(new SqlStatement("EXPLAIN indexes = 1, projections = 1 " + newer, parameters));
            Assert.Contains("ReadFromMergeTree (by_ingest)", string.Join("\n", plan.Rows.Select(r => r[0])), StringComparison.Ordinal);
            var read = await engine.QueryAsync(new SqlStatement(newer, parameters));
            Assert.True(read.Statistics.RowsRead < total / 4, $"{read.Statistics.RowsRead} of {total} rows read for the events newer than the watermark with {columns}");
        }

        var phase1 = CandidateQuery.Incremental(
            schema, "acme", new SegmentMcp.Core.Dsl.SegmentDefinition("edge", null, new SegmentMcp.Core.Dsl.EventCondition("Opened Email", [], new SegmentMcp.Core.Dsl.LastDaysWindow(1), SegmentMcp.Core.Dsl.Measure.Count, SegmentMcp.Core.Dsl.Comparison.Gte, 1)),
            new Dictionary<string, SegmentMcp.Core.Dsl.SegmentDefinition>(), new DateTime(2026, 1, 10, 0, 0, 0, DateTimeKind.Utc), new DateTime(2026, 1, 10, 1, 0, 0, DateTimeKind.Utc), new DateTime(2026, 1, 10, 0, 0, 0, DateTimeKind.Utc));
        Assert.Contains(Phase1 + ")", phase1.Text, StringComparison.Ordinal);
        Assert.Contains(NewRows + ")", phase1.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_date_edge_reads_its_day_range_in_value_order()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        await schema.EnsureCreatedAsync(engine);
        var world = new EvaluationWorld(engine, schema, 7);
        await world.IngestAsync(new DateTime(2026, 1, 10, 0, 0, 0, DateTimeKind.Utc), 1_000, 150_000);

        // Enough signup values that a two-day range is a few of the projection's marks and many of the table's.
        const string ValueOrder = " SETTINGS preferred_optimize_projection_name = 'by_value'";
        var dayRange = $"SELECT profile_id FROM {schema.Traits} WHERE tenant = 'acme' AND property = 'signup' AND value >= 's2026-01-01' AND value < 's2026-01-03'";
        Assert.Contains("ReadFromMergeTree (by_value)", await ExplainAsync(engine, dayRange + ValueOrder), StringComparison.Ordinal);

        var signedUpLastWeek = new SegmentMcp.Core.Dsl.SegmentDefinition(
            "recent signups", null, new SegmentMcp.Core.Dsl.PropertyCondition(new SegmentMcp.Core.Dsl.PropertyFilter("signup", SegmentMcp.Core.Dsl.FilterOperator.InLastDays, [new SegmentMcp.Core.Dsl.NumberScalar(7)])));
        var phase1 = CandidateQuery.Incremental(
            schema, "acme", signedUpLastWeek, new Dictionary<string, SegmentMcp.Core.Dsl.SegmentDefinition>(),
            new DateTime(2026, 1, 10, 0, 0, 0, DateTimeKind.Utc), new DateTime(2026, 1, 10, 1, 0, 0, DateTimeKind.Utc), new DateTime(2026, 1, 10, 0, 0, 0, DateTimeKind.Utc));
        var branch = phase1.Text[phase1.Text.IndexOf("AND property = ", StringComparison.Ordinal)..];
        Assert.Contains("value >= ", branch[..branch.IndexOf(ValueOrder, StringComparison.Ordinal)], StringComparison.Ordinal);
    }

    private static async Task<string> ExplainAsync(IClickHouseEngine engine, string query)
    {
        var result = await engine.QueryAsync(new SqlStatement("EXPLAIN indexes = 1, projections = 1 " + query));
        return string.Join("\n", result.Rows.Select(r => r[0]));
    }
}
