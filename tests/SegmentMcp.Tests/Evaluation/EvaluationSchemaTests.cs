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
        await world.IngestAsync(new DateTime(2026, 1, 10, 0, 0, 0, DateTimeKind.Utc), 200, 50);

        var events = await ExplainAsync(
            engine,
            $"SELECT profile_id FROM {schema.Events} WHERE tenant = 'acme' AND metric = 'Opened Email' AND ts BETWEEN toDateTime64('2026-01-09 00:00:00', 3, 'UTC') AND toDateTime64('2026-01-09 01:00:00', 3, 'UTC')");
        Assert.Contains("by_time_fine", events, StringComparison.Ordinal);

        var traits = await ExplainAsync(
            engine,
            $"SELECT profile_id FROM {schema.Traits} WHERE tenant = 'acme' AND property IN ['city'] AND updated_at > toDateTime64('2026-01-09 00:00:00', 3, 'UTC') AND updated_at <= toDateTime64('2026-01-09 01:00:00', 3, 'UTC')");
        Assert.Contains("by_update_fine", traits, StringComparison.Ordinal);
    }

    private static async Task<string> ExplainAsync(IClickHouseEngine engine, string query)
    {
        var result = await engine.QueryAsync(new SqlStatement("EXPLAIN indexes = 1, projections = 1 " + query));
        return string.Join("\n", result.Rows.Select(r => r[0]));
    }
}
