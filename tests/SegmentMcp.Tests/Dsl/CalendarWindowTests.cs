using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Tests.Dsl;

public sealed class CalendarWindowTests
{
    private static Window ParseWindow(string window)
    {
        var result = SegmentDefinitionJson.Parse("""{"name": "n", "condition": {"event": {"metric": "m", "window": """ + window + """, "op": "gte", "value": 1}}}""");
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        return Assert.IsType<EventCondition>(result.Definition!.Condition).Window!;
    }

    [Theory]
    [InlineData("""{"this": "day"}""", """{"this":"day"}""")]
    [InlineData("""{"this": "quarter"}""", """{"this":"quarter"}""")]
    [InlineData("""{"previous": "month"}""", """{"previous":"month"}""")]
    [InlineData("""{"previous": "month", "periods": 1}""", """{"previous":"month"}""")]
    [InlineData("""{"periods": 3, "previous": "week"}""", """{"previous":"week","periods":3}""")]
    [InlineData("""{"time_zone": "America/New_York", "this": "week"}""", """{"this":"week","time_zone":"America/New_York"}""")]
    public void Calendar_windows_parse_and_write_back_in_one_canonical_form(string window, string written)
    {
        var definition = new SegmentDefinition("n", null, new EventCondition("m", [], ParseWindow(window), Measure.Count, Comparison.Gte, 1));

        var json = SegmentDefinitionJson.Write(definition);

        Assert.Contains($"\"window\":{written}", json, StringComparison.Ordinal);
        Assert.Equal(json, SegmentDefinitionJson.Write(SegmentDefinitionJson.Parse(json).Definition!));
    }

    // 2026-12-02 is a Wednesday: its week began on Monday 30 November, in the month before.
    [Theory]
    [InlineData("""{"this": "day"}""", "2026-12-02T00:00:00", null)]
    [InlineData("""{"this": "week"}""", "2026-11-30T00:00:00", null)]
    [InlineData("""{"this": "month"}""", "2026-12-01T00:00:00", null)]
    [InlineData("""{"this": "quarter"}""", "2026-10-01T00:00:00", null)]
    [InlineData("""{"this": "year"}""", "2026-01-01T00:00:00", null)]
    [InlineData("""{"previous": "day"}""", "2026-12-01T00:00:00", "2026-12-02T00:00:00")]
    [InlineData("""{"previous": "week", "periods": 2}""", "2026-11-16T00:00:00", "2026-11-30T00:00:00")]
    [InlineData("""{"previous": "month"}""", "2026-11-01T00:00:00", "2026-12-01T00:00:00")]
    [InlineData("""{"previous": "month", "periods": 12}""", "2025-12-01T00:00:00", "2026-12-01T00:00:00")]
    [InlineData("""{"previous": "quarter"}""", "2026-07-01T00:00:00", "2026-10-01T00:00:00")]
    [InlineData("""{"previous": "year", "periods": 2}""", "2024-01-01T00:00:00", "2026-01-01T00:00:00")]
    public void Calendar_windows_resolve_to_utc_period_edges(string window, string from, string? until)
    {
        var now = new DateTime(2026, 12, 2, 15, 45, 30, DateTimeKind.Utc);

        var range = TimeRange.Of(ParseWindow(window), now);

        Assert.Equal(DateTime.Parse(from, null, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal), range.From);
        Assert.Equal(until is null ? null : DateTime.Parse(until, null, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal), range.Until);
        Assert.Equal(DateTimeKind.Utc, range.From!.Value.Kind);
    }

