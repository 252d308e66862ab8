using System.Globalization;
using System.Text;
using System.Text.Json;
using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Tests.Differential;

/// <summary>
/// Random datasets and definitions built from small vocabularies so that conditions hit data often: values at
/// exact window edges, unset and removed properties, non-numeric values, dates around 29 February and before 1970,
/// two tenants sharing profile ids, future rows that do not exist yet.
/// </summary>
public sealed partial class RandomWorld
{
    public static readonly string[] Metrics = ["Opened Email", "Placed Order", "Page View"];
    public static readonly string[] EventProperties = ["plan", "amount", "channel", "when"];
    public static readonly string[] ProfileProperties = ["city", "age", "birthday", "vip", "score", "signup", "nickname"];

    private static readonly string[] Strings = ["Boston", "boston", "BOSTON", "Paris", "pro", "Pro", "free", "", "New York", "a'b\\c", "7", "1e1", "007", "true", "TRUE", "École", "école"];
    private static readonly double[] Numbers = [0, 5, -2.5, 10, 3.5, 100, 1];
    private static readonly int[] DayCounts = [0, 1, 2, 3, 5, 7, 30, 365];
    private static readonly string[] FixedDates = ["2024-02-29", "2023-02-28", "1969-12-31T23:00:00Z", "1900-03-01", "1904-02-29", "2023-02-29", "not a date", "2024-02-28T12:00:00+02:00", "1999-12-31 23:59"];

    /// <summary>
    /// The calendar windows' zones: UTC; New York; Kolkata (+5:30); Lord Howe (a 30-minute clock change); Santiago (its
    /// clocks skip midnight in September).
    /// </summary>
    private static readonly string?[] TimeZones = [null, null, "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "America/Santiago"];

    private readonly Random random;
    private readonly List<DateTime> edges;

    public RandomWorld(Random random, DateTime now, string tenantPrefix)
    {
        this.random = random;
        Now = now;
        Tenants = [tenantPrefix + "_a", tenantPrefix + "_b"];
        WindowInstants = [now.AddDays(-10).Date, now.AddDays(-2).AddHours(-3), now.AddHours(-12)];
        edges = [now, now.AddMilliseconds(-1), now.AddMilliseconds(1), now.AddHours(1), .. WindowInstants, .. WindowInstants.Select(t => t.AddMilliseconds(-1))];
        foreach (var days in new[] { 1, 3, 5, 7, 10, 30 })
        {
            edges.Add(now.AddDays(-days));
            edges.Add(now.AddDays(-days).AddMilliseconds(-1));
            edges.Add(now.AddDays(-days).AddMilliseconds(1));
        }

        edges.Add(now.AddHours(-1));
        edges.Add(now.AddHours(-6));

        // The calendar windows' edges: the current day's, week's, month's, quarter's and year's starts, the previous
        // month's and the one before.
        var month = new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Utc);
        foreach (var start in new[] { now.Date, now.Date.AddDays(-(((int)now.DayOfWeek + 6) % 7)), month, month.AddMonths(-1), month.AddMonths(-2), new DateTime(now.Year, ((now.Month - 1) / 3 * 3) + 1, 1, 0, 0, 0, DateTimeKind.Utc), new DateTime(now.Year, 1, 1, 0, 0, 0, DateTimeKind.Utc) })
        {
            var utc = DateTime.SpecifyKind(start, DateTimeKind.Utc);
            edges.Add(utc);
            edges.Add(utc.AddMilliseconds(-1));
        }

        // And the same edges in the time zones the windows may name.
        foreach (var zone in TimeZones.OfType<string>().Select(TimeZoneInfo.FindSystemTimeZoneById))
        {
            foreach (var (unit, shift) in new[] { (CalendarUnit.Day, 0), (CalendarUnit.Day, -1), (CalendarUnit.Week, 0), (CalendarUnit.Month, 0), (CalendarUnit.Month, -1) })
            {
                var start = CalendarPeriods.Start(unit, now, zone, shift);
                edges.Add(start);
                edges.Add(start.AddMilliseconds(-1));
            }
        }
    }

    public DateTime Now { get; }

    public IReadOnlyList<string> Tenants { get; }

    public IReadOnlyList<DateTime> WindowInstants { get; }

    public List<TestEvent> Events { get; } = [];

    public List<TestProfileUpdate> Updates { get; } = [];

    public Dictionary<string, SegmentDefinition> Saved { get; } = new(StringComparer.Ordinal);

    public TenantCatalog Catalog => new(
        Metrics.ToDictionary(m => m, _ => (IReadOnlyCollection<string>)EventProperties),
        ProfileProperties);

