namespace SegmentMcp.Core.Dsl;

/// <summary>A segment definition as written by a user or a model: a name, an optional description, one condition.</summary>
public sealed record SegmentDefinition(string Name, string? Description, Condition Condition);

/// <summary>
/// One node of a definition's condition tree. The hierarchy is closed (the constructor is private protected), so a
/// switch over the kinds below (and the behavioural ones in BehaviouralConditions.cs) is exhaustive everywhere the tree is walked.
/// </summary>
public abstract record Condition
{
    private protected Condition()
    {
    }
}

/// <summary><c>{"all": [...]}</c>: every item holds.</summary>
public sealed record AllCondition(IReadOnlyList<Condition> Items) : Condition;

/// <summary><c>{"any": [...]}</c>: at least one item holds.</summary>
public sealed record AnyCondition(IReadOnlyList<Condition> Items) : Condition;

/// <summary><c>{"not": c}</c>.</summary>
public sealed record NotCondition(Condition Inner) : Condition;

/// <summary><c>{"property": {...}}</c>: a filter on a profile property's current value.</summary>
public sealed record PropertyCondition(PropertyFilter Filter) : Condition;

/// <summary>
/// <c>{"event": {...}}</c>: the profile's events of <see cref="Metric"/> in <see cref="Window"/> passing every
/// <see cref="Where"/> filter, aggregated by <see cref="Measure"/>, compared with <see cref="Value"/>.
/// </summary>
public sealed record EventCondition(
    string Metric,
    IReadOnlyList<PropertyFilter> Where,
    Window? Window,
    Measure Measure,
    Comparison Op,
    double Value) : Condition;

/// <summary><c>{"segment": {"id": ..., "member": true|false}}</c>: membership in another saved segment.</summary>
public sealed record SegmentReferenceCondition(string SegmentId, bool Member) : Condition;

/// <summary>Operators of property and <c>where</c> filters, named as in the JSON.</summary>
public enum FilterOperator
{
    Eq,
    Neq,
    In,
    NotIn,
    Contains,
    NotContains,
    StartsWith,
    EndsWith,
    Gt,
    Gte,
    Lt,
    Lte,
    Between,
    IsSet,
    IsNotSet,
    Before,
    After,
    InLastDays,
    MoreThanDaysAgo,
    InNextDays,
    AnniversaryInNextDays,
}

/// <summary>Comparisons of an event measure with a number.</summary>
public enum Comparison
{
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
}

/// <summary>How an event condition aggregates its events.</summary>
public enum MeasureKind
{
    Count,
    Sum,
    Avg,
    Min,
    Max,
    Distinct,
}

/// <summary>A measure: <c>"count"</c> or <c>{"sum": P}</c> etc., where P is an event property or <c>$value</c>.</summary>
public sealed record Measure(MeasureKind Kind, string? Property)
{
    public static Measure Count { get; } = new(MeasureKind.Count, null);
}

/// <summary>A scalar filter value: a JSON string, number or boolean.</summary>
public abstract record Scalar
{
    private protected Scalar()
    {
    }
}

public sealed record StringScalar(string Value) : Scalar;

public sealed record NumberScalar(double Value) : Scalar;

public sealed record BoolScalar(bool Value) : Scalar;

/// <summary>
/// A filter on a property value. <see cref="Values"/> holds the operand(s): none for is_set/is_not_set, one for
/// eq/neq/contains/gt/…/before/after and the day counts, the list for in/not_in, [lo, hi] for between.
/// <see cref="Instant"/> is the parsed time of before/after. <see cref="IgnoreCase"/> (<c>"ignore_case": true</c>, only
/// on the operators that compare text: <see cref="DslNames.ComparesText"/>) compares string operands with the value
/// both lower-cased (ClickHouse's <c>lowerUTF8</c>); numbers and booleans compare as they always do.
/// </summary>
public sealed record PropertyFilter(string Name, FilterOperator Op, IReadOnlyList<Scalar> Values, bool IgnoreCase = false, string? TimeZone = null)
{
    /// <summary>The name of the event's numeric value in where filters and measures.</summary>
    public const string ValueProperty = "$value";

    public bool IsEventValue => Name == ValueProperty;

    /// <summary>The single operand of a one-value operator.</summary>
    public Scalar Single => Values[0];

    /// <summary>The day count of in_last_days, more_than_days_ago, in_next_days, anniversary_in_next_days.</summary>
    public int Days => (int)((NumberScalar)Values[0]).Value;