    [Theory]
    [InlineData("""{"this": "day", "time_zone": "America/New_York"}""", "2026-12-02T15:45:30Z", "2026-12-02T05:00:00Z", null)]
    [InlineData("""{"previous": "month", "time_zone": "Asia/Kolkata"}""", "2026-12-02T15:45:30Z", "2026-10-31T18:30:00Z", "2026-11-30T18:30:00Z")]
    [InlineData("""{"previous": "day", "time_zone": "Asia/Kolkata"}""", "2026-12-01T19:00:00Z", "2026-11-30T18:30:00Z", "2026-12-01T18:30:00Z")]
    [InlineData("""{"previous": "week", "time_zone": "America/New_York"}""", "2026-11-04T12:00:00Z", "2026-10-26T04:00:00Z", "2026-11-02T05:00:00Z")]
    [InlineData("""{"this": "day", "time_zone": "America/Santiago"}""", "2026-09-06T12:00:00Z", "2026-09-06T04:00:00Z", null)]
    [InlineData("""{"previous": "day", "time_zone": "America/Santiago"}""", "2026-09-07T12:00:00Z", "2026-09-06T04:00:00Z", "2026-09-07T03:00:00Z")]
    public void Calendar_windows_in_a_time_zone_start_at_its_local_midnight_or_the_clock_change_that_skips_it(string window, string now, string from, string? until)
    {
        var range = TimeRange.Of(ParseWindow(window), Utc(now));

        Assert.Equal(Utc(from), range.From);
        Assert.Equal(until is null ? null : Utc(until), range.Until);
    }

