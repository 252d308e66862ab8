using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Tests.Dsl;

/// <summary>The behavioural conditions: the README's examples parse, write back the same, and read back as documented; bad input names its path.</summary>
public sealed class BehaviouralDslTests
{
    public static TheoryData<string, string> Examples() => new()
    {
        {
            """{"first_time": {"metric": "Placed Order", "window": {"last_days": 30}}}""",
            "Profiles who placed an order for the first time in the last 30 days"
        },
        {
            """{"sequence": {"steps": [{"metric": "Viewed Product"}, {"metric": "Added To Cart", "then_not": {"metric": "Placed Order", "within_hours": 24}}], "within_hours": 2, "window": {"last_days": 7}}}""",
            "Profiles who viewed a product, then added to cart, within 2 hours in the last 7 days, and did not place an order within 24 hours after"
        },
        {
            """{"stopped": {"metric": "Placed Order", "before_days": [30, 90], "recent_days": 30}}""",
            "Profiles who placed an order between 30 and 90 days ago but not in the last 30 days"
        },
        {
            """{"restarted": {"metric": "Opened Email", "gap_days": 60, "recent_days": 7}}""",
            "Profiles who opened an email again in the last 7 days after a break of at least 60 days"
        },
        {
            """{"regularly": {"metric": "Placed Order", "period": "month", "periods": 6, "min_periods": 4, "op": "gte", "value": 1}}""",
            "Profiles who placed an order at least 1 time a month in at least 4 of the last 6 whole months"
        },
        {
            """{"last_event": {"metric": "Placed Order", "property": "category", "op": "eq", "value": "shoes"}}""",
            "Profiles whose latest Placed Order event is one where category is shoes"
        },
        {
            """{"random_bucket": {"percent": 10, "seed": "spring-test"}}""",
            "Profiles who fall in a random 10% of profiles (seed spring-test)"
        },
        {
            """{"in_list": {"id": "beta-testers-3f9a"}}""",
            "Profiles who are on list 'beta-testers-3f9a'"
        },
        {
            """{"not": {"in_list": {"id": "suppression-3f9a"}}}""",
            "Profiles who are not on list 'suppression-3f9a'"
        },
    };

    [Theory]
    [MemberData(nameof(Examples))]
    public void Examples_parse_write_back_unchanged_and_read_back(string condition, string readBack)
    {
        var parsed = SegmentDefinitionJson.Parse($$"""{"name": "x", "condition": {{condition}}}""");
        Assert.True(parsed.IsValid, string.Join("; ", parsed.Errors));
        var written = SegmentDefinitionJson.Write(parsed.Definition!);
        Assert.Equal(parsed.Definition, SegmentDefinitionJson.Parse(written).Definition, new DefinitionJsonComparer());
        Assert.Equal(readBack, ReadBack.Describe(parsed.Definition!));
    }

