using System.Text;
using System.Text.Json;
using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Tests.Dsl;

public sealed class ParserTests
{
    private const string IssueExample = """
        { "name": "Recent openers in Boston", "description": "optional",
          "condition": { "all": [
            { "event": { "metric": "Opened Email", "window": { "between_days_ago": [3, 5] }, "op": "gte", "value": 1 } },
            { "property": { "name": "city", "op": "eq", "value": "Boston" } },
            { "not": { "event": { "metric": "Placed Order", "window": { "last_days": 30 }, "op": "gte", "value": 1 } } } ] } }
        """;

    [Fact]
    public void The_issue_example_parses_into_the_model()
    {
        var result = SegmentDefinitionJson.Parse(IssueExample);

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var all = Assert.IsType<AllCondition>(result.Definition!.Condition);
        var opened = Assert.IsType<EventCondition>(all.Items[0]);
        Assert.Equal(new BetweenDaysAgoWindow(3, 5), opened.Window);
        Assert.Equal((Comparison.Gte, 1.0, MeasureKind.Count), (opened.Op, opened.Value, opened.Measure.Kind));
        var city = Assert.IsType<PropertyCondition>(all.Items[1]).Filter;
        Assert.Equal(("city", FilterOperator.Eq), (city.Name, city.Op));
        Assert.Equal(new StringScalar("Boston"), city.Single);
        var not = Assert.IsType<NotCondition>(all.Items[2]);
        Assert.Equal(new LastDaysWindow(30), Assert.IsType<EventCondition>(not.Inner).Window);
        Assert.Equal("optional", result.Definition.Description);
    }