    [Theory]
    [InlineData("Eastern Standard Time", "Did you mean \"America/New_York\"?")]
    [InlineData("PST", "Did you mean \"America/Los_Angeles\"?")]
    [InlineData("EST", "Did you mean \"America/New_York\"?")]
    [InlineData("new york", "Did you mean \"America/New_York\"?")]
    [InlineData("Europe/Berln", "Did you mean \"Europe/Berlin\"?")]
    public void An_unknown_time_zone_is_an_error_naming_the_one_meant(string zone, string hint)
    {
        var result = SegmentDefinitionJson.Parse("""{"name": "n", "condition": {"event": {"metric": "m", "window": {"this": "day", "time_zone": """ + System.Text.Json.JsonSerializer.Serialize(zone) + """}, "op": "gte", "value": 1}}}""");

        var error = Assert.Single(result.Errors);
        Assert.Equal("condition.event.window", error.Path);
        Assert.StartsWith("\"time_zone\" takes an IANA time zone such as \"America/New_York\"", error.Message, StringComparison.Ordinal);
        Assert.EndsWith(hint, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("America/New_York", "2026-12-02T03:00:00Z", 1201)] // 1 December, 22:00 in New York
    [InlineData("Asia/Kolkata", "2026-12-01T19:00:00Z", 1202)] // 2 December, 00:30 in Kolkata
    [InlineData(null, "2026-12-02T03:00:00Z", 1202)]
    public void A_birthday_today_counts_from_the_named_zone_s_date(string? zone, string now, long today)
    {
        var zoneField = zone is null ? string.Empty : $", \"time_zone\": \"{zone}\"";
        var result = SegmentDefinitionJson.Parse("""{"name": "n", "condition": {"property": {"name": "birthday", "op": "anniversary_in_next_days", "value": 0""" + zoneField + """}}}""");
        var filter = Assert.IsType<PropertyCondition>(result.Definition!.Condition).Filter;

        Assert.Equal([today], Core.Sql.FilterSql.AnniversaryCodes(filter.Today(Utc(now)), 0));
        Assert.Equal(zone is null ? "Profiles whose birthday anniversary is today" : $"Profiles whose birthday anniversary is today ({zone} time)", ReadBack.Describe(result.Definition));
        var written = SegmentDefinitionJson.Write(result.Definition);
        Assert.Equal(zone is not null, written.Contains($"\"time_zone\":\"{zone}\"", StringComparison.Ordinal));
        Assert.Equal(written, SegmentDefinitionJson.Write(SegmentDefinitionJson.Parse(written).Definition!));
    }

    [Fact]
    public void Regularly_in_a_time_zone_counts_its_local_days_a_25_hour_day_included()
    {
        var result = SegmentDefinitionJson.Parse("""{"name": "n", "condition": {"regularly": {"metric": "Page View", "period": "day", "periods": 3, "min_periods": 2, "op": "gte", "value": 1, "time_zone": "America/New_York"}}}""");
        var regularly = Assert.IsType<RegularlyCondition>(result.Definition!.Condition);

        // Monday 2 November 2026, 07:00 in New York: Sunday 1 November had 25 hours (daylight saving time ended).
        Assert.Equal(
            [Utc("2026-11-02T05:00:00Z"), Utc("2026-11-01T04:00:00Z"), Utc("2026-10-31T04:00:00Z"), Utc("2026-10-30T04:00:00Z")],
            regularly.Edges(Utc("2026-11-02T12:00:00Z")));
        Assert.Equal("Profiles who had a Page View event at least 1 time a day in at least 2 of the last 3 whole days (America/New_York time)", ReadBack.Describe(result.Definition));
        var written = SegmentDefinitionJson.Write(result.Definition);
        Assert.Contains("\"time_zone\":\"America/New_York\"", written, StringComparison.Ordinal);
        Assert.Equal(written, SegmentDefinitionJson.Write(SegmentDefinitionJson.Parse(written).Definition!));
    }

    [Fact]
    public void A_time_zone_on_a_filter_that_counts_time_is_an_error()
    {
        var result = SegmentDefinitionJson.Parse("""{"name": "n", "condition": {"property": {"name": "signup", "op": "in_last_days", "value": 7, "time_zone": "Europe/Paris"}}}""");

        var error = Assert.Single(result.Errors);
        Assert.Equal("condition.property.time_zone", error.Path);
        Assert.StartsWith("'in_last_days' counts time, not calendar days: \"time_zone\" applies to anniversary_in_next_days", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Utc_named_as_the_time_zone_is_the_plain_window()
    {
        Assert.Equal(new ThisPeriodWindow(CalendarUnit.Month), ParseWindow("""{"this": "month", "time_zone": "UTC"}"""));
        Assert.Equal(new PreviousPeriodsWindow(CalendarUnit.Week, 2, "Europe/Berlin"), ParseWindow("""{"previous": "week", "periods": 2, "time_zone": "Europe/Berlin"}"""));
    }

    [Fact]
    public void A_week_starting_on_the_evaluation_day_and_a_sunday_evaluation_take_the_monday()
    {
        var monday = new DateTime(2026, 11, 30, 0, 0, 0, DateTimeKind.Utc);

        Assert.Equal(monday, CalendarPeriods.Start(CalendarUnit.Week, monday));
        Assert.Equal(monday, CalendarPeriods.Start(CalendarUnit.Week, new DateTime(2026, 12, 6, 23, 59, 59, DateTimeKind.Utc)));
        Assert.Equal(monday.AddDays(7), CalendarPeriods.Start(CalendarUnit.Week, new DateTime(2026, 12, 7, 0, 0, 0, DateTimeKind.Utc)));
    }

    [Theory]
    [InlineData("""{"this": "day"}""", "Profiles who placed an order today")]
    [InlineData("""{"this": "month"}""", "Profiles who placed an order this month")]
    [InlineData("""{"previous": "day"}""", "Profiles who placed an order yesterday")]
    [InlineData("""{"previous": "quarter"}""", "Profiles who placed an order last quarter")]
    [InlineData("""{"previous": "week", "periods": 4}""", "Profiles who placed an order in the previous 4 calendar weeks")]
    [InlineData("""{"previous": "day", "time_zone": "America/New_York"}""", "Profiles who placed an order yesterday (America/New_York time)")]
    public void Calendar_windows_read_back_as_english(string window, string expected)
    {
        var definition = SegmentDefinitionJson.Parse("""{"name": "n", "condition": {"event": {"metric": "Placed Order", "window": """ + window + """, "op": "gte", "value": 1}}}""").Definition!;

        Assert.Equal(expected, ReadBack.Describe(definition));
    }

    [Theory]
    [InlineData(CalendarUnit.Day, 36500)]
    [InlineData(CalendarUnit.Month, 1200)]
    [InlineData(CalendarUnit.Year, 100)]
    public void A_previous_window_spans_at_most_about_a_hundred_years(CalendarUnit unit, int most)
    {
        var json = """{"name": "n", "condition": {"event": {"metric": "m", "window": {"previous": """ + $"\"{unit.Name()}\", \"periods\": {most + 1}" + """}, "op": "gte", "value": 1}}}""";

        Assert.True(SegmentDefinitionJson.Parse(json.Replace($"{most + 1}", $"{most}", StringComparison.Ordinal)).IsValid);
        var error = Assert.Single(SegmentDefinitionJson.Parse(json).Errors);
        Assert.Equal("condition.event.window", error.Path);
    }

    private static DateTime Utc(string text) =>
        DateTime.Parse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);
}