    public void GenerateData(int profilesPerTenant)
    {
        var ingested = Now.AddDays(1);
        foreach (var tenant in Tenants)
        {
            for (var p = 0; p < profilesPerTenant; p++)
            {
                var profile = "u" + p.ToString(CultureInfo.InvariantCulture);
                for (var i = random.Next(0, 7); i > 0; i--)
                {
                    var properties = new Dictionary<string, string>(StringComparer.Ordinal);
                    foreach (var name in EventProperties.Where(_ => random.Next(3) > 0))
                    {
                        properties[name] = name == "when" ? DateValue() : AnyValue();
                    }

                    double? value = random.Next(4) == 0 ? null : random.Next(-4, 21) / 2.0;
                    ingested = ingested.AddMilliseconds(1);
                    Events.Add(new TestEvent(tenant, Pick(Metrics), profile, Pick(edges), value, properties) { IngestedAt = ingested });
                }

                for (var i = random.Next(0, 4); i > 0; i--)
                {
                    var properties = new Dictionary<string, string>(StringComparer.Ordinal);
                    foreach (var name in ProfileProperties.Where(n => n != "nickname" && random.Next(2) == 0))
                    {
                        properties[name] = random.Next(7) == 0 ? string.Empty : name switch
                        {
                            "birthday" or "signup" => DateValue(),
                            "vip" => random.Next(2) == 0 ? "btrue" : "bfalse",
                            _ => AnyValue(),
                        };
                    }

                    ingested = ingested.AddMilliseconds(1);
                    Updates.Add(new TestProfileUpdate(tenant, profile, Pick(edges), ingested, properties));
                }

                ingested = GenerateListChanges(tenant, profile, ingested);
            }
        }
    }