    /// <summary>
    /// The day an anniversary counts from: the date of <paramref name="now"/> in <see cref="TimeZone"/> (UTC's when
    /// none is named), so a birthday in New York is today from New York's midnight.
    /// </summary>
    public DateTime Today(DateTime now) => TimeZone is null
        ? now.Date
        : TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(now, DateTimeKind.Utc), TimeZoneInfo.FindSystemTimeZoneById(TimeZone)).Date;

    /// <summary>The instant of before/after, parsed from the ISO text.</summary>
    public DateTime Instant => IsoTime.TryParse(((StringScalar)Values[0]).Value, out var instant)
        ? instant
        : throw new InvalidOperationException("The filter was not validated: its value is not an ISO date.");
}

/// <summary>A time window of an event condition. <see cref="EventWindow"/> names the shape.</summary>
public abstract record Window
{
    private protected Window()
    {
    }
}

/// <summary><c>{"last_days": N}</c>: now − N·24h ≤ ts ≤ now.</summary>
public sealed record LastDaysWindow(int Days) : Window;

/// <summary><c>{"last_hours": N}</c>: now − N h ≤ ts ≤ now.</summary>
public sealed record LastHoursWindow(int Hours) : Window;

/// <summary><c>{"between_days_ago": [A, B]}</c>: now − B·24h ≤ ts &lt; now − A·24h.</summary>
public sealed record BetweenDaysAgoWindow(int FromDaysAgo, int ToDaysAgo) : Window;

/// <summary><c>{"since": T}</c>: T ≤ ts ≤ now.</summary>
public sealed record SinceWindow(DateTime Since) : Window;

/// <summary><c>{"before": T}</c>: ts &lt; T.</summary>
public sealed record BeforeWindow(DateTime Before) : Window;

/// <summary><c>{"from": T1, "to": T2}</c>: T1 ≤ ts &lt; T2.</summary>
public sealed record FromToWindow(DateTime From, DateTime To) : Window;

/// <summary>
/// <c>{"this": "month"}</c>: the current calendar period so far: its start ≤ ts ≤ now. Periods are UTC's unless
/// <see cref="TimeZone"/> names an IANA time zone (<c>"time_zone": "America/New_York"</c>).
/// </summary>
public sealed record ThisPeriodWindow(CalendarUnit Unit, string? TimeZone = null) : Window;

/// <summary>
/// <c>{"previous": "month", "periods": N}</c>: the N whole calendar periods before the current one: the start of the
/// N-th before it ≤ ts &lt; the start of the current one; in UTC or <see cref="TimeZone"/>.
/// </summary>
public sealed record PreviousPeriodsWindow(CalendarUnit Unit, int Periods = 1, string? TimeZone = null) : Window;

/// <summary>A calendar period of the <c>this</c> and <c>previous</c> windows; weeks start on Monday.</summary>
public enum CalendarUnit
{
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

/// <summary>Calendar arithmetic of <see cref="CalendarUnit"/>, in UTC or in a time zone.</summary>
public static class CalendarPeriods
{
    /// <summary>The most periods a <c>previous</c> window spans per unit: about a hundred years, as <c>last_days</c>.</summary>
    public static int MaxPeriods(CalendarUnit unit) => unit switch
    {
        CalendarUnit.Day => 36500,
        CalendarUnit.Week => 5214,
        CalendarUnit.Month => 1200,
        CalendarUnit.Quarter => 400,
        _ => 100,
    };

    /// <summary>The time zone of an IANA id the parser accepted (null: UTC).</summary>
    public static TimeZoneInfo? Zone(string? id) => id is null ? null : TimeZoneInfo.FindSystemTimeZoneById(id);

