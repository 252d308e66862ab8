using System.Text;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Tests.Storage;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// A window edge passing an event, or a new event inside a window, can move a monotone condition one way only: phase 1
/// keeps such a profile as a candidate only on the side of stored membership it can leave, and the result stays exact.
/// </summary>
public abstract class OneSidedEdgeTests
{
    private const string Tenant = "shop";
    private static readonly DateTime T0 = new(2026, 5, 10, 12, 0, 0, DateTimeKind.Utc);

    protected abstract IClickHouseEngine Engine { get; }

    [Fact]
    public async Task Profiles_whose_edge_change_cannot_move_them_are_not_candidates()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);

        // Each has one order leaving the 7-day window between t0 and t1 = t0 + 1h (placed at t0 - 7d + 30 min).
        // a: 3 orders in the window at t0, 2 at t1 → leaves "repeat". b: 1 → never in "repeat". c: 4 → stays.
        // d: no order at all.
        var leaving = T0.AddDays(-7).AddMinutes(30);
        var events = new StringBuilder();
        void Add(string metric, string profile, DateTime ts) => events.AppendLine(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["tenant"] = Tenant,
            ["metric"] = metric,
            ["profile_id"] = profile,
            ["ts"] = ts.ToString("yyyy-MM-dd HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture),
            ["properties"] = new Dictionary<string, string>(),
        }));
        void Order(string profile, DateTime ts) => Add("Placed Order", profile, ts);
        foreach (var profile in new[] { "a", "b", "c" })
        {
            Order(profile, leaving);
        }

        Order("a", T0.AddDays(-2));
        Order("a", T0.AddDays(-1));
        Order("c", T0.AddDays(-3));
        Order("c", T0.AddDays(-2));
        Order("c", T0.AddDays(-1));
        Add("Opened Email", "d", T0.AddDays(-20));
        await Engine.InsertJsonEachRowAsync(schema.Events, Encoding.UTF8.GetBytes(events.ToString()), null);

        var store = new SegmentStore(Engine, schema);
        var orders = new EventCondition("Placed Order", [], new LastDaysWindow(7), Measure.Count, Comparison.Gte, 3);
        var repeat = await store.SaveAsync(Tenant, null, "repeat", null, EventRows.Definition(orders), CancellationToken.None);
        var none = await store.SaveAsync(
            Tenant, null, "no orders", null, EventRows.Definition(new NotCondition(orders with { Value = 1 })), CancellationToken.None);

        var evaluator = new SegmentEvaluator(Engine, schema, new EvaluatorOptions { IngestLag = TimeSpan.Zero });
        await evaluator.TickAsync(Tenant, T0, null, CancellationToken.None);
        Assert.Equal(["a", "c"], await MembersAsync(schema, repeat.Id));
        Assert.Equal(["d"], await MembersAsync(schema, none.Id));

        var report = await evaluator.TickAsync(Tenant, T0.AddHours(1), null, CancellationToken.None);

        // "repeat" can only lose members at this edge: b, never a member, is not a candidate.
        Assert.Equal(2, report.Segments.Single(s => s.SegmentId == repeat.Id).Candidates);
        Assert.Equal(["c"], await MembersAsync(schema, repeat.Id));

        // "no orders" can only gain members here: every profile with a leaving order is a candidate (none was a
        // member), and b, whose only order left, enters.
        Assert.Equal(3, report.Segments.Single(s => s.SegmentId == none.Id).Candidates);
        Assert.Equal(["b", "d"], await MembersAsync(schema, none.Id));
    }

    [Fact]
    public async Task New_rows_move_a_monotone_condition_one_way_only()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        await Engine.InsertJsonEachRowAsync(schema.Events, EventRows.Of(
            Tenant,
            ("Opened Email", "m", T0.AddDays(-5)),
            ("Received Email", "m", T0.AddDays(-5)),
            ("Received Email", "n", T0.AddDays(-5)),
            ("Received Email", "k", T0.AddDays(-6)),
            ("Opened Email", "q", T0.AddDays(-40))), null);

        var store = new SegmentStore(Engine, schema);
        var opened = new EventCondition("Opened Email", [], new LastDaysWindow(30), Measure.Count, Comparison.Gte, 1);
        var received = opened with { Metric = "Received Email" };
        var openers = await store.SaveAsync(Tenant, null, "openers", null, EventRows.Definition(opened), CancellationToken.None);
        var unopened = await store.SaveAsync(
            Tenant, null, "received, never opened", null, EventRows.Definition(new AllCondition([received, new NotCondition(opened)])), CancellationToken.None);

        var evaluator = new SegmentEvaluator(Engine, schema, new EvaluatorOptions { IngestLag = TimeSpan.Zero });
        await evaluator.TickAsync(Tenant, T0, null, CancellationToken.None);
        Assert.Equal(["m"], await MembersAsync(schema, openers.Id));
        Assert.Equal(["k", "n"], await MembersAsync(schema, unopened.Id));

        // Ingested after the tick: opens by m (a member of "openers") and n (not one), one more received email for k
        // (a member of "received, never opened"), and q's late open, dated outside every window at t1.
        await Task.Delay(10);
        await Engine.InsertJsonEachRowAsync(schema.Events, EventRows.Of(
            Tenant,
            ("Opened Email", "m", T0.AddMinutes(30)),
            ("Opened Email", "n", T0.AddMinutes(30)),
            ("Received Email", "k", T0.AddMinutes(30)),
            ("Opened Email", "q", T0.AddDays(-35))), null);

        var report = await evaluator.TickAsync(Tenant, T0.AddHours(1), null, CancellationToken.None);

        // A new open can only make a profile enter "openers": m, a member, is not a candidate, q's open counts nowhere.
        Assert.Equal(1, report.Segments.Single(s => s.SegmentId == openers.Id).Candidates);
        Assert.Equal(["m", "n"], await MembersAsync(schema, openers.Id));

        // In "received, never opened" a new open can only make a member leave (n, not m) and a new received email only
        // make a non-member enter (not k, a member).
        Assert.Equal(1, report.Segments.Single(s => s.SegmentId == unopened.Id).Candidates);
        Assert.Equal(["k"], await MembersAsync(schema, unopened.Id));
    }

    private async Task<List<string>> MembersAsync(StorageSchema schema, string segmentId) =>
        [.. await new MembershipStore(Engine, schema).MembersAsync(Tenant, segmentId, null, 100, CancellationToken.None)];
}

[Trait("Category", "Engine")]
public sealed class EmbeddedOneSidedEdgeTests : OneSidedEdgeTests
{
    protected override IClickHouseEngine Engine => TestEngines.Embedded;
}

[Trait("Category", "Engine")]
public sealed class ServerOneSidedEdgeTests(ServerFixture fixture) : OneSidedEdgeTests, IClassFixture<ServerFixture>
{
    protected override IClickHouseEngine Engine => fixture.Engine;
}
