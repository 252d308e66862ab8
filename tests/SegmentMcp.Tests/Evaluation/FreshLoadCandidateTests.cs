using System.Text;
using System.Text.Json;
using SegmentMcp.Core.Demo;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Tests.Storage;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// Phase 1 right after a load: the candidates of a tick are the profiles that changed (plus window edges crossing
/// events), however recently the data was loaded. Rows loaded before an evaluation are not "new" after it.
/// </summary>
public abstract class FreshLoadCandidateTests
{
    private const string Tenant = "shop";
    private const int Touched = 6;

    private static readonly string[] Definitions =
    [
        """{"name": "openers", "condition": {"event": {"metric": "Opened Email", "window": {"last_days": 30}, "op": "gte", "value": 1}}}""",
        """{"name": "premium in Boston", "condition": {"all": [{"property": {"name": "city", "op": "eq", "value": "Boston"}}, {"property": {"name": "plan", "op": "eq", "value": "premium"}}]}}""",
        """{"name": "no order 30d", "condition": {"not": {"event": {"metric": "Placed Order", "window": {"last_days": 30}, "op": "gte", "value": 1}}}}""",
        """{"name": "viewers 7d", "condition": {"event": {"metric": "Viewed Product", "window": {"last_days": 7}, "op": "gte", "value": 2}}}""",
    ];

    protected abstract IClickHouseEngine Engine { get; }

    [Fact]
    public async Task A_tick_right_after_a_load_finds_only_the_profiles_that_changed()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var loaded = await DemoLoader.LoadAsync(Engine, schema, new DemoOptions { Profiles = 3_000, Company = Tenant });
        var store = new SegmentStore(Engine, schema);
        foreach (var definition in Definitions)
        {
            await store.SaveAsync(Tenant, null, JsonDocument.Parse(definition).RootElement.GetProperty("name").GetString()!, null, definition, CancellationToken.None);
        }

        // First tick at once, as a new user would: each new segment evaluated whole.
        var evaluator = new SegmentEvaluator(Engine, schema, new EvaluatorOptions { Workers = 2 });
        var first = await evaluator.TickAsync(Tenant, null, null, CancellationToken.None);
        Assert.All(first.Segments, s => Assert.Equal(s.Size, s.Entered));
        var t0 = first.EvaluatedAt;

        // A few profiles do something; some seconds pass.
        var touched = await Engine.QueryAsync(new SqlStatement(
            $"SELECT profile_id FROM {schema.Profiles} WHERE tenant = {{tenant:String}} GROUP BY profile_id ORDER BY cityHash64(profile_id) LIMIT {Touched}",
            [new SqlParameter("tenant", "String", Tenant)]));
        var events = new StringBuilder();
        foreach (var row in touched.Rows)
        {
            foreach (var metric in new[] { "Opened Email", "Placed Order", "Viewed Product", "Viewed Product" })
            {
                events.AppendLine(JsonSerializer.Serialize(new Dictionary<string, object?>
                {
                    ["tenant"] = Tenant,
                    ["metric"] = metric,
                    ["profile_id"] = (string)row[0]!,
                    ["ts"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss.fff"),
                    ["properties"] = new Dictionary<string, string>(),
                }));
            }
        }

        await Engine.InsertJsonEachRowAsync(schema.Events, Encoding.UTF8.GetBytes(events.ToString()), null);
        var second = await evaluator.TickAsync(Tenant, null, null, CancellationToken.None);

        // Documented causes only: the touched profiles (cause 1) and events a window's lower edge passed between the
        // ticks (cause 2), counted here from the data itself.
        var t1 = second.EvaluatedAt;
        var edges = await Engine.QueryAsync(new SqlStatement(
            $"SELECT uniqExact(profile_id) FROM {schema.Events} WHERE tenant = {{tenant:String}} AND ((ts >= {{a30:DateTime64(3, 'UTC')}} AND ts <= {{b30:DateTime64(3, 'UTC')}}) OR (ts >= {{a7:DateTime64(3, 'UTC')}} AND ts <= {{b7:DateTime64(3, 'UTC')}}))",
            [
                new SqlParameter("tenant", "String", Tenant),
                new SqlParameter("a30", "DateTime64(3, 'UTC')", t0.AddDays(-30)), new SqlParameter("b30", "DateTime64(3, 'UTC')", t1.AddDays(-30)),
                new SqlParameter("a7", "DateTime64(3, 'UTC')", t0.AddDays(-7)), new SqlParameter("b7", "DateTime64(3, 'UTC')", t1.AddDays(-7)),
            ]));
        var crossings = Convert.ToInt64(edges.Rows[0][0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.All(second.Segments, s => Assert.True(
            s.Candidates <= Touched + crossings,
            $"{s.SegmentId}: {s.Candidates} candidates for {Touched} touched profiles and {crossings} edge crossings (universe {loaded.Profiles})"));
        Assert.True(second.Statistics.Candidates >= Touched, "the touched profiles are candidates");
    }
}

[Trait("Category", "Engine")]
public sealed class EmbeddedFreshLoadCandidateTests : FreshLoadCandidateTests
{
    protected override IClickHouseEngine Engine => TestEngines.Embedded;
}

[Trait("Category", "Engine")]
public sealed class ServerFreshLoadCandidateTests(ServerFixture fixture) : FreshLoadCandidateTests, IClassFixture<ServerFixture>
{
    protected override IClickHouseEngine Engine => fixture.Engine;
}
