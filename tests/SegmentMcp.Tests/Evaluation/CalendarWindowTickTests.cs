using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Tests.Storage;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// Calendar windows jump at a period's turn: "this month" loses every order of the month that ended and "last month"
/// gains them, with no new event. A tick across the turn must find those profiles, and keep what a full recompute gives.
/// </summary>
public abstract class CalendarWindowTickTests
{
    private const string Tenant = "shop";

    // Monday 30 November 2026, late evening: the next tick is in December, in the same week.
    private static readonly DateTime T0 = new(2026, 11, 30, 22, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime T1 = new(2026, 12, 1, 1, 0, 0, DateTimeKind.Utc);

    protected abstract IClickHouseEngine Engine { get; }

    [Fact]
    public async Task A_tick_across_a_month_turn_moves_profiles_between_this_and_last_month()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);

        // a ordered in November (after the week began), b in October, c on 30 November at 23:30 (after t0, before
        // the turn: a late-arriving row by t1), d has no orders.
        await Engine.InsertJsonEachRowAsync(schema.Events, EventRows.Of(
            Tenant,
            ("Placed Order", "a", new DateTime(2026, 11, 30, 9, 0, 0, DateTimeKind.Utc)),
            ("Placed Order", "b", new DateTime(2026, 10, 15, 12, 0, 0, DateTimeKind.Utc)),
            ("Opened Email", "d", new DateTime(2026, 11, 2, 8, 0, 0, DateTimeKind.Utc))), null);

        var store = new SegmentStore(Engine, schema);
        var thisMonth = await store.SaveAsync(Tenant, null, "this month", null, EventRows.Definition(Ordered(new ThisPeriodWindow(CalendarUnit.Month))), CancellationToken.None);
        var lastMonth = await store.SaveAsync(Tenant, null, "last month", null, EventRows.Definition(Ordered(new PreviousPeriodsWindow(CalendarUnit.Month))), CancellationToken.None);
        var thisWeek = await store.SaveAsync(Tenant, null, "this week", null, EventRows.Definition(Ordered(new ThisPeriodWindow(CalendarUnit.Week))), CancellationToken.None);
        var notLastTwoMonths = await store.SaveAsync(
            Tenant, null, "none in the previous 2 months", null, EventRows.Definition(new NotCondition(Ordered(new PreviousPeriodsWindow(CalendarUnit.Month, 2)))), CancellationToken.None);

        var evaluator = new SegmentEvaluator(Engine, schema, new EvaluatorOptions { IngestLag = TimeSpan.Zero });
        await evaluator.TickAsync(Tenant, T0, null, CancellationToken.None);
        Assert.Equal(["a"], await MembersAsync(schema, thisMonth.Id));
        Assert.Equal(["b"], await MembersAsync(schema, lastMonth.Id));
        Assert.Equal(["a"], await MembersAsync(schema, thisWeek.Id));
        Assert.Equal(["a", "d"], await MembersAsync(schema, notLastTwoMonths.Id));

        await Engine.InsertJsonEachRowAsync(schema.Events, EventRows.Of(Tenant, ("Placed Order", "c", new DateTime(2026, 11, 30, 23, 30, 0, DateTimeKind.Utc))), null);
        await evaluator.TickAsync(Tenant, T1, null, CancellationToken.None);

        Assert.Equal([], await MembersAsync(schema, thisMonth.Id));
        Assert.Equal(["a", "c"], await MembersAsync(schema, lastMonth.Id));
        Assert.Equal(["a", "c"], await MembersAsync(schema, thisWeek.Id));
        Assert.Equal(["d"], await MembersAsync(schema, notLastTwoMonths.Id));

        // Every stored membership is what the compiled query gives at t1.
        foreach (var segment in new[] { thisMonth, lastMonth, thisWeek, notLastTwoMonths })
        {
            var saved = (await store.GetAsync(Tenant, segment.Id, CancellationToken.None))!;
            var definition = SegmentDefinitionJson.Parse(saved.DefinitionJson).Definition!;
            var compiled = SegmentCompiler.Compile(ValidatedDefinition.Unchecked(Tenant, definition), schema, new CompileOptions(T1));
            var full = (await Engine.QueryAsync(compiled)).Read(row => row.GetString(0)).Order(StringComparer.Ordinal);
            Assert.Equal(full, await MembersAsync(schema, segment.Id));
        }
    }

    private static EventCondition Ordered(Window window) =>
        new("Placed Order", [], window, Measure.Count, Comparison.Gte, 1);

    private async Task<List<string>> MembersAsync(StorageSchema schema, string segmentId) =>
        [.. await new MembershipStore(Engine, schema).MembersAsync(Tenant, segmentId, null, 100, CancellationToken.None)];
}

[Trait("Category", "Engine")]
public sealed class EmbeddedCalendarWindowTickTests : CalendarWindowTickTests
{
    protected override IClickHouseEngine Engine => TestEngines.Embedded;
}

[Trait("Category", "Engine")]
public sealed class ServerCalendarWindowTickTests(ServerFixture fixture) : CalendarWindowTickTests, IClassFixture<ServerFixture>
{
    protected override IClickHouseEngine Engine => fixture.Engine;
}
