using System.Globalization;
using System.Text.RegularExpressions;
using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Tests.Differential;

/// <summary>An event as stored: property values are tagged text ('s'/'n'/'b' + text).</summary>
public sealed record TestEvent(string Tenant, string Metric, string ProfileId, DateTime Ts, double? Value, IReadOnlyDictionary<string, string> Properties)
{
    /// <summary>When the row was ingested (null: the engine's default); breaks ties of last_event.</summary>
    public DateTime? IngestedAt { get; init; }
}

/// <summary>One add (or remove) of a profile on a static list.</summary>
public sealed record TestListChange(string Tenant, string ListId, string ProfileId, DateTime At, DateTime IngestedAt, bool Added);

/// <summary>A profile record: tagged property values, '' for a property set to null (removed).</summary>
public sealed record TestProfileUpdate(string Tenant, string ProfileId, DateTime UpdatedAt, DateTime IngestedAt, IReadOnlyDictionary<string, string> Properties);

/// <summary>
/// The language's semantics (issue 3), written plainly over in-memory rows, independent of the SQL compiler: the
/// differential test holds the compiled SQL to this.
/// </summary>
public sealed partial class ReferenceEvaluator(
    IReadOnlyList<TestEvent> events,
    IReadOnlyList<TestProfileUpdate> updates,
    IReadOnlyDictionary<string, SegmentDefinition> savedSegments,
    IReadOnlyList<TestListChange>? lists = null)
{
    private IReadOnlyList<TestListChange> Lists { get; } = lists ?? [];

    private IReadOnlyList<TestEvent> Events { get; } = events;

    private IReadOnlyList<TestProfileUpdate> Updates { get; } = updates;

    private IReadOnlyDictionary<string, SegmentDefinition> SavedSegments { get; } = savedSegments;

    public IReadOnlySet<string> Members(string tenant, Condition condition, DateTime now)
    {
        var context = new Context(this, tenant, now);
        return context.Universe.Where(profile => context.Holds(condition, profile)).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// What an event condition reads of one profile at <paramref name="now"/>: how many of its events pass the metric,
    /// the window and the where filters, and the measure over them (null where the measure of no numbers is).
    /// </summary>
    public (long Matching, double? Measured) EventMeasure(string tenant, EventCondition condition, string profile, DateTime now) =>
        new Context(this, tenant, now).Measure(condition, profile);

    [GeneratedRegex("^-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$")]
    private static partial Regex NumberText();

    private static bool IsSet(string tagged) => tagged.Length > 0;

    private static string Text(string tagged) => tagged[1..];

    private static double? Number(string tagged) =>
        tagged.Length > 0 && tagged[0] is 'n' or 's' && NumberText().IsMatch(tagged[1..])
            ? double.Parse(tagged[1..], NumberStyles.Float, CultureInfo.InvariantCulture)
            : null;

    private static DateTime? Date(string tagged) =>
        tagged.Length > 0 && tagged[0] == 's' && IsoTime.TryParse(tagged[1..], out var instant) ? instant : null;

    private sealed partial class Context
    {
        private readonly ReferenceEvaluator owner;
        private readonly string tenant;
        private readonly DateTime now;
        private readonly Dictionary<string, List<TestEvent>> eventsByProfile;
        private readonly Dictionary<(string Profile, string Property), string> traits = [];

        public Context(ReferenceEvaluator owner, string tenant, DateTime now)
        {
            this.owner = owner;
            this.tenant = tenant;
            this.now = now;
            eventsByProfile = owner.Events
                .Where(e => e.Tenant == tenant && e.Ts <= now)
                .GroupBy(e => e.ProfileId)
                .ToDictionary(g => g.Key, g => g.ToList());
            var current = owner.Updates.Where(u => u.Tenant == tenant && u.UpdatedAt <= now).ToList();
            foreach (var group in current.SelectMany(u => u.Properties.Select(p => (u, p.Key, p.Value))).GroupBy(x => (x.u.ProfileId, x.Key)))
            {
                var latest = group.OrderBy(x => x.u.UpdatedAt).ThenBy(x => x.u.IngestedAt).Last();
                traits[(group.Key.ProfileId, group.Key.Key)] = latest.Value;
            }

            Universe = eventsByProfile.Keys.Concat(current.Select(u => u.ProfileId)).ToHashSet(StringComparer.Ordinal);
        }

        public HashSet<string> Universe { get; }

        public bool Holds(Condition condition, string profile) => condition switch
        {
            AllCondition all => all.Items.All(c => Holds(c, profile)),
            AnyCondition any => any.Items.Any(c => Holds(c, profile)),
            NotCondition not => !Holds(not.Inner, profile),
            PropertyCondition p => Filter(p.Filter, traits.GetValueOrDefault((profile, p.Filter.Name), string.Empty), null),
            EventCondition e => Event(e, profile),
            SegmentReferenceCondition r => Holds(owner.SavedSegments[r.SegmentId].Condition, profile) == r.Member,
            _ => Behavioural(condition, profile),
        };

        private bool Event(EventCondition e, string profile) =>
            Measure(e, profile).Measured is { } m && MeasureHolds(e, m);

        public (long Matching, double? Measured) Measure(EventCondition e, string profile)
        {
            var selected = Matching(eventsByProfile.GetValueOrDefault(profile, []), e.Metric, e.Where).Where(x => InWindow(e.Window, x.Ts)).ToList();
            double? measured;
            if (e.Measure.Kind == MeasureKind.Count)
            {
                measured = selected.Count;
            }
            else if (e.Measure.Kind == MeasureKind.Distinct)
            {
                measured = e.Measure.Property == PropertyFilter.ValueProperty
                    ? selected.Where(x => x.Value is not null).Select(x => x.Value!.Value).Distinct().Count()
                    : selected.Select(x => x.Properties.GetValueOrDefault(e.Measure.Property!, string.Empty)).Where(IsSet).Distinct(StringComparer.Ordinal).Count();
            }
            else
            {
                var numbers = selected
                    .Select(x => e.Measure.Property == PropertyFilter.ValueProperty ? x.Value : Number(x.Properties.GetValueOrDefault(e.Measure.Property!, string.Empty)))
                    .Where(n => n is not null)
                    .Select(n => n!.Value)
                    .ToList();
                measured = e.Measure.Kind switch
                {
                    MeasureKind.Sum => numbers.Sum(),
                    _ when numbers.Count == 0 => null,
                    MeasureKind.Avg => numbers.Sum() / numbers.Count,
                    MeasureKind.Min => numbers.Min(),
                    _ => numbers.Max(),
                };
            }

            return (selected.Count, measured);
        }

        private bool InWindow(Window? window, DateTime ts) => window switch
        {
            null => true,
            LastDaysWindow w => now.AddDays(-w.Days) <= ts,
            LastHoursWindow w => now.AddHours(-w.Hours) <= ts,
            BetweenDaysAgoWindow w => now.AddDays(-w.ToDaysAgo) <= ts && ts < now.AddDays(-w.FromDaysAgo),
            SinceWindow w => w.Since <= ts,
            BeforeWindow w => ts < w.Before,
            FromToWindow w => w.From <= ts && ts < w.To,
            ThisPeriodWindow w => PeriodIndex(w.Unit, Local(ts, w.TimeZone)) == PeriodIndex(w.Unit, Local(now, w.TimeZone)) && ts <= now,
            PreviousPeriodsWindow w => PeriodIndex(w.Unit, Local(now, w.TimeZone)) - PeriodIndex(w.Unit, Local(ts, w.TimeZone)) is var back && back >= 1 && back <= w.Periods,
            _ => throw new InvalidOperationException(),
        };

        /// <summary>The wall time of an instant in a time zone (UTC when none is named).</summary>
        private static DateTime Local(DateTime utc, string? timeZone) =>
            timeZone is null ? utc : TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utc, DateTimeKind.Utc), TimeZoneInfo.FindSystemTimeZoneById(timeZone));

        /// <summary>
        /// The calendar period holding a wall time t as a running number (weeks counted from a Monday), so the windows are
        /// checked by counting periods rather than by computing their edges as the compiler does.
        /// </summary>
        private static long PeriodIndex(CalendarUnit unit, DateTime t)
        {
            var days = (long)Math.Floor((DateTime.SpecifyKind(t, DateTimeKind.Utc) - DateTime.UnixEpoch).TotalDays);
            return unit switch
            {
                CalendarUnit.Day => days,
                CalendarUnit.Week => (long)Math.Floor((days - 4) / 7.0), // 1970-01-05 was a Monday
                CalendarUnit.Month => (t.Year * 12L) + t.Month - 1,
                CalendarUnit.Quarter => (t.Year * 4L) + ((t.Month - 1) / 3),
                _ => t.Year,
            };
        }

        /// <param name="tagged">The tagged value ('' when not set); ignored for $value.</param>
        /// <param name="eventValue">The event's numeric value when the filter is on $value.</param>
        private bool Filter(PropertyFilter f, string tagged, double? eventValue, bool isEventValue = false)
        {
            var set = isEventValue ? eventValue is not null : IsSet(tagged);
            var number = isEventValue ? eventValue : Number(tagged);
            switch (f.Op)
            {
                case FilterOperator.IsSet:
                    return set;
                case FilterOperator.IsNotSet:
                    return !set;
                case FilterOperator.Eq:
                    return Equal(f.Single, tagged, number, f.IgnoreCase);
                case FilterOperator.Neq:
                    return set && !Equal(f.Single, tagged, number, f.IgnoreCase);
                case FilterOperator.In:
                    return f.Values.Any(v => Equal(v, tagged, number, f.IgnoreCase));
                case FilterOperator.NotIn:
                    return set && !f.Values.Any(v => Equal(v, tagged, number, f.IgnoreCase));
                case FilterOperator.Gt:
                    return number > Num(f.Single);
                case FilterOperator.Gte:
                    return number >= Num(f.Single);
                case FilterOperator.Lt:
                    return number < Num(f.Single);
                case FilterOperator.Lte:
                    return number <= Num(f.Single);
                case FilterOperator.Between:
                    return number >= Num(f.Values[0]) && number <= Num(f.Values[1]);
            }

            if (!set)
            {
                return false;
            }

            var text = Cased(Text(tagged), f.IgnoreCase);
            var needle = Cased(f.Single is StringScalar s ? s.Value : string.Empty, f.IgnoreCase);
            var date = Date(tagged);
            return f.Op switch
            {
                FilterOperator.Contains => text.Contains(needle, StringComparison.Ordinal),
                FilterOperator.NotContains => !text.Contains(needle, StringComparison.Ordinal),
                FilterOperator.StartsWith => text.StartsWith(needle, StringComparison.Ordinal),
                FilterOperator.EndsWith => text.EndsWith(needle, StringComparison.Ordinal),
                FilterOperator.Before => date < f.Instant,
                FilterOperator.After => date > f.Instant,
                FilterOperator.InLastDays => date >= now.AddDays(-f.Days) && date <= now,
                FilterOperator.MoreThanDaysAgo => date < now.AddDays(-f.Days),
                FilterOperator.InNextDays => date >= now && date <= now.AddDays(f.Days),
                FilterOperator.AnniversaryInNextDays => date is { } d && DaysToAnniversary(d, f.TimeZone) <= f.Days,
                _ => throw new InvalidOperationException(f.Op.ToString()),
            };
        }

        private static double Num(Scalar scalar) => ((NumberScalar)scalar).Value;

        /// <summary>The text as ignore_case compares it (the random world's texts lower-case alike in .NET and ClickHouse).</summary>
        private static string Cased(string text, bool ignoreCase) => ignoreCase ? text.ToLowerInvariant() : text;

        private static bool Equal(Scalar operand, string tagged, double? number, bool ignoreCase) => operand switch
        {
            StringScalar s => IsSet(tagged) && Cased(Text(tagged), ignoreCase) == Cased(s.Value, ignoreCase),
            NumberScalar n => number == n.Value,
            BoolScalar b => tagged == (b.Value ? "btrue" : "bfalse"),
            _ => false,
        };

        private int DaysToAnniversary(DateTime date, string? timeZone)
        {
            var today = DateTime.SpecifyKind(Local(now, timeZone).Date, DateTimeKind.Utc);
            var next = Occurrence(today.Year, date);
            if (next < today)
            {
                next = Occurrence(today.Year + 1, date);
            }

            return (next - today).Days;
        }

        private static DateTime Occurrence(int year, DateTime date) =>
            date.Month == 2 && date.Day == 29 && !DateTime.IsLeapYear(year)
                ? new DateTime(year, 2, 28, 0, 0, 0, DateTimeKind.Utc)
                : new DateTime(year, date.Month, date.Day, 0, 0, 0, DateTimeKind.Utc);
    }
}
