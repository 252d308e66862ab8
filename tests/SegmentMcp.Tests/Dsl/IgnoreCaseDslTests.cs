using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Tests.Dsl;

/// <summary><c>"ignore_case": true</c> on property, <c>where</c> and <c>last_event</c> filters: parsing, writing, read-back, mistakes.</summary>
public sealed class IgnoreCaseDslTests
{
    private static SegmentDefinition Parse(string condition)
    {
        var result = SegmentDefinitionJson.Parse($$"""{"name": "x", "condition": {{condition}}}""");
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        return result.Definition!;
    }

    private static DslError SingleError(string condition)
    {
        var result = SegmentDefinitionJson.Parse($$"""{"name": "x", "condition": {{condition}}}""");
        Assert.False(result.IsValid);
        return Assert.Single(result.Errors);
    }

    [Fact]
    public void Every_filter_kind_reads_the_flag_and_writes_it_back_only_when_true()
    {
        var definition = Parse("""
            {"all": [
              {"property": {"name": "city", "op": "eq", "value": "boston", "ignore_case": true}},
              {"property": {"name": "plan", "op": "contains", "value": "Pro", "ignore_case": false}},
              {"event": {"metric": "Placed Order", "where": [{"name": "coupon", "op": "starts_with", "value": "SPRING", "ignore_case": true}], "op": "gte", "value": 1}},
              {"last_event": {"metric": "Placed Order", "property": "category", "op": "in", "value": ["shoes", "BAGS"], "ignore_case": true}}]}
            """);

        var items = Assert.IsType<AllCondition>(definition.Condition).Items;
        Assert.True(Assert.IsType<PropertyCondition>(items[0]).Filter.IgnoreCase);
        Assert.False(Assert.IsType<PropertyCondition>(items[1]).Filter.IgnoreCase);
        Assert.True(Assert.IsType<EventCondition>(items[2]).Where[0].IgnoreCase);
        Assert.True(Assert.IsType<LastEventCondition>(items[3]).Filter.IgnoreCase);

        var json = SegmentDefinitionJson.Write(definition);
        Assert.Equal(3, json.Split("\"ignore_case\":true").Length - 1);
        Assert.DoesNotContain("\"ignore_case\":false", json, StringComparison.Ordinal);
        Assert.Equal(definition.Condition.ToString(), SegmentDefinitionJson.Parse(json).Definition!.Condition.ToString());
        Assert.Equal(json, SegmentDefinitionJson.Write(SegmentDefinitionJson.Parse(json).Definition!));
    }

    [Fact]
    public void The_read_back_says_case_is_ignored_where_a_text_is_compared()
    {
        var definition = Parse("""
            {"all": [
              {"property": {"name": "city", "op": "eq", "value": "boston", "ignore_case": true}},
              {"property": {"name": "vip", "op": "eq", "value": true, "ignore_case": true}},
              {"event": {"metric": "Placed Order", "where": [{"name": "coupon", "op": "contains", "value": "spring", "ignore_case": true}], "op": "gte", "value": 1}}]}
            """);

        var readBack = ReadBack.Describe(definition);

        Assert.Contains("whose city is boston (ignoring case)", readBack, StringComparison.Ordinal);
        Assert.Contains("whose vip is true,", readBack, StringComparison.Ordinal);
        Assert.Contains("where coupon contains spring (ignoring case)", readBack, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"property": {"name": "age", "op": "gt", "value": 3, "ignore_case": true}}""", "condition.property.ignore_case", "'gt' does not compare text: \"ignore_case\" applies to eq, neq, in, not_in, contains, not_contains, starts_with and ends_with. Leave it out.")]
    [InlineData("""{"property": {"name": "city", "op": "is_set", "ignore_case": true}}""", "condition.property.ignore_case", "'is_set' does not compare text")]
    [InlineData("""{"property": {"name": "city", "op": "eq", "value": "boston", "ignore_case": "true"}}""", "condition.property.ignore_case", "\"ignore_case\" is true or false, not the string \"true\". Write true without quotes.")]
    [InlineData("""{"property": {"name": "city", "op": "eq", "value": "boston", "ignore_case": 1}}""", "condition.property.ignore_case", "\"ignore_case\" is true or false, not the number 1.")]
    [InlineData("""{"event": {"metric": "m", "where": [{"name": "$value", "op": "eq", "value": 3, "ignore_case": true}], "op": "gte", "value": 1}}""", "condition.event.where[0].ignore_case", "\"$value\" is a number: \"ignore_case\" applies to text.")]
    [InlineData("""{"last_event": {"metric": "m", "property": "when", "op": "before", "value": "2024-01-01", "ignore_case": true}}""", "condition.last_event.ignore_case", "'before' does not compare text")]
    [InlineData("""{"property": {"name": "city", "op": "eq", "value": "boston", "case_sensitive": false}}""", "condition.property.case_sensitive", "Case is ignored with \"ignore_case\": true, not 'case_sensitive'.")]
    [InlineData("""{"property": {"name": "city", "op": "eq", "value": "boston", "caseInsensitive": true}}""", "condition.property.caseInsensitive", "Case is ignored with \"ignore_case\": true, not 'caseInsensitive'.")]
    [InlineData("""{"property": {"name": "city", "op": "eq", "value": "Boston", "case_sensitive": true}}""", "condition.property.case_sensitive", "Text comparisons are case-sensitive unless the filter has \"ignore_case\": true: leave out 'case_sensitive'.")]
    [InlineData("""{"event": {"metric": "m", "where": [{"name": "coupon", "op": "eq", "value": "x", "ignoreCase": true}], "op": "gte", "value": 1}}""", "condition.event.where[0].ignoreCase", "Case is ignored with \"ignore_case\": true, not 'ignoreCase'.")]
    [InlineData("""{"last_event": {"metric": "m", "property": "category", "op": "eq", "value": "x", "match_case": false}}""", "condition.last_event.match_case", "Case is ignored with \"ignore_case\": true")]
    [InlineData("""{"property": {"name": "email", "op": "icontains", "value": "gmail"}}""", "condition.property.op", "Unknown operator 'icontains'. Did you mean 'contains' with \"ignore_case\": true?")]
    [InlineData("""{"property": {"name": "city", "op": "iexact", "value": "boston"}}""", "condition.property.op", "Did you mean 'eq' with \"ignore_case\": true?")]
    [InlineData("""{"event": {"metric": "m", "where": [{"name": "coupon", "op": "ILIKE", "value": "spring"}], "op": "gte", "value": 1}}""", "condition.event.where[0].op", "Did you mean 'contains' with \"ignore_case\": true?")]
    public void A_misplaced_or_misspelt_flag_is_answered_with_how_to_write_it(string condition, string path, string message)
    {
        var error = SingleError(condition);

        Assert.Equal(path, error.Path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_probe_carries_the_flag_so_another_case_of_a_value_is_no_slip()
    {
        var probes = ValueProbes.Collect(Parse("""
            {"all": [
              {"property": {"name": "city", "op": "eq", "value": "boston", "ignore_case": true}},
              {"property": {"name": "city", "op": "eq", "value": "Paris"}}]}
            """));

        Assert.Equal([("condition.all[0].property.value", true), ("condition.all[1].property.value", false)], probes.Select(p => (p.Path, p.IgnoreCase)));
    }
}
