namespace SegmentMcp.Core.Dsl;

/// <summary>
/// <c>{"first_time": {...}}</c>: the profile's earliest event of <see cref="Metric"/> passing every
/// <see cref="Where"/> filter (over all time up to now) lies in <see cref="Window"/>.
/// </summary>
public sealed record FirstTimeCondition(string Metric, IReadOnlyList<PropertyFilter> Where, Window? Window) : Condition;

/// <summary>One step of a sequence: an event of <see cref="Metric"/> passing every <see cref="Where"/> filter.</summary>
/// <param name="ThenNot">Only on the last step: the "abandoned" pattern.</param>
public sealed record SequenceStep(string Metric, IReadOnlyList<PropertyFilter> Where, ThenNot? ThenNot = null);

/// <summary>No event of <see cref="Metric"/> in (ts(last step), ts(last step) + <see cref="WithinHours"/> h], an interval that has fully elapsed.</summary>
public sealed record ThenNot(string Metric, int WithinHours);

/// <summary>
/// <c>{"sequence": {...}}</c>: events e1 &lt; e2 &lt; … (strictly increasing ts) of the steps in order, all in
/// <see cref="Window"/>, with ts(last) − ts(first) ≤ <see cref="WithinHours"/> hours (and the last step's then_not).
/// </summary>
public sealed record SequenceCondition(IReadOnlyList<SequenceStep> Steps, int WithinHours, Window? Window) : Condition
{
    public ThenNot? ThenNot => Steps[^1].ThenNot;
}

/// <summary>
/// <c>{"stopped": {...}}</c>: at least one event of <see cref="Metric"/> (passing <see cref="Where"/>) between
/// <see cref="FromDaysAgo"/> and <see cref="ToDaysAgo"/> days ago (as <c>between_days_ago</c>) and none in the last
/// <see cref="RecentDays"/> days (as <c>last_days</c>).
/// </summary>
public sealed record StoppedCondition(string Metric, IReadOnlyList<PropertyFilter> Where, int FromDaysAgo, int ToDaysAgo, int RecentDays) : Condition
{
    public BetweenDaysAgoWindow Before => new(FromDaysAgo, ToDaysAgo);

    public LastDaysWindow Recent => new(RecentDays);
}

/// <summary>
/// <c>{"restarted": {...}}</c>: an event of <see cref="Metric"/> in the last <see cref="RecentDays"/> days and,
/// before the first of those, a gap of at least <see cref="GapDays"/> days without one, preceded by at least one event.
/// </summary>
public sealed record RestartedCondition(string Metric, int GapDays, int RecentDays) : Condition;

/// <summary>Calendar periods of <see cref="RegularlyCondition"/> (UTC; weeks start on Monday).</summary>
public enum Period
{
    Day,
    Week,
    Month,
}

/// <summary>
/// <c>{"regularly": {...}}</c>: in at least <see cref="MinPeriods"/> of the last <see cref="Periods"/> whole calendar
/// periods (the current partial one excluded; UTC's, or <see cref="TimeZone"/>'s) the period's count of events of
/// <see cref="Metric"/> passing <see cref="Where"/> compares to <see cref="Value"/> by <see cref="Op"/>.
/// </summary>
public sealed record RegularlyCondition(
    string Metric,
    IReadOnlyList<PropertyFilter> Where,
    Period Period,
    int Periods,
    int MinPeriods,
    Comparison Op,
    double Value,
    string? TimeZone = null) : Condition
{
    /// <summary>The start of the current (partial) period and of the oldest period counted, at <paramref name="now"/>.</summary>
    public (DateTime Oldest, DateTime Current) Span(DateTime now)
    {
        var zone = CalendarPeriods.Zone(TimeZone);
        return (CalendarPeriods.Start(Unit, now, zone, -Periods), CalendarPeriods.Start(Unit, now, zone));
    }

    /// <summary>
    /// The starts of the counted periods and of the current one, newest first: element k (from 0) is the end of
    /// period k + 1 (1 = the last whole period). In a time zone with clock changes the periods differ in length.
    /// </summary>
    public IReadOnlyList<DateTime> Edges(DateTime now)
    {
        var zone = CalendarPeriods.Zone(TimeZone);
        return [.. Enumerable.Range(0, Periods + 1).Select(back => CalendarPeriods.Start(Unit, now, zone, -back))];
    }

    private CalendarUnit Unit => Period switch
    {
        Period.Day => CalendarUnit.Day,
        Period.Week => CalendarUnit.Week,
        _ => CalendarUnit.Month,
    };
}

/// <summary>
/// <c>{"last_event": {...}}</c>: the property <see cref="Filter"/>.Name of the profile's most recent event of
/// <see cref="Metric"/> (ties broken by the later ingested row) passes the filter.
/// </summary>
public sealed record LastEventCondition(string Metric, PropertyFilter Filter) : Condition;

/// <summary>
/// <c>{"random_bucket": {...}}</c>: a deterministic, uniform hash of (tenant, profile id, <see cref="Seed"/>)
/// falls in the first <see cref="Percent"/> percent (in steps of 0.01).
/// </summary>
public sealed record RandomBucketCondition(double Percent, string Seed) : Condition
{
    /// <summary>The percent in hundredths: a profile is in when its hash modulo 10,000 is below this.</summary>
    public int BasisPoints => (int)Math.Round(Percent * 100);
}

/// <summary><c>{"in_list": {"id": L}}</c>: the profile is on static list L (as of now: added and not removed since).</summary>
public sealed record InListCondition(string ListId) : Condition;