    [Theory]
    [InlineData("""{"first_time": {"metric": "m"}}""", "condition.first_time.window", "Missing required field 'window'")]
    [InlineData("""{"sequence": {"steps": [], "within_hours": 2}}""", "condition.sequence.steps", "1 to 5 steps")]
    [InlineData("""{"sequence": {"steps": [{"metric": "a"}, {"metric": "b"}, {"metric": "c"}, {"metric": "d"}, {"metric": "e"}, {"metric": "f"}], "within_hours": 2}}""", "condition.sequence.steps", "1 to 5 steps")]
    [InlineData("""{"sequence": {"steps": [{"metric": "a", "then_not": {"metric": "b", "within_hours": 1}}, {"metric": "c"}], "within_hours": 2}}""", "condition.sequence.steps[0].then_not", "last step only")]
    [InlineData("""{"sequence": {"steps": [{"metric": "a"}, {"metric": "b", "then_not": {"metric": "c"}}], "within_hours": 2}}""", "condition.sequence.steps[1].then_not.within_hours", "Missing required field")]
    [InlineData("""{"sequence": {"steps": [{"metric": "a"}], "within_hours": 0}}""", "condition.sequence", "\"within_hours\" takes a whole number from 1")]
    [InlineData("""{"stopped": {"metric": "m", "before_days": [30, 10], "recent_days": 5}}""", "condition.stopped.before_days", "A < B")]
    [InlineData("""{"stopped": {"metric": "m", "before_days": [10, 30], "recent_days": 15}}""", "condition.stopped.recent_days", "may not exceed")]
    [InlineData("""{"restarted": {"metric": "m", "gap_days": 0, "recent_days": 7}}""", "condition.restarted", "\"gap_days\" takes a whole number from 1")]
    [InlineData("""{"regularly": {"metric": "m", "period": "year", "periods": 2, "min_periods": 1, "op": "gte", "value": 1}}""", "condition.regularly.period", "\"period\" is one of")]
    [InlineData("""{"regularly": {"metric": "m", "period": "week", "periods": 53, "min_periods": 1, "op": "gte", "value": 1}}""", "condition.regularly", "\"periods\" takes a whole number from 1 to 52")]
    [InlineData("""{"regularly": {"metric": "m", "period": "week", "periods": 4, "min_periods": 5, "op": "gte", "value": 1}}""", "condition.regularly.min_periods", "may not exceed")]
    [InlineData("""{"last_event": {"metric": "m", "property": "$value", "op": "contains", "value": "a"}}""", "condition.last_event.op", "does not apply to \"$value\"")]
    [InlineData("""{"last_event": {"metric": "m", "property": "p", "op": "eqq", "value": "a"}}""", "condition.last_event.op", "Did you mean 'eq'")]
    [InlineData("""{"random_bucket": {"percent": 100.5, "seed": "s"}}""", "condition.random_bucket.percent", "from 0 to 100")]
    [InlineData("""{"random_bucket": {"percent": 10.001, "seed": "s"}}""", "condition.random_bucket.percent", "steps of 0.01")]
    [InlineData("""{"random_bucket": {"percent": 10, "seed": true}}""", "condition.random_bucket.seed", "a string or a whole number")]
    [InlineData("""{"in_list": {"list": "x"}}""", "condition.in_list.list", "Unknown field 'list'")]
    public void Bad_conditions_name_their_path(string condition, string path, string message)
    {
        var result = SegmentDefinitionJson.Parse($$"""{"name": "x", "condition": {{condition}}}""");
        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Path == path && e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void New_conditions_count_as_leaves()
    {
        var items = string.Join(", ", Enumerable.Repeat("""{"in_list": {"id": "l"}}""", SegmentDefinitionJson.MaxLeaves + 1));
        var result = SegmentDefinitionJson.Parse($$$"""{"name": "x", "condition": {"any": [{{{items}}}]}}""");
        Assert.Contains(result.Errors, e => e.Path == "condition" && e.Message.Contains("at most 64 leaf conditions", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Validation_checks_every_metric_and_property_a_behavioural_condition_names()
    {
        var catalog = new TenantCatalog(new Dictionary<string, IReadOnlyCollection<string>> { ["Viewed Product"] = ["sku"], ["Placed Order"] = ["category"] }, []);
        var result = await new DefinitionValidator(NoSegments.Instance).ValidateAsync("t", """
            {"name": "x", "condition": {"all": [
              {"sequence": {"steps": [{"metric": "Viewed Product", "where": [{"name": "skux", "op": "is_set"}]}, {"metric": "Placed Order", "then_not": {"metric": "Placed Ordr", "within_hours": 1}}], "within_hours": 2}},
              {"last_event": {"metric": "Placed Order", "property": "categry", "op": "eq", "value": "a"}},
              {"regularly": {"metric": "Viewed Produkt", "period": "day", "periods": 3, "min_periods": 1, "op": "gte", "value": 1}}]}}
            """, catalog);
        Assert.Equal(
            ["condition.all[0].sequence.steps[0].where[0].name", "condition.all[0].sequence.steps[1].then_not.metric", "condition.all[1].last_event.property", "condition.all[2].regularly.metric"],
            result.Errors.Select(e => e.Path));
        Assert.Contains("Did you mean 'Placed Order'", result.Errors[1].Message, StringComparison.Ordinal);
    }

    /// <summary>Records holding lists compare by reference; their canonical JSON compares by value.</summary>
    private sealed class DefinitionJsonComparer : IEqualityComparer<SegmentDefinition?>
    {
        public bool Equals(SegmentDefinition? x, SegmentDefinition? y) =>
            x is not null && y is not null && SegmentDefinitionJson.Write(x) == SegmentDefinitionJson.Write(y);

        public int GetHashCode(SegmentDefinition? obj) => 0;
    }
}
