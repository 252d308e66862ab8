using System.Globalization;
using System.Text;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Storage;

/// <summary>
/// Values a definition compares with that no data holds: a profile property's value no profile ever had, an event
/// property's value no event of the metric carries, each with the closest values the data does hold (case and
/// spelling slips first), counted as of now for profiles.
/// </summary>
public abstract partial class EngineContractTests
{
    [Fact]
    public async Task Absent_values_are_those_no_data_ever_held_with_the_closest_values_it_holds()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        await UpdateAsync(
            schema,
            ("p1", -9, "city", "sBoston"), ("p2", -9, "city", "sBoston"), ("p3", -9, "city", "sAustin"), ("p4", -9, "city", "sBerlin"),
            ("p1", -9, "plan", "spremium"), ("p2", -9, "plan", "sfree"), ("p1", -9, "age", "n41"),
            ("p2", -2, "city", "sBerlin"));
        await Engine.InsertJsonEachRowAsync(
            schema.ProfileUpdates,
            Encoding.UTF8.GetBytes("{\"tenant\":\"other\",\"profile_id\":\"x\",\"updated_at\":\"2026-11-10 10:00:00.000\",\"properties\":{\"city\":\"sBostn\"}}\n"),
            null);
        var events = new StringBuilder();
        foreach (var (profile, category) in new[] { ("p1", "sshoes"), ("p2", "sshoes"), ("p3", "stoys"), ("p3", "n7") })
        {
            events.Append(CultureInfo.InvariantCulture, $"{{\"tenant\":\"acme\",\"metric\":\"Placed Order\",\"profile_id\":\"{profile}\",\"ts\":\"2026-11-10 10:00:00.000\",\"value\":null,\"properties\":{{\"category\":\"{category}\"}}}}\n");
        }

        await Engine.InsertJsonEachRowAsync(schema.Events, Encoding.UTF8.GetBytes(events.ToString()), null);
        await Engine.InsertJsonEachRowAsync(
            schema.Events,
            Encoding.UTF8.GetBytes("{\"tenant\":\"other\",\"metric\":\"Placed Order\",\"profile_id\":\"x\",\"ts\":\"2026-11-10 10:00:00.000\",\"value\":null,\"properties\":{\"category\":\"sShoes\"}}\n"),
            null);

        var absent = await new SchemaDescriber(Engine, schema).AbsentValuesAsync(
            "acme",
            [
                // Boston: p2 moved away, p1 still there; ever held either way. 41 is held as a number. Bostn and Shoes
                // are held by another tenant only.
                new ValueProbe("c.all[0]", null, "city", ["Boston", "Bostn", "boston"]),
                new ValueProbe("c.all[1]", null, "age", ["41"]),
                new ValueProbe("c.all[2]", "Placed Order", "category", ["shoes", "Shoes", "7"]),
                new ValueProbe("c.all[3]", null, "nickname", ["Bo"]),

                // The orders were 10 days before now: none in the last 5 days carries any category, so the time is
                // empty, not the value (no hint); in the last 15 days "Shoes" is a slip again.
                new ValueProbe("c.all[4]", "Placed Order", "category", ["shoes", "Shoes"], new LastDaysWindow(5)),
                new ValueProbe("c.all[5]", "Placed Order", "category", ["Shoes"], new LastDaysWindow(15)),
            ],
            CheckNow,
            CancellationToken.None);

