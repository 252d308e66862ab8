using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Tests.Dsl;

/// <summary>The values a definition compares with for equality, found with the JSON path of each (as validation names paths).</summary>
public sealed class ValueProbesTests
{
    private static IReadOnlyList<ValueProbe> Probes(string condition)
    {
        var parsed = SegmentDefinitionJson.Parse($$"""{"name": "x", "condition": {{condition}}}""");
        Assert.Empty(parsed.Errors);
        return ValueProbes.Collect(parsed.Definition!);
    }

    [Fact]
    public void Equality_filters_on_text_are_probed_wherever_they_are_nested()
    {
        var probes = Probes("""
            {"all": [
              {"property": {"name": "city", "op": "eq", "value": "Bostn"}},
              {"not": {"property": {"name": "plan", "op": "in", "value": ["Premium", "gold", "gold"]}}},
              {"any": [
                {"event": {"metric": "Placed Order", "window": {"last_days": 30}, "where": [
                  {"name": "category", "op": "neq", "value": "Shoes"}, {"name": "$value", "op": "gt", "value": 5}], "op": "gte", "value": 1}},
                {"first_time": {"metric": "Placed Order", "where": [{"name": "category", "op": "not_in", "value": ["toys"]}], "window": {"last_days": 7}}},
                {"sequence": {"steps": [{"metric": "Viewed Product"}, {"metric": "Added To Cart", "where": [{"name": "sku", "op": "eq", "value": "A1"}]}], "within_hours": 2}},
                {"stopped": {"metric": "Placed Order", "where": [{"name": "channel", "op": "eq", "value": "web"}], "before_days": [30, 90], "recent_days": 30}},
                {"regularly": {"metric": "Placed Order", "where": [{"name": "channel", "op": "in", "value": ["app"]}], "period": "month", "periods": 6, "min_periods": 4, "op": "gte", "value": 1}},
                {"last_event": {"metric": "Opened Email", "property": "subject", "op": "eq", "value": "Sale"}}]}]}
            """);

        Assert.Equal(
            [
                "condition.all[0].property.value null city Bostn",
                "condition.all[1].not.property.value null plan Premium,gold",
                "condition.all[2].any[0].event.where[0].value Placed Order category Shoes",
                "condition.all[2].any[1].first_time.where[0].value Placed Order category toys",
                "condition.all[2].any[2].sequence.steps[1].where[0].value Added To Cart sku A1",
                "condition.all[2].any[3].stopped.where[0].value Placed Order channel web",
                "condition.all[2].any[4].regularly.where[0].value Placed Order channel app",
                "condition.all[2].any[5].last_event.value Opened Email subject Sale",
            ],
            probes.Select(p => $"{p.Path} {p.Metric ?? "null"} {p.Property} {string.Join(",", p.Values)}"));

        // Event values are looked for in the time the condition reads: its window, a superset of several ranges, or all time.
        Assert.Equal(
            [null, null, new LastDaysWindow(30), null, null, new LastDaysWindow(90), new LastDaysWindow(31 * 7), null],
            probes.Select(p => p.Window));
    }

    [Theory]
    [InlineData("""{"property": {"name": "age", "op": "eq", "value": 41}}""")]
    [InlineData("""{"property": {"name": "accepts_marketing", "op": "eq", "value": true}}""")]
    [InlineData("""{"property": {"name": "city", "op": "contains", "value": "Bos"}}""")]
    [InlineData("""{"property": {"name": "city", "op": "is_set"}}""")]
    [InlineData("""{"property": {"name": "signup_date", "op": "in_last_days", "value": 30}}""")]
    [InlineData("""{"event": {"metric": "Placed Order", "where": [{"name": "$value", "op": "eq", "value": 5}], "op": "gte", "value": 1}}""")]
    [InlineData("""{"random_bucket": {"percent": 10, "seed": "a"}}""")]
    public void Numbers_booleans_patterns_and_ranges_are_not_probed(string condition) => Assert.Empty(Probes(condition));

    [Fact]
    public void Comparisons_reading_numbers_or_dates_are_probed_for_the_kind_they_read()
    {
        var parsed = SegmentDefinitionJson.Parse("""
            {"name": "x", "condition": {"all": [
              {"property": {"name": "plan", "op": "gt", "value": 3}},
              {"not": {"property": {"name": "age", "op": "before", "value": "2020-01-01"}}},
              {"property": {"name": "signup_date", "op": "in_last_days", "value": 30}},
              {"property": {"name": "city", "op": "eq", "value": "Boston"}},
              {"event": {"metric": "Placed Order", "window": {"last_days": 30}, "where": [
                {"name": "category", "op": "between", "value": [1, 5]}, {"name": "$value", "op": "gt", "value": 5}],
                "measure": {"sum": "items"}, "op": "gte", "value": 1}},
              {"event": {"metric": "Placed Order", "measure": {"avg": "$value"}, "op": "gte", "value": 1}},
              {"event": {"metric": "Placed Order", "measure": {"distinct": "sku"}, "op": "gte", "value": 2}},
              {"last_event": {"metric": "Opened Email", "property": "sent_at", "op": "after", "value": "2026-11-01"}}]}}
            """);
        Assert.Empty(parsed.Errors);

        // Equality, $value (a number column) and count/distinct measures read any kind: nothing to probe there.
        Assert.Equal(
            [
                "condition.all[0].property.op null plan Number gt 3 ",
                "condition.all[1].not.property.op null age Date before 2020-01-01 ",
                "condition.all[2].property.op null signup_date Date in_last_days 30 ",
                "condition.all[4].event.where[0].op Placed Order category Number between 1, 5 LastDaysWindow { Days = 30 }",
                "condition.all[7].last_event.op Opened Email sent_at Date after 2026-11-01 ",
                "condition.all[4].event.measure Placed Order items Number sum items LastDaysWindow { Days = 30 }",
            ],
            ValueProbes.CollectKinds(parsed.Definition!).Select(p => $"{p.Path} {p.Metric ?? "null"} {p.Property} {p.Kind} {p.Operator} {p.Value} {p.Window}"));
    }

    [Fact]
    public void A_mixed_in_list_probes_only_its_text_values()
    {
        var probe = Assert.Single(Probes("""{"property": {"name": "plan", "op": "in", "value": ["basic", 3, true]}}"""));
        Assert.Equal(["basic"], probe.Values);
    }
}
