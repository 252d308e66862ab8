using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Tests.Dsl;

public sealed class ReadBackTests
{
    [Theory]
    [InlineData(
        """{"all": [{"event": {"metric": "Opened Email", "window": {"between_days_ago": [3, 5]}, "op": "gte", "value": 1}}, {"property": {"name": "city", "op": "eq", "value": "Boston"}}, {"not": {"event": {"metric": "Placed Order", "window": {"last_days": 30}, "op": "gte", "value": 1}}}]}""",
        "Profiles who opened an email between 3 and 5 days ago, whose city is Boston, and who did not place an order in the last 30 days")]
    [InlineData(
        """{"event": {"metric": "Placed Order", "measure": {"sum": "$value"}, "window": {"last_hours": 24}, "op": "gt", "value": 100}}""",
        "Profiles who placed an order with a total value more than 100 in the last 24 hours")]
    [InlineData(
        """{"any": [{"event": {"metric": "Page View", "where": [{"name": "url", "op": "starts_with", "value": "/pricing"}], "op": "gte", "value": 3}}, {"property": {"name": "plan", "op": "in", "value": ["pro", "team"]}}]}""",
        "Profiles who had a Page View event where url starts with /pricing at least 3 times or whose plan is one of pro, team")]
    [InlineData(
        """{"all": [{"event": {"metric": "Purchased", "window": {"last_days": 30}, "op": "gte", "value": 2}}, {"not": {"event": {"metric": "Active on Site", "window": {"last_days": 60}, "op": "gte", "value": 1}}}]}""",
        "Profiles who purchased at least 2 times in the last 30 days and who did not have an Active on Site event in the last 60 days")]
    [InlineData(
        """{"any": [{"event": {"metric": "Feed", "op": "gte", "value": 1}}, {"event": {"metric": "Custom Event", "op": "eq", "value": 0}}]}""",
        "Profiles who had a Feed event or who did not have a Custom Event")]
    [InlineData(
        """{"all": [{"property": {"name": "birthday", "op": "anniversary_in_next_days", "value": 7}}, {"property": {"name": "email", "op": "is_set"}}, {"segment": {"id": "vip", "member": false}}]}""",
        "Profiles whose birthday anniversary is in the next 7 days, who have an email, and who are not in segment 'vip'")]
    [InlineData(
        """{"all": [{"event": {"metric": "Signed Up", "window": {"since": "2024-01-01"}, "op": "eq", "value": 0}}, {"not": {"any": [{"property": {"name": "age", "op": "between", "value": [18, 25]}}, {"property": {"name": "country", "op": "neq", "value": "US"}}]}}]}""",
        "Profiles who did not sign up since 2024-01-01 and who do not match (whose age is between 18 and 25 or whose country is not US)")]
    public void Definitions_read_back_as_english(string condition, string expected)
    {
        var definition = SegmentDefinitionJson.Parse($$"""{"name": "n", "condition": {{condition}}}""").Definition!;

        Assert.Equal(expected, ReadBack.Describe(definition));
    }
}