        Assert.Equal(
            [
                "c.all[0] city Bostn: Boston 1, Austin 1, Berlin 2",
                "c.all[0] city boston: Boston 1, Austin 1, Berlin 2",
                "c.all[2] Placed Order.category Shoes: shoes 2, toys 1, 7 1",
                "c.all[3] nickname Bo: ",
                "c.all[5] Placed Order.category Shoes: shoes 2, toys 1, 7 1",
            ],
            absent.Select(a => $"{a.Path} {(a.Metric is null ? string.Empty : a.Metric + ".")}{a.Property} {a.Value}: {string.Join(", ", a.Closest.Select(c => $"{c.Value} {c.Count}"))}"));
        Assert.Equal([null, null, null, null, CheckNow.AddDays(-15)], absent.Select(a => a.From));
    }

    [Fact]
    public async Task Under_ignore_case_a_value_held_in_any_case_is_present_and_only_a_slip_in_every_case_is_absent()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        await UpdateAsync(schema, ("p1", -9, "city", "sBOSTON"), ("p2", -9, "city", "sÉcole"), ("p3", -9, "city", "sAustin"));
        await Engine.InsertJsonEachRowAsync(
            schema.Events,
            Encoding.UTF8.GetBytes("{\"tenant\":\"acme\",\"metric\":\"Placed Order\",\"profile_id\":\"p1\",\"ts\":\"2026-11-10 10:00:00.000\",\"value\":null,\"properties\":{\"category\":\"sShoes\"}}\n"),
            null);

        var absent = await new SchemaDescriber(Engine, schema).AbsentValuesAsync(
            "acme",
            [
                new ValueProbe("c.all[0]", null, "city", ["boston", "ÉCOLE", "Bostn"], IgnoreCase: true),
                new ValueProbe("c.all[1]", null, "city", ["boston"]),
                new ValueProbe("c.all[2]", "Placed Order", "category", ["SHOES", "hats"], IgnoreCase: true),
            ],
            CheckNow,
            CancellationToken.None);

        Assert.Equal(
            ["c.all[0] Bostn True: BOSTON", "c.all[1] boston False: BOSTON", "c.all[2] hats True: Shoes"],
            absent.Select(a => $"{a.Path} {a.Value} {a.IgnoreCase}: {a.Closest[0].Value}"));
    }

    [Fact]
    public async Task Case_variants_are_the_values_held_that_differ_from_a_compared_one_only_in_case()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        await UpdateAsync(
            schema,
            ("p1", -9, "city", "sBoston"), ("p2", -9, "city", "sBOSTON"), ("p3", -9, "city", "sBOSTON"), ("p4", -9, "city", "sboston"),
            ("p5", -9, "city", "sÉcole"), ("p6", -9, "city", "sAustin"),

            // p7 was in BoSTon and moved: profiles are counted as of now.
            ("p7", -9, "city", "sBoSTon"), ("p7", -2, "city", "sAustin"));
        var events = new StringBuilder();
        foreach (var (days, category) in new[] { (10, "sshoes"), (10, "sShoes"), (40, "sSHOES") })
        {
            events.Append(CultureInfo.InvariantCulture, $"{{\"tenant\":\"acme\",\"metric\":\"Placed Order\",\"profile_id\":\"p1\",\"ts\":\"{CheckNow.AddDays(-days):yyyy-MM-dd HH:mm:ss.fff}\",\"value\":null,\"properties\":{{\"category\":\"{category}\"}}}}\n");
        }

        await Engine.InsertJsonEachRowAsync(schema.Events, Encoding.UTF8.GetBytes(events.ToString()), null);

        var variants = await new SchemaDescriber(Engine, schema).CaseVariantsAsync(
            "acme",
            [
                new ValueProbe("c.all[0]", null, "city", ["Boston", "Austin", "école"]),
                new ValueProbe("c.all[1]", null, "city", ["boston"]),
                new ValueProbe("c.all[2]", "Placed Order", "category", ["shoes"], new LastDaysWindow(30)),
                new ValueProbe("c.all[3]", null, "city", ["Boston"], IgnoreCase: true),
            ],
            CheckNow,
            CancellationToken.None);

        Assert.Equal(
            [
                "c.all[0] Boston: BOSTON 2, boston 1",
                "c.all[0] école: École 1",
                "c.all[1] boston: BOSTON 2, Boston 1",
                "c.all[2] shoes: Shoes 1",
            ],
            variants.Select(v => $"{v.Path} {v.Value}: {string.Join(", ", v.Others.Select(o => $"{o.Value} {o.Count}"))}"));
        Assert.Equal([null, null, null, CheckNow.AddDays(-30)], variants.Select(v => v.From));
    }

    [Fact]
    public async Task Absent_values_look_up_closest_values_for_the_first_few_only_and_report_at_most_twenty()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        await UpdateAsync(schema, ("p1", -9, "city", "sBoston"));
        var slips = Enumerable.Range(0, SchemaDescriber.MaxAbsentValuesReported + 5).Select(i => $"slip{i}").ToArray();

        var absent = await new SchemaDescriber(Engine, schema).AbsentValuesAsync(
            "acme", [new ValueProbe("c", null, "city", slips)], CheckNow, CancellationToken.None);

        Assert.Equal(slips.Take(SchemaDescriber.MaxAbsentValuesReported), absent.Select(a => a.Value));
        Assert.Equal(SchemaDescriber.MaxAbsentValues, absent.Count(a => a.Closest.Count > 0));
        Assert.All(absent.Take(SchemaDescriber.MaxAbsentValues), a => Assert.Equal("Boston", Assert.Single(a.Closest).Value));
    }

    [Fact]
    public async Task Wrong_kinds_are_properties_holding_values_but_none_of_the_kind_the_comparison_reads()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        await UpdateAsync(
            schema,
            ("p1", -9, "plan", "spremium"), ("p2", -9, "plan", "sfree"), ("p3", -9, "plan", "sfree"),
            ("p1", -9, "age", "n41"), ("p2", -9, "age", "s39"), ("p1", -9, "joined", "s2026-01-05"), ("p2", -9, "joined", "n1767571200"),
            ("p1", -9, "tier", "s2026-13-45"));
        var events = new StringBuilder();
        foreach (var (profile, category, items) in new[] { ("p1", "sshoes", "s2"), ("p2", "sshoes", "sthree"), ("p3", "stoys", "sfour") })
        {
            events.Append(CultureInfo.InvariantCulture, $"{{\"tenant\":\"acme\",\"metric\":\"Placed Order\",\"profile_id\":\"{profile}\",\"ts\":\"2026-11-10 10:00:00.000\",\"value\":null,\"properties\":{{\"category\":\"{category}\",\"items\":\"{items}\"}}}}\n");
        }

        await Engine.InsertJsonEachRowAsync(schema.Events, Encoding.UTF8.GetBytes(events.ToString()), null);

        var wrong = await new SchemaDescriber(Engine, schema).WrongKindsAsync(
            "acme",
            [
                // plan holds text only; age holds a number and a numeric string; joined holds a date and epoch seconds;
                // tier's text has a date's shape (a 13th month reads as no date, but the shape is enough to stay quiet).
                new KindProbe("c.all[0]", null, "plan", ValueKind.Number, "gt", "3"),
                new KindProbe("c.all[1]", null, "age", ValueKind.Number, "gt", "30"),
                new KindProbe("c.all[2]", null, "joined", ValueKind.Date, "after", "2026-01-01"),
                new KindProbe("c.all[3]", null, "age", ValueKind.Date, "before", "2020-01-01"),
                new KindProbe("c.all[4]", null, "tier", ValueKind.Date, "after", "2026-01-01"),

                // Never set: nothing to be of a wrong kind.
                new KindProbe("c.all[5]", null, "nickname", ValueKind.Number, "gt", "1"),

                // Events: category is text, items has one numeric string among words; none in the last 5 days at all.
                new KindProbe("c.all[6]", "Placed Order", "category", ValueKind.Number, "between", "1, 5", new LastDaysWindow(30)),
                new KindProbe("c.all[7]", "Placed Order", "items", ValueKind.Number, "sum", "items", new LastDaysWindow(30)),
                new KindProbe("c.all[8]", "Placed Order", "category", ValueKind.Number, "gt", "1", new LastDaysWindow(5)),
            ],
            CheckNow,
            CancellationToken.None);

        Assert.Equal(
            [
                "c.all[0] plan Number gt: free 2, premium 1",
                "c.all[3] age Date before: 39 1, 41 1",
                "c.all[6] Placed Order.category Number between: shoes 2, toys 1",
            ],
            wrong.Select(w => $"{w.Path} {(w.Metric is null ? string.Empty : w.Metric + ".")}{w.Property} {w.Kind} {w.Operator}: {string.Join(", ", w.Common.Select(c => $"{c.Value} {c.Count}"))}"));
        Assert.Equal([null, null, CheckNow.AddDays(-30)], wrong.Select(w => w.From));
    }
}