    public void GenerateSavedSegments(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Saved["s" + i.ToString(CultureInfo.InvariantCulture)] = new SegmentDefinition($"saved {i}", null, Condition(0, allowedReferences: i));
        }
    }

    public SegmentDefinition Definition() => new("random", null, Condition(0, Saved.Count));

    public static byte[] EventRows(IEnumerable<TestEvent> events) => Rows(events, (writer, e) =>
    {
        writer.WriteString("tenant", e.Tenant);
        writer.WriteString("metric", e.Metric);
        writer.WriteString("profile_id", e.ProfileId);
        writer.WriteString("ts", e.Ts.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture));
        if (e.Value is { } value)
        {
            writer.WriteNumber("value", value);
        }
        else
        {
            writer.WriteNull("value");
        }

        WriteMap(writer, e.Properties);
        if (e.IngestedAt is { } ingestedAt)
        {
            writer.WriteString("ingested_at", ingestedAt.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture));
        }
    });

    public static byte[] UpdateRows(IEnumerable<TestProfileUpdate> updates) => Rows(updates, (writer, u) =>
    {
        writer.WriteString("tenant", u.Tenant);
        writer.WriteString("profile_id", u.ProfileId);
        writer.WriteString("updated_at", u.UpdatedAt.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture));
        writer.WriteString("ingested_at", u.IngestedAt.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture));
        WriteMap(writer, u.Properties);
    });

    private static void WriteMap(Utf8JsonWriter writer, IReadOnlyDictionary<string, string> properties)
    {
        writer.WriteStartObject("properties");
        foreach (var (key, value) in properties)
        {
            writer.WriteString(key, value);
        }

        writer.WriteEndObject();
    }

    private static byte[] Rows<T>(IEnumerable<T> rows, Action<Utf8JsonWriter, T> write)
    {
        var buffer = new MemoryStream();
        foreach (var row in rows)
        {
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                write(writer, row);
                writer.WriteEndObject();
            }

            buffer.WriteByte((byte)'\n');
        }

        return buffer.ToArray();
    }

    private Condition Condition(int depth, int allowedReferences)
    {
        var roll = random.Next(100);
        if (depth < 3 && roll < 35)
        {
            var items = Enumerable.Range(0, random.Next(1, 4)).Select(_ => Condition(depth + 1, allowedReferences)).ToList();
            return roll < 15 ? new AllCondition(items) : roll < 27 ? new AnyCondition(items) : new NotCondition(items[0]);
        }

        roll = random.Next(100);
        if (roll < 8 && allowedReferences > 0)
        {
            return new SegmentReferenceCondition("s" + random.Next(allowedReferences).ToString(CultureInfo.InvariantCulture), random.Next(3) > 0);
        }

        return roll < 40 ? new PropertyCondition(Filter(Pick(ProfileProperties), isEventValue: false)) : roll < 70 ? Event() : Behavioural();
    }

    private EventCondition Event()
    {
        var where = Where();
        var window = Window();
        var measureKind = (MeasureKind)random.Next(6);
        var measure = measureKind == MeasureKind.Count || random.Next(5) == 0
            ? Measure.Count
            : new Measure(measureKind, Pick([PropertyFilter.ValueProperty, PropertyFilter.ValueProperty, "amount", "plan", "when"]));
        var op = (Comparison)random.Next(6);
        var value = measure.Kind == MeasureKind.Count && random.Next(3) == 0 ? Pick([0.0, 1.0]) : random.Next(-2, 9) / 2.0;
        return new EventCondition(Pick(Metrics), where, window, measure, op, value);
    }

    private Window? Window() => random.Next(9) switch
    {
        0 => null,
        1 => new LastDaysWindow(Pick([1, 3, 5, 7, 30])),
        2 => new LastHoursWindow(Pick([1, 6, 24])),
        3 => Pick<Window>([new BetweenDaysAgoWindow(0, 1), new BetweenDaysAgoWindow(3, 5), new BetweenDaysAgoWindow(1, 7)]),
        4 => new SinceWindow(Pick(WindowInstants)),
        5 => new BeforeWindow(Pick(WindowInstants)),
        6 => new FromToWindow(WindowInstants[0], WindowInstants[random.Next(1, 3)]),
        7 => random.Next(2) == 0
            ? new ThisPeriodWindow((CalendarUnit)random.Next(5), Pick<string?>(TimeZones))
            : new PreviousPeriodsWindow((CalendarUnit)random.Next(5), Pick([1, 1, 2, 3]), Pick<string?>(TimeZones)),
        _ => new LastDaysWindow(Pick([3, 10])),
    };

    private List<PropertyFilter> Where() =>
        [.. Enumerable.Range(0, random.Next(0, 3))
            .Select(_ => random.Next(4) == 0 ? Filter(PropertyFilter.ValueProperty, isEventValue: true) : Filter(Pick(EventProperties), isEventValue: false))];

    private PropertyFilter Filter(string name, bool isEventValue)
    {
        var operators = Enum.GetValues<FilterOperator>()
            .Where(op => !isEventValue || !(op.IsTextOperator() || op.IsDateOperator()))
            .ToArray();
        var op = Pick(operators);
        IReadOnlyList<Scalar> values = op switch
        {
            FilterOperator.IsSet or FilterOperator.IsNotSet => [],
            FilterOperator.Eq or FilterOperator.Neq => [Scalar(isEventValue)],
            FilterOperator.In or FilterOperator.NotIn => [.. Enumerable.Range(0, random.Next(1, 5)).Select(_ => Scalar(isEventValue))],
            FilterOperator.Contains or FilterOperator.NotContains or FilterOperator.StartsWith or FilterOperator.EndsWith =>
                [new StringScalar(Pick(["o", "Bo", "", "n", "pro", "0", "2024", "x", "BO", "É"]))],
            FilterOperator.Gt or FilterOperator.Gte or FilterOperator.Lt or FilterOperator.Lte => [new NumberScalar(Pick(Numbers))],
            FilterOperator.Between => BetweenValues(),
            FilterOperator.Before or FilterOperator.After =>
                [new StringScalar(random.Next(2) == 0 ? IsoTime.Format(Pick(edges)) : Pick(["2024-02-29", "1970-01-01", "1950-06-15T10:00:00Z", "2023-02-28"]))],
            _ => [new NumberScalar(Pick(DayCounts))],
        };
        var ignoreCase = op.ComparesText() && !isEventValue && random.Next(3) == 0;
        return new PropertyFilter(name, op, values, ignoreCase, op == FilterOperator.AnniversaryInNextDays ? Pick<string?>(TimeZones) : null);
    }

    private NumberScalar[] BetweenValues()
    {
        var a = Pick(Numbers);
        var b = Pick(Numbers);
        return [new NumberScalar(Math.Min(a, b)), new NumberScalar(Math.Max(a, b))];
    }

    private Scalar Scalar(bool numbersOnly) => numbersOnly ? new NumberScalar(Pick(Numbers)) : random.Next(3) switch
    {
        0 => new StringScalar(Pick(Strings)),
        1 => new NumberScalar(Pick(Numbers)),
        _ => random.Next(3) == 0 ? new BoolScalar(random.Next(2) == 0) : new StringScalar(Pick(Strings)),
    };

    private string AnyValue() => random.Next(5) switch
    {
        0 => "s" + Pick(Strings),
        1 => "n" + Pick(["5", "-2.5", "10", "0", "3.5", "100", "1e1", "1"]),
        2 => "s" + Pick(["7", "10", "-2.5", "007", "5", "1e1"]),
        3 => random.Next(2) == 0 ? "btrue" : "bfalse",
        _ => DateValue(),
    };

    private string DateValue()
    {
        switch (random.Next(4))
        {
            case 0:
                return "s" + Pick(FixedDates);
            case 1:
                return "s" + IsoTime.Format(Pick(edges).AddDays(random.Next(0, 12)));
            default:
                // Birthdays near today: month and day close to now's, any year, leap days included.
                var day = Now.Date.AddDays(random.Next(-2, 12));
                var year = Pick([1904, 1950, 1969, 1996, 2001, 2023]);
                var text = day.Month == 2 && day.Day == 29 && !DateTime.IsLeapYear(year) ? $"{year}-02-28" : $"{year:D4}-{day.Month:D2}-{day.Day:D2}";
                // Some written with a time whose offset moves the UTC day across the anniversary window's edges.
                var suffix = random.Next(4) switch { 0 => "T23:30:00-05:00", 1 => "T01:15:00+09:00", _ => string.Empty };
                return "s" + (random.Next(3) == 0 ? "1996-02-29" : text) + suffix;
        }
    }

    private T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private string Pick(IReadOnlyList<string> items) => items[random.Next(items.Count)];
}
