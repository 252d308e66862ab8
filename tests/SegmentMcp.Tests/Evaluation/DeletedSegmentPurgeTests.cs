using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Tests.Mcp;

namespace SegmentMcp.Tests.Evaluation;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>
/// A deleted segment's stored rows (its log, the membership buckets, evaluation state and first evaluation)
/// are removed by the next tick, and nothing of the segments that stay, or of other tenants, goes with them.
/// </summary>
[Trait("Category", "Engine")]
public sealed class DeletedSegmentPurgeTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task The_tick_after_a_delete_removes_that_segments_rows_and_only_those()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        await McpTestData.SeedAsync(engine, schema, "acme", string.Empty);
        await McpTestData.SeedAsync(engine, schema, "globex", "g-");
        var store = new SegmentStore(engine, schema);
        var gone = await store.SaveAsync("acme", null, "Buyers", null, McpTestData.Buyers, None);
        var kept = await store.SaveAsync("acme", null, "Boston openers", null, McpTestData.BostonOpeners, None);
        var other = await store.SaveAsync("globex", null, "Buyers", null, McpTestData.Buyers, None);
        var evaluator = new SegmentEvaluator(engine, schema, new EvaluatorOptions { EvaluateEverySeconds = 0 });

        // First evaluated before any data (no members; a first evaluation is not logged), then at t1, whose entries are
        // logged. Every later tick at t1: the live segments are evaluated once, so their rows must stay exactly as they are.
        Assert.Empty((await evaluator.TickAsync(null, McpTestData.Now.AddDays(-70), null, None)).Purged);
        var t1 = DateTime.UtcNow.AddMinutes(-1);
        var first = await evaluator.TickAsync(null, t1, null, None);
        Assert.Empty(first.Purged);

        var before = new Dictionary<string, Rows>(StringComparer.Ordinal)
        {
            ["acme/" + gone.Id] = await RowsAsync(engine, schema, "acme", gone.Id),
            ["acme/" + kept.Id] = await RowsAsync(engine, schema, "acme", kept.Id),
            ["globex/" + other.Id] = await RowsAsync(engine, schema, "globex", other.Id),
        };
        // On one engine current membership is held in the buckets only; the membership table stays empty.
        Assert.All(before.Values, rows => Assert.True(rows.Membership == 0 && rows.Log > 0 && rows.Lookup > 0 && rows.States > 0 && rows.FirstEvaluations > 0, rows.ToString()));

        Assert.True(await store.DeleteAsync("acme", gone.Id, None));
        var purging = await evaluator.TickAsync(null, t1, null, None);
        Assert.Equal(["acme/" + gone.Id], purging.Purged);
        Assert.Equal(new Rows(0, 0, 0, 0, 0), await RowsAsync(engine, schema, "acme", gone.Id));
        Assert.Equal(before["acme/" + kept.Id], await RowsAsync(engine, schema, "acme", kept.Id));
        Assert.Equal(before["globex/" + other.Id], await RowsAsync(engine, schema, "globex", other.Id));

        // Once purged, later ticks have nothing to remove.
        Assert.Empty((await evaluator.TickAsync(null, t1, null, None)).Purged);

        // A tenant whose last segment was deleted is still visited until its rows are gone, then no longer.
        Assert.True(await store.DeleteAsync("globex", other.Id, None));
        Assert.Contains("globex", await store.TenantsAsync(None));
        Assert.Equal(["globex/" + other.Id], (await evaluator.TickAsync(null, t1, null, None)).Purged);
        Assert.Equal(new Rows(0, 0, 0, 0, 0), await RowsAsync(engine, schema, "globex", other.Id));
        Assert.Equal(["acme"], await store.TenantsAsync(None));
    }

    [Fact]
    public async Task A_purge_that_fails_leaves_the_tick_whole_and_is_not_repeated_on_every_tick()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        await McpTestData.SeedAsync(engine, schema, "acme", string.Empty);
        var store = new SegmentStore(engine, schema);
        var gone = await store.SaveAsync("acme", null, "Buyers", null, McpTestData.Buyers, None);
        var kept = await store.SaveAsync("acme", null, "Boston openers", null, McpTestData.BostonOpeners, None);
        var evaluator = new SegmentEvaluator(engine, schema, new EvaluatorOptions { EvaluateEverySeconds = 0 });
        var t1 = DateTime.UtcNow.AddMinutes(-1);
        await evaluator.TickAsync("acme", t1, null, None);
        Assert.True(await store.DeleteAsync("acme", gone.Id, None));

        // The first evaluations' table is gone: the purge's last steps fail.
        var firstEvaluations = await engine.QueryScalarAsync<string>(Sql.Of($"SHOW CREATE TABLE {Sql.Table(schema.SegmentFirstEvaluation)}"));
        await engine.ExecuteAsync(Sql.Of($"DROP TABLE {Sql.Table(schema.SegmentFirstEvaluation)}"));
        var failed = await evaluator.TickAsync("acme", t1, null, None);
        Assert.Empty(failed.Purged);
        Assert.Equal([kept.Id], failed.Segments.Select(s => s.SegmentId));
        Assert.Contains(gone.Id, (await store.StatesAsync("acme", null, None)).Keys);

        // Repaired, but this evaluator waits before trying again; a new one (a restart) finishes the purge.
        await engine.ExecuteAsync(new Core.Sql.SqlStatement(firstEvaluations, []));
        Assert.Empty((await evaluator.TickAsync("acme", t1, null, None)).Purged);
        Assert.Contains(gone.Id, (await store.StatesAsync("acme", null, None)).Keys);
        var restarted = new SegmentEvaluator(engine, schema, new EvaluatorOptions { EvaluateEverySeconds = 0 });
        Assert.Equal(["acme/" + gone.Id], (await restarted.TickAsync("acme", t1, null, None)).Purged);
        Assert.Equal([kept.Id], (await store.StatesAsync("acme", null, None)).Keys);
    }

    [Fact]
    public async Task Only_tombstoned_segments_count_as_deleted()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var store = new SegmentStore(engine, schema);
        var live = await store.SaveAsync("acme", null, "Live", null, McpTestData.Buyers, None);
        var deleted = await store.SaveAsync("acme", null, "Deleted", null, McpTestData.Buyers, None);
        Assert.True(await store.DeleteAsync("acme", deleted.Id, None));

        Assert.Equal([deleted.Id], await store.DeletedAmongAsync("acme", [live.Id, deleted.Id, "never-saved"], None));
        Assert.Empty(await store.DeletedAmongAsync("globex", [deleted.Id], None));
        Assert.Empty(await store.DeletedAmongAsync("acme", [], None));
    }

    [Fact]
    public async Task Lookup_keys_are_matched_by_tenant_and_segment_whatever_the_ids_hold()
    {
        string[] tenants = ["t:1", "t", "3:t"];
        string[] segments = ["a", "a:1", "1:a", "ab", "é:x", "12", "a1"];
        string[] profiles = ["1", "a:1", "", "é"];
        string[] targets = ["a", "é:x", "12"];
        var keys = Sql.Of($"arrayJoin({Sql.Param("Array(String)", tenants)}) AS t, arrayJoin({Sql.Param("Array(String)", segments)}) AS s, arrayJoin({Sql.Param("Array(String)", profiles)}) AS p");
        var matched = await TestEngines.Embedded.QueryAsync(
            Sql.Of(
                $"""
                SELECT t, s, p FROM (SELECT {keys})
                WHERE {Core.Sql.TimelineKeys.MembershipOfSegments(Core.Sql.TimelineKeys.Membership(Sql.Param("String", "t:1"), Sql.Of($"s"), Sql.Of($"p")), Sql.Param("String", "t:1"), Sql.Param("Array(String)", targets))}
                  AND t = 't:1'
                UNION ALL
                SELECT t, s, p FROM (SELECT {keys})
                WHERE t != 't:1' AND {Core.Sql.TimelineKeys.MembershipOfSegments(Core.Sql.TimelineKeys.Membership(Sql.Of($"t"), Sql.Of($"s"), Sql.Of($"p")), Sql.Param("String", "t:1"), Sql.Param("Array(String)", targets))}
                """),
            row => (row.GetString(0), row.GetString(1), row.GetString(2)));

        var expected = targets.SelectMany(segment => profiles.Select(profile => ("t:1", segment, profile)));
        Assert.Equal(expected.Order(), matched.Order());
    }

    /// <summary>A segment's stored rows, table by table.</summary>
    private sealed record Rows(long Membership, long Log, long Lookup, long States, long FirstEvaluations);

    private static async Task<Rows> RowsAsync(IClickHouseEngine engine, StorageSchema schema, string tenant, string segmentId)
    {
        var tenantValue = Sql.Param("String", tenant);
        var segmentValue = Sql.Param("String", segmentId);
        async Task<long> CountAsync(string table) =>
            await engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(table)} WHERE tenant = {tenantValue} AND segment_id = {segmentValue}"));
        // The membership buckets' keys start with the tenant and the segment id, each after its length (ASCII ids here).
        var prefix = $"{tenant.Length}:{tenant}{segmentId.Length}:{segmentId}";
        var lookup = await engine.QueryScalarAsync<long>(
            Sql.Of($"SELECT count() FROM {Sql.Table(schema.MembershipBuckets)} WHERE startsWith(key, {Sql.Param("String", prefix)})"));
        return new Rows(
            await CountAsync(schema.Membership),
            await CountAsync(schema.MembershipLog),
            lookup,
            await CountAsync(schema.SegmentState),
            await CountAsync(schema.SegmentFirstEvaluation));
    }
}