    /// <summary>
    /// The instant the period holding <paramref name="utc"/>, moved by <paramref name="shift"/> periods, starts: the
    /// period's first local midnight (or the first instant after it where a clock change skips midnight).
    /// </summary>
    public static DateTime Start(CalendarUnit unit, DateTime utc, TimeZoneInfo? zone = null, int shift = 0)
    {
        if (zone is null)
        {
            return DateTime.SpecifyKind(Shift(unit, LocalStart(unit, utc), shift), DateTimeKind.Utc);
        }

        var local = TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utc, DateTimeKind.Utc), zone);
        return ToUtc(Shift(unit, LocalStart(unit, local), shift), zone);
    }

    private static DateTime LocalStart(CalendarUnit unit, DateTime t) => unit switch
    {
        CalendarUnit.Day => t.Date,
        CalendarUnit.Week => t.Date.AddDays(-(((int)t.DayOfWeek + 6) % 7)),
        CalendarUnit.Month => new DateTime(t.Year, t.Month, 1),
        CalendarUnit.Quarter => new DateTime(t.Year, ((t.Month - 1) / 3 * 3) + 1, 1),
        _ => new DateTime(t.Year, 1, 1),
    };

    private static DateTime Shift(CalendarUnit unit, DateTime start, int count) => unit switch
    {
        CalendarUnit.Day => start.AddDays(count),
        CalendarUnit.Week => start.AddDays(7 * count),
        CalendarUnit.Month => start.AddMonths(count),
        CalendarUnit.Quarter => start.AddMonths(3 * count),
        _ => start.AddYears(count),
    };

    /// <summary>
    /// A local wall time as an instant: the earlier of a repeated time; for a time a clock change skipped, the instant
    /// of the change (the first that shows a later wall time).
    /// </summary>
    private static DateTime ToUtc(DateTime local, TimeZoneInfo zone)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        if (zone.IsAmbiguousTime(local))
        {
            return DateTime.SpecifyKind(local - zone.GetAmbiguousTimeOffsets(local).Max(), DateTimeKind.Utc);
        }

        if (zone.IsInvalidTime(local))
        {
            // Before the change the offset was the one an hour earlier had: the skipped wall time minus that offset is
            // the change's instant.
            var before = zone.GetUtcOffset(local.AddHours(-3));
            return DateTime.SpecifyKind(local - before, DateTimeKind.Utc);
        }

        return TimeZoneInfo.ConvertTimeToUtc(local, zone);
    }
}

/// <summary>What kind of problem a <see cref="DslError"/> is, so callers branch on a code, never on message text.</summary>
public enum DslErrorCode
{
    /// <summary>Not valid in the language: JSON shape, a missing or unknown field, a value of the wrong kind or range.</summary>
    Syntax,

    /// <summary>A metric or property name the tenant's data does not have (yet): a reload of the catalog may fix it.</summary>
    UnknownName,

    /// <summary>A referenced segment that does not exist for the tenant.</summary>
    UnknownSegment,

    /// <summary>Segment references that lead back to where they started.</summary>
    ReferenceCycle,

    /// <summary>A referenced segment whose own definition is no longer valid.</summary>
    InvalidReference,

    /// <summary>A size limit of the definition with its references inlined.</summary>
    Limit,
}

/// <summary>A JSON path, what is wrong there, and what kind of problem it is.</summary>
public sealed record DslError(string Path, string Message, DslErrorCode Code = DslErrorCode.Syntax)
{
    public override string ToString() => Path.Length == 0 ? Message : $"{Path}: {Message}";
}

/// <summary>A window resolved at a time <c>now</c>: From ≤ ts &lt; Until, each bound optional, and always ts ≤ now.</summary>
public readonly record struct TimeRange(DateTime? From, DateTime? Until)
{
    public static TimeRange All { get; } = new(null, null);

    public static TimeRange Of(Window? window, DateTime now) => window switch
    {
        null => All,
        LastDaysWindow w => new(now.AddDays(-w.Days), null),
        LastHoursWindow w => new(now.AddHours(-w.Hours), null),
        BetweenDaysAgoWindow w => new(now.AddDays(-w.ToDaysAgo), now.AddDays(-w.FromDaysAgo)),
        SinceWindow w => new(w.Since, null),
        BeforeWindow w => new(null, w.Before),
        FromToWindow w => new(w.From, w.To),
        ThisPeriodWindow w => new(CalendarPeriods.Start(w.Unit, now, CalendarPeriods.Zone(w.TimeZone)), null),
        PreviousPeriodsWindow w => PreviousPeriods(w, now),
        _ => throw new InvalidOperationException($"Unknown window {window.GetType().Name}."),
    };

    private static TimeRange PreviousPeriods(PreviousPeriodsWindow window, DateTime now)
    {
        var zone = CalendarPeriods.Zone(window.TimeZone);
        return new(CalendarPeriods.Start(window.Unit, now, zone, -window.Periods), CalendarPeriods.Start(window.Unit, now, zone));
    }
}