    [Fact]
    public void Writing_then_parsing_gives_back_the_same_canonical_json()
    {
        var json = SegmentDefinitionJson.Write(SegmentDefinitionJson.Parse(IssueExample).Definition!);

        Assert.Equal(json, SegmentDefinitionJson.Write(SegmentDefinitionJson.Parse(json).Definition!));
        Assert.Contains("\"between_days_ago\":[3,5]", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"name": "x", "condition": {"all": [{"property": {"name": "a", "op": "is_set"}}, {"property": {"name": "b", "op": "is_set"}}, {"event": {"metric": "m", "window": {"between_days_ago": [5, 3]}, "op": "gte", "value": 1}}]}}""", "condition.all[2].event.window", "A < B")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"last_days": 0}, "op": "gte", "value": 1}}}""", "condition.event.window", "whole number from 1")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"last_days": 2.5}, "op": "gte", "value": 1}}}""", "condition.event.window", "whole number")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"from": "2024-01-02"}, "op": "gte", "value": 1}}}""", "condition.event.window", "needs its partner")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"from": "2024-01-02", "to": "2024-01-01"}, "op": "gte", "value": 1}}}""", "condition.event.window", "earlier than")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"since": "yesterday"}, "op": "gte", "value": 1}}}""", "condition.event.window", "ISO-8601")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"last_days": 3, "since": "2024-01-01"}, "op": "gte", "value": 1}}}""", "condition.event.window", "exactly one shape")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"last_day": 3}, "op": "gte", "value": 1}}}""", "condition.event.window", "Did you mean 'last_days'")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"last_weeks": 2}, "op": "gte", "value": 1}}}""", "condition.event.window", "Unknown window field 'last_weeks'. Windows count days or hours: 2 weeks is {\"last_days\": 14}.")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"last_months": 3}, "op": "gte", "value": 1}}}""", "condition.event.window", "3 months is {\"last_days\": 90} (30-day months; the calendar month before this one is {\"previous\": \"month\"}, this one so far {\"this\": \"month\"}).")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"this": "months"}, "op": "gte", "value": 1}}}""", "condition.event.window", "\"this\" takes a calendar period: \"day\", \"week\", \"month\", \"quarter\" or \"year\" (UTC; weeks start on Monday), not \"months\". Did you mean \"month\"?")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"previous": 1}, "op": "gte", "value": 1}}}""", "condition.event.window", "\"previous\" takes a calendar period: \"day\", \"week\", \"month\", \"quarter\" or \"year\" (UTC; weeks start on Monday), not the number 1.")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"previous": "year", "periods": 101}, "op": "gte", "value": 1}}}""", "condition.event.window", "periods")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"previous": "week", "periods": 0}, "op": "gte", "value": 1}}}""", "condition.event.window", "periods")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"periods": 3}, "op": "gte", "value": 1}}}""", "condition.event.window", "\"periods\" counts the periods of a \"previous\" window")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"this": "month", "periods": 2}, "op": "gte", "value": 1}}}""", "condition.event.window", "exactly one shape")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"last": "month"}, "op": "gte", "value": 1}}}""", "condition.event.window", "Unknown window field 'last'. Did you mean {\"previous\": \"month\"} (the whole calendar month before this one; {\"this\": \"month\"} is this one so far)?")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"current": "quarter"}, "op": "gte", "value": 1}}}""", "condition.event.window", "Did you mean {\"this\": \"quarter\"} (this calendar quarter so far)?")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": "this month", "op": "gte", "value": 1}}}""", "condition.event.window", "not the string \"this month\". Did you mean {\"this\": \"month\"}? (calendar periods in UTC)")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": "last week", "op": "gte", "value": 1}}}""", "condition.event.window", "Did you mean {\"previous\": \"week\"}?")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": "Yesterday", "op": "gte", "value": 1}}}""", "condition.event.window", "Did you mean {\"previous\": \"day\"}?")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": "last 2 months", "op": "gte", "value": 1}}}""", "condition.event.window", "Did you mean {\"last_days\": 60}? (2 × 30 days; {\"previous\": \"month\", \"periods\": 2} for the 2 calendar months before this one)")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"time_zone": "Europe/Paris"}, "op": "gte", "value": 1}}}""", "condition.event.window", "\"time_zone\" sets the time zone of a calendar window")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"last_days": 3, "time_zone": "Europe/Paris"}, "op": "gte", "value": 1}}}""", "condition.event.window", "exactly one shape")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "periods": 3, "op": "gte", "value": 1}}}""", "condition.event.periods", "'periods' belongs inside the window: write \"window\": {\"previous\": \"month\", \"periods\": 3}.")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"last_year": "1"}, "op": "gte", "value": 1}}}""", "condition.event.window", "a year is 365 days in \"last_days\".")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "value": 1}}}""", "condition.event.op", "Missing required field 'op'")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "signup_date", "op": "gt", "value": "2026-11-01"}}}""", "condition.property.value", "'gt' compares numbers, and the string \"2026-11-01\" is a date: compare dates with 'after'")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "signup_date", "op": "lte", "value": "2026-11-01T10:00:00Z"}}}""", "condition.property.value", "compare dates with 'before'")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "op": "atleast", "value": 1}}}""", "condition.event.op", "Unknown comparison 'atleast'")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "op": ">=", "value": 1}}}""", "condition.event.op", "Unknown comparison '>='. Did you mean 'gte'? A count")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "op": "at_least", "value": 1}}}""", "condition.event.op", "Did you mean 'gte'?")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "age", "op": "!=", "value": 1}}}""", "condition.property.op", "Unknown operator '!='. Did you mean 'neq'? Operators")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "age", "op": "exists"}}}""", "condition.property.op", "Did you mean 'is_set'?")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "op": "exists", "value": 1}}}""", "condition.event.op", "Unknown comparison 'exists'. Did you mean 'eq', ")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "op": "gte", "value": "1"}}}""", "condition.event.value", "must be a number")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "measure": {"total": "$value"}, "op": "gte", "value": 1}}}""", "condition.event.measure", "A measure is")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "measure": "sum", "op": "gte", "value": 1}}}""", "condition.event.measure", "not \"sum\"")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "where": [{"name": "$value", "op": "contains", "value": "a"}], "op": "gte", "value": 1}}}""", "condition.event.where[0].op", "does not apply to \"$value\"")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "where": [{"name": "$value", "op": "eq", "value": "a"}], "op": "gte", "value": 1}}}""", "condition.event.where[0].value", "a number")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "op": "gte", "value": 1, "windw": {"last_days": 3}}}}""", "condition.event.windw", "Did you mean 'window'")]
    [InlineData("""{"name": "x", "condition": {"and": [{"property": {"name": "a", "op": "is_set"}}]}}""", "condition.and", "Unknown condition 'and'. Did you mean 'all'? A condition is one of")]
    [InlineData("""{"name": "x", "condition": {"$or": [{"property": {"name": "a", "op": "is_set"}}]}}""", "condition.$or", "Did you mean 'any'?")]
    [InlineData("""{"name": "x", "condition": {"none": [{"property": {"name": "a", "op": "is_set"}}]}}""", "condition.none", "is written {\"not\": {\"any\": [{…}, {…}]}}")]
    [InlineData("""{"name": "x", "condition": {"trait": {"name": "a", "op": "is_set"}}}""", "condition.trait", "Did you mean 'property'?")]
    [InlineData("""{"name": "x", "condition": [{"property": {"name": "a", "op": "is_set"}}]}""", "condition", "are written {\"all\": [{…}, {…}]}")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "last_days": 7, "op": "gte", "value": 1}}}""", "condition.event.last_days", "'last_days' belongs inside the window: write \"window\": {\"last_days\": 7}.")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "within_days": 14, "op": "gte", "value": 1}}}""", "condition.event.within_days", "write \"window\": {\"last_days\": 14} instead of 'within_days'")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": "last 2 weeks", "op": "gte", "value": 1}}}""", "condition.event.window", "not the string \"last 2 weeks\". Did you mean {\"last_days\": 14}?")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": "past 24 hours", "op": "gte", "value": 1}}}""", "condition.event.window", "Did you mean {\"last_hours\": 24}?")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "count": {"$gte": 3}}}}""", "condition.event.count", "compared with \"op\" and \"value\", not 'count': write \"op\": \"gte\", \"value\": 3.")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "at_least": 2}}}""", "condition.event.at_least", "write \"op\": \"gte\", \"value\": 2.")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "times": 2}}}""", "condition.event.times", "at least 2 times is \"op\": \"gte\", \"value\": 2; exactly 2 is \"op\": \"eq\"")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m"}}}""", "condition.event.op", "\"op\": \"gte\", \"value\": 1 is at least once, \"op\": \"eq\", \"value\": 0 is none.")]
    [InlineData("""{"name": "x", "condition": {"event": {"event": "m", "op": "gte", "value": 1}}}""", "condition.event.event", "Unknown field 'event'. Did you mean 'metric'?")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "city", "value": "Boston"}}}""", "condition.property.op", "Missing required field 'op'. Did you mean \"op\": \"eq\"?")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "city", "value": ["Boston", "Austin"]}}}""", "condition.property.op", "Did you mean \"op\": \"in\" (equal to one of the values)?")]
    [InlineData("""{"name": "x", "condition": {"property": {"property": "city", "op": "eq", "value": "Boston"}}}""", "condition.property.property", "Unknown field 'property'. Did you mean 'name'?")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "city", "operator": "eq", "value": "Boston"}}}""", "condition.property.operator", "Did you mean 'op'?")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "where": {"category": "shoes"}, "op": "gte", "value": 1}}}""", "condition.event.where", "not an object. Did you mean [{\"name\": \"category\", \"op\": \"eq\", \"value\": \"shoes\"}]?")]
    [InlineData("""{"name": "x", "condition": {"sequence": {"steps": ["m", {"metric": "n"}], "within_hours": 2}}}""", "condition.sequence.steps[0]", "not the string \"m\": write {\"metric\": \"m\"}.")]
    [InlineData("""{"name": "x", "condition": {"stopped": {"metric": "m", "before_days": 90, "recent_days": 30}}}""", "condition.stopped.before_days", "not the number 90. Did you mean [30, 90] (events between 90 and 30 days ago, none in the last 30)?")]
    [InlineData("""{"name": "x", "condition": {"first_time": {"metric": "m", "last_days": 30}}}""", "condition.first_time.last_days", "'last_days' belongs inside the window: write \"window\": {\"last_days\": 30}.")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"since": "2 weeks ago"}, "op": "gte", "value": 1}}}""", "condition.event.window", "not the string \"2 weeks ago\". A time relative to now is a window of its own: {\"last_days\": 14}.")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"before": "90 days ago"}, "op": "gte", "value": 1}}}""", "condition.event.window", "{\"between_days_ago\": [90, 36500]} (more than 90 days ago).")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "op": "gte", "value": 1, "negate": true}}}""", "condition.event.negate", "A condition is negated by wrapping it, not by 'negate': {\"not\": {…this condition…}}.")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "city", "op": "eq", "value": "a", "not": true}}}""", "condition.property.not", "negated by wrapping it")]
    [InlineData("""{"id": "s1", "name": "x", "condition": {"property": {"name": "a", "op": "is_set"}}}""", "id", "A definition has no 'id': saving it makes the id from its name")]
    [InlineData("""{"name": "x", "all": [{"property": {"name": "a", "op": "is_set"}}]}""", "all", "'all' is a condition: a definition holds its condition inside \"condition\", as {\"name\": …, \"condition\": {\"all\": …}}.")]
    [InlineData("""{"name": "x", "condition": {"all": [], "any": []}}""", "condition", "exactly one key")]
    [InlineData("""{"name": "x", "condition": {}}""", "condition", "An empty condition")]
    [InlineData("""{"name": "x", "condition": {"any": []}}""", "condition.any", "non-empty array")]
    [InlineData("""{"name": "x", "condition": {"not": [1]}}""", "condition.not", "\"not\" takes one condition, not an array of 1: that none of several holds is written {\"not\": {\"any\": [{…}, {…}]}}")]
    [InlineData("""{"name": "x", "condition": {"not": 1}}""", "condition.not", "A condition is an object")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "age", "op": "gte", "value": "30"}}}""", "condition.property.value", "not the string \"30\". Write 30 without quotes.")]
    [InlineData("""{"name": "x", "condition": {"event": {"metric": "m", "window": {"last_days": "7"}, "op": "gte", "value": 1}}}""", "condition.event.window", "not the string \"7\". Write 7 without quotes.")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "city", "op": "not_in", "value": "Boston"}}}""", "condition.property.value", "not the string \"Boston\". Write [\"Boston\"] for one value.")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "city", "op": "eq", "value": ["a", "b"]}}}""", "condition.property.value", "For one of several values use \"op\": \"in\".")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "age", "op": "between", "value": {"min": 20, "max": 30}}}}""", "condition.property.value", "not an object. Write [20, 30].")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "city", "op": "contain", "value": "a"}}}""", "condition.property.op", "Did you mean 'contains'")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "age", "op": "gt", "value": "30"}}}""", "condition.property.value", "must be a number")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "city", "op": "contains", "value": 3}}}""", "condition.property.value", "must be a string")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "city", "op": "in", "value": []}}}""", "condition.property.value", "non-empty array")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "city", "op": "in", "value": ["a", {}]}}}""", "condition.property.value[1]", "string, number or boolean")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "city", "op": "is_set", "value": "a"}}}""", "condition.property.value", "takes no value")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "city", "op": "eq"}}}""", "condition.property", "needs a \"value\"")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "age", "op": "between", "value": [5, 1]}}}""", "condition.property.value", "lo ≤ hi")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "age", "op": "between", "value": [1]}}}""", "condition.property.value", "two numbers")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "signup", "op": "before", "value": "2023-02-29"}}}""", "condition.property.value", "ISO-8601")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "signup", "op": "in_last_days", "value": -1}}}""", "condition.property.value", "whole number from 0")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "birthday", "op": "anniversary_in_next_days", "value": 400}}}""", "condition.property.value", "from 0 to 366")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "$value", "op": "gt", "value": 1}}}""", "condition.property.name", "$value")]
    [InlineData("""{"name": "x", "condition": {"property": {"name": "city", "op": "eq", "value": "a", "extra": 1}}}""", "condition.property.extra", "Unknown field 'extra'")]
    [InlineData("""{"name": "x", "condition": {"segment": {"member": true}}}""", "condition.segment.id", "Missing required field 'id'")]
    [InlineData("""{"name": "x", "condition": {"segment": {"id": "s", "member": "yes"}}}""", "condition.segment.member", "Expected true")]
    [InlineData("""{"condition": {"segment": {"id": "s"}}}""", "name", "Missing required field 'name'")]
    [InlineData("""{"name": "x", "nmae": "y", "condition": {"segment": {"id": "s"}}}""", "nmae", "Did you mean 'name'")]
    [InlineData("""{"name": "x"}""", "condition", "Missing required field 'condition'")]
    [InlineData("""[1, 2]""", "", "A definition is an object")]
    [InlineData("""{"name": "x", "condition": """, "", "not valid JSON")]
    public void Each_error_names_its_path(string json, string path, string message)
    {
        var result = SegmentDefinitionJson.Parse(json);

        Assert.Null(result.Definition);
        Assert.Contains(result.Errors, e => e.Path == path && e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void Every_error_of_a_definition_is_reported_at_once()
    {
        var result = SegmentDefinitionJson.Parse("""
            {"name": "", "condition": {"all": [
              {"property": {"name": "age", "op": "gt", "value": "x"}},
              {"event": {"metric": "m", "op": "gte"}}]}}
            """);

        Assert.Equal(
            ["name", "condition.all[0].property.value", "condition.all[1].event.value"],
            result.Errors.Select(e => e.Path).ToArray());
    }

    [Fact]
    public void A_shape_from_another_language_is_answered_once_not_also_as_missing_fields()
    {
        var result = SegmentDefinitionJson.Parse("""
            {"name": "x", "condition": {"event": {"metric": "m", "count": {"gte": 2}, "last_days": 7}}}
            """);
        Assert.Equal(["condition.event.count", "condition.event.last_days"], result.Errors.Select(e => e.Path).ToArray());

        var firstTime = SegmentDefinitionJson.Parse("""{"name": "x", "condition": {"first_time": {"metric": "m", "in_last_days": 30}}}""");
        Assert.Equal(["condition.first_time.in_last_days"], firstTime.Errors.Select(e => e.Path).ToArray());

        // A condition key from another language is read as the one meant, so the problems inside it come in the same answer.
        var nested = SegmentDefinitionJson.Parse("""
            {"name": "x", "condition": {"and": [
              {"event": {"metric": "m", "between_days_ago": [3, 5], "count": {"gte": 1}}},
              {"property": {"property": "city", "op": "eq", "value": "Boston"}}]}}
            """);
        Assert.Equal(
            ["condition.and", "condition.and[0].event.between_days_ago", "condition.and[0].event.count", "condition.and[1].property.property"],
            nested.Errors.Select(e => e.Path).ToArray());

        var beside = SegmentDefinitionJson.Parse("""{"name": "x", "any": [{"property": {"name": "a", "op": "is_set"}}]}""");
        Assert.Equal(["any"], beside.Errors.Select(e => e.Path).ToArray());
    }

    [Theory]
    [InlineData("""{"condition": {"property": {"name": "a", "op": "is_set"}}}""", "Draft", """{"property":{"name":"a","op":"is_set"}}""")]
    [InlineData("""{"all": [{"property": {"name": "a", "op": "is_set"}}]}""", "Draft", """{"all":[{"property":{"name":"a","op":"is_set"}}]}""")]
    [InlineData("""{"name": "Mine", "description": "d", "condition": {"property": {"name": "a", "op": "is_set"}}}""", "Mine", """{"property":{"name":"a","op":"is_set"}}""")]
    public void A_draft_may_leave_out_its_name_or_be_its_bare_condition(string json, string name, string condition)
    {
        using var document = JsonDocument.Parse(json);
        var result = SegmentDefinitionJson.Parse(SegmentDefinitionJson.WithName(document.RootElement, SegmentDefinitionJson.DraftName));

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal(name, result.Definition!.Name);
        var expected = SegmentDefinitionJson.Parse($$"""{"name": "{{name}}", "condition": {{condition}}}""").Definition!;
        Assert.Equal(SegmentDefinitionJson.Write(expected), SegmentDefinitionJson.Write(result.Definition with { Description = null }));
    }

    [Fact]
    public void A_draft_that_is_neither_keeps_the_readers_errors()
    {
        using var document = JsonDocument.Parse("""{"property": {"name": "a", "op": "is_set"}, "event": {"metric": "m", "op": "gte", "value": 1}}""");
        var result = SegmentDefinitionJson.Parse(SegmentDefinitionJson.WithName(document.RootElement, SegmentDefinitionJson.DraftName));

        Assert.Equal(["property", "event"], result.Errors.Select(e => e.Path).ToArray());
    }

    [Fact]
    public void Nesting_deeper_than_twelve_levels_is_rejected_at_the_thirteenth()
    {
        var leaf = """{"property": {"name": "a", "op": "is_set"}}""";
        string Nest(int levels) => levels == 1 ? leaf : $$"""{"not": {{Nest(levels - 1)}}}""";

        Assert.True(SegmentDefinitionJson.Parse($$"""{"name": "x", "condition": {{Nest(12)}}}""").IsValid);
        var result = SegmentDefinitionJson.Parse($$"""{"name": "x", "condition": {{Nest(13)}}}""");
        Assert.Equal("condition" + string.Concat(Enumerable.Repeat(".not", 12)), Assert.Single(result.Errors).Path);
    }

    [Fact]
    public void More_than_sixty_four_leaves_are_rejected()
    {
        string Definition(int leaves) =>
            """{"name": "x", "condition": {"any": [""" + string.Join(", ", Enumerable.Repeat("""{"property": {"name": "a", "op": "is_set"}}""", leaves)) + "]}}";

        Assert.True(SegmentDefinitionJson.Parse(Definition(64)).IsValid);
        var error = Assert.Single(SegmentDefinitionJson.Parse(Definition(65)).Errors);
        Assert.Equal("condition", error.Path);
        Assert.Contains("65", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Strings_longer_than_a_thousand_characters_and_lists_longer_than_a_thousand_values_are_rejected()
    {
        var longText = new string('a', 1001);
        var longString = SegmentDefinitionJson.Parse(Property("eq", $"\"{longText}\""));
        var list = new StringBuilder("[").AppendJoin(',', Enumerable.Range(0, 1001)).Append(']').ToString();
        var longList = SegmentDefinitionJson.Parse(Property("in", list));
        var fullList = new StringBuilder("[").AppendJoin(',', Enumerable.Range(0, 1000)).Append(']').ToString();

        Assert.Equal("condition.property.value", Assert.Single(longString.Errors).Path);
        Assert.Contains("1000 characters", longString.Errors[0].Message, StringComparison.Ordinal);
        Assert.Equal("condition.property.value", Assert.Single(longList.Errors).Path);
        Assert.Contains("at most 1000 values", longList.Errors[0].Message, StringComparison.Ordinal);
        Assert.True(SegmentDefinitionJson.Parse(Property("in", fullList)).IsValid);
    }

    private static string Property(string op, string value) =>
        "{\"name\": \"x\", \"condition\": {\"property\": {\"name\": \"city\", \"op\": \"" + op + "\", \"value\": " + value + "}}}";

    [Theory]
    [InlineData("2024-02-29", "2024-02-29T00:00:00.000Z")]
    [InlineData("1969-12-31T23:00:00Z", "1969-12-31T23:00:00.000Z")]
    [InlineData("2024-02-29T10:00:00+02:00", "2024-02-29T08:00:00.000Z")]
    [InlineData("2024-02-29 10:00", "2024-02-29T10:00:00.000Z")]
    [InlineData("1900-01-01T00:00:00.1234Z", "1900-01-01T00:00:00.123Z")]
    public void Iso_dates_and_timestamps_parse_to_utc(string text, string expected)
    {
        Assert.True(IsoTime.TryParse(text, out var instant));
        Assert.Equal(expected, IsoTime.Format(instant));
    }

    [Theory]
    [InlineData("2023-02-29")]
    [InlineData("2024-13-01")]
    [InlineData("2024-02-29T25:00:00Z")]
    [InlineData("1899-12-31")]
    [InlineData("29/02/2024")]
    [InlineData("")]
    public void Non_iso_or_impossible_dates_do_not_parse(string text) => Assert.False(IsoTime.TryParse(text, out _));
}
