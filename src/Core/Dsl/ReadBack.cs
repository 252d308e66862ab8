using System.Globalization;

namespace SegmentMcp.Core.Dsl;

/// <summary>
/// A deterministic English reading of a definition, for a person or a model to confirm what it says:
/// "Profiles who opened an email between 3 and 5 days ago, whose city is Boston, and who did not place an order in
/// the last 30 days". Metric names that start with a past-tense verb ("Opened Email") read as verbs; other metrics
/// read as "had an X event".
/// </summary>
public static partial class ReadBack
{
    private static readonly Dictionary<string, string> IrregularPast = new(StringComparer.OrdinalIgnoreCase)
    {
        ["sent"] = "send",
        ["bought"] = "buy",
        ["made"] = "make",
        ["got"] = "get",
        ["left"] = "leave",
        ["won"] = "win",
        ["paid"] = "pay",
        ["read"] = "read",
        ["saw"] = "see",
        ["gave"] = "give",
        ["took"] = "take",
        ["began"] = "begin",
        ["logged"] = "log",
        ["shipped"] = "ship",
        ["dropped"] = "drop",
        ["stopped"] = "stop",
    };

    // Verbs whose past tense drops a final e ("placed" → "place"); a regular "-ed" otherwise drops just "ed".
    private static readonly HashSet<string> SilentEStems = new(StringComparer.OrdinalIgnoreCase)
    {
        "plac", "purchas", "us", "sav", "shar", "lik", "subscrib", "unsubscrib", "complet", "creat", "updat", "activat",
        "deactivat", "chang", "clos", "receiv", "invit", "mov", "remov", "delet", "upgrad", "downgrad", "enabl", "disabl",
        "schedul", "configur", "issu", "paus", "releas", "rat", "typ", "brows", "scor", "archiv", "approv", "engag",
        "declin", "continu", "servic", "charg", "captur", "stor", "explor", "observ", "requir", "retir", "revok",
        "resolv", "manag", "messag", "pric", "generat", "validat", "authenticat", "verifi", "rac",
    };

    private static readonly HashSet<string> Particles = new(StringComparer.OrdinalIgnoreCase)
    {
        "up", "in", "out", "on", "off", "back", "down", "over", "away", "through", "to", "for", "with", "from", "into",
    };

    public static string Describe(SegmentDefinition definition, IReadOnlyDictionary<string, SegmentDefinition>? references = null) =>
        "Profiles " + Clause(definition.Condition, references, top: true);

    private static string Clause(Condition condition, IReadOnlyDictionary<string, SegmentDefinition>? references, bool top) => condition switch
    {
        AllCondition all when all.Items.Count == 1 => Clause(all.Items[0], references, top),
        AnyCondition any when any.Items.Count == 1 => Clause(any.Items[0], references, top),
        AllCondition all => Group(all.Items.Select(c => Clause(c, references, false)).ToList(), "and", top),
        AnyCondition any => Group(any.Items.Select(c => Clause(c, references, false)).ToList(), "or", top),
        NotCondition { Inner: EventCondition e } => EventClause(e, negated: true),
        NotCondition { Inner: SegmentReferenceCondition r } => SegmentClause(r with { Member = !r.Member }, references),
        NotCondition { Inner: InListCondition l } => $"who are not on list '{l.ListId}'",
        NotCondition not => "who do not match (" + Clause(not.Inner, references, top: true) + ")",
        PropertyCondition p => PropertyClause(p.Filter),
        EventCondition e => EventClause(e, negated: false),
        SegmentReferenceCondition r => SegmentClause(r, references),
        _ => BehaviouralClause(condition),
    };

    private static string Group(IReadOnlyList<string> items, string conjunction, bool top)
    {
        var text = items.Count == 2
            ? $"{items[0]} {conjunction} {items[1]}"
            : string.Join(", ", items.Take(items.Count - 1)) + $", {conjunction} {items[^1]}";
        return top ? text : $"({text})";
    }

    private static string SegmentClause(SegmentReferenceCondition reference, IReadOnlyDictionary<string, SegmentDefinition>? references)
    {
        var name = references is not null && references.TryGetValue(reference.SegmentId, out var referenced)
            ? $"\"{referenced.Name}\""
            : $"'{reference.SegmentId}'";
        return reference.Member ? $"who are in segment {name}" : $"who are not in segment {name}";
    }

    private static string PropertyClause(PropertyFilter filter) => filter.Op switch
    {
        FilterOperator.IsSet => $"who have {Article(filter.Name)} {filter.Name}",
        FilterOperator.IsNotSet => $"who have no {filter.Name}",
        FilterOperator.AnniversaryInNextDays => Zoned($"whose {filter.Name} anniversary is {InNextDays(filter.Days)}", filter.TimeZone),
        _ => $"whose {filter.Name} {Predicate(filter)}",
    };

    /// <summary>"is Boston", "contains ab", "is between 1 and 5", "is before 2024-01-01", "is boston (ignoring case)" …</summary>
    private static string Predicate(PropertyFilter filter) =>
        filter.IgnoreCase && filter.Values.Any(v => v is StringScalar) ? $"{CasePredicate(filter)} (ignoring case)" : CasePredicate(filter);

    private static string CasePredicate(PropertyFilter filter) => filter.Op switch
    {
        FilterOperator.Eq => $"is {Value(filter.Single)}",
        FilterOperator.Neq => $"is not {Value(filter.Single)}",
        FilterOperator.In => $"is one of {string.Join(", ", filter.Values.Select(Value))}",
        FilterOperator.NotIn => $"is none of {string.Join(", ", filter.Values.Select(Value))}",
        FilterOperator.Contains => $"contains {Value(filter.Single)}",
        FilterOperator.NotContains => $"does not contain {Value(filter.Single)}",
        FilterOperator.StartsWith => $"starts with {Value(filter.Single)}",
        FilterOperator.EndsWith => $"ends with {Value(filter.Single)}",
        FilterOperator.Gt => $"is greater than {Value(filter.Single)}",
        FilterOperator.Gte => $"is at least {Value(filter.Single)}",
        FilterOperator.Lt => $"is less than {Value(filter.Single)}",
        FilterOperator.Lte => $"is at most {Value(filter.Single)}",
        FilterOperator.Between => $"is between {Value(filter.Values[0])} and {Value(filter.Values[1])}",
        FilterOperator.IsSet => "is set",
        FilterOperator.IsNotSet => "is not set",
        FilterOperator.Before => $"is before {Value(filter.Single)}",
        FilterOperator.After => $"is after {Value(filter.Single)}",
        FilterOperator.InLastDays => $"is {InLastDays(filter.Days)}",
        FilterOperator.MoreThanDaysAgo => $"is more than {Days(filter.Days)} ago",
        FilterOperator.InNextDays => $"is {InNextDays(filter.Days)}",
        _ => Zoned($"has its anniversary {InNextDays(filter.Days)}", filter.TimeZone),
    };

    private static string EventClause(EventCondition e, bool negated)
    {
        var (verb, baseForm, rest) = Verb(e.Metric);
        var where = Where(e.Where);
        var window = e.Window is null ? string.Empty : " " + Window(e.Window);
        var (didNot, amount) = Amount(e);
        if (negated)
        {
            didNot = !didNot;
        }

        return didNot
            ? $"who did not {baseForm}{rest}{where}{amount}{window}"
            : $"who {verb}{rest}{where}{amount}{window}";
    }

    /// <summary>" where category is shoes and the value is more than 5", or nothing.</summary>
    private static string Where(IReadOnlyList<PropertyFilter> filters) => filters.Count == 0
        ? string.Empty
        : " where " + string.Join(" and ", filters.Select(f => $"{PropertyName(f)} {Predicate(f)}"));

    /// <summary>Whether the clause reads as "did not", and the measure phrase (" at least 3 times", " with a total amount of …").</summary>
    private static (bool DidNot, string Amount) Amount(EventCondition e)
    {
        var value = Number(e.Value);
        if (e.Measure.Kind == MeasureKind.Count)
        {
            var none = (e.Op == Comparison.Eq && e.Value == 0) || (e.Op == Comparison.Lt && e.Value == 1) || (e.Op == Comparison.Lte && e.Value == 0);
            var some = (e.Op == Comparison.Gte && e.Value == 1) || (e.Op == Comparison.Gt && e.Value == 0) || (e.Op == Comparison.Neq && e.Value == 0);
            if (none || some)
            {
                return (none, string.Empty);
            }

            var times = e.Value == 1 ? "time" : "times";
            return (false, $" {Comparative(e.Op)} {value} {times}");
        }

        var property = e.Measure.Property == PropertyFilter.ValueProperty ? "value" : e.Measure.Property;
        var phrase = e.Measure.Kind switch
        {
            MeasureKind.Sum => $"a total {property}",
            MeasureKind.Avg => $"an average {property}",
            MeasureKind.Min => $"a minimum {property}",
            MeasureKind.Max => $"a maximum {property}",
            _ => e.Measure.Property == PropertyFilter.ValueProperty ? "a number of distinct values" : $"a number of distinct {property} values",
        };
        return (false, $" with {phrase} {Comparative(e.Op)} {value}");
    }

    private static string Comparative(Comparison op) => op switch
    {
        Comparison.Eq => "of exactly",
        Comparison.Neq => "other than",
        Comparison.Gt => "more than",
        Comparison.Gte => "at least",
        Comparison.Lt => "fewer than",
        _ => "at most",
    };

    private static string Window(Window window) => window switch
    {
        LastDaysWindow w => w.Days == 1 ? "in the last day" : $"in the last {w.Days.ToString(CultureInfo.InvariantCulture)} days",
        LastHoursWindow w => w.Hours == 1 ? "in the last hour" : $"in the last {w.Hours.ToString(CultureInfo.InvariantCulture)} hours",
        BetweenDaysAgoWindow w => w.FromDaysAgo == 0
            ? $"in the last {Days(w.ToDaysAgo)}"
            : $"between {w.FromDaysAgo.ToString(CultureInfo.InvariantCulture)} and {w.ToDaysAgo.ToString(CultureInfo.InvariantCulture)} days ago",
        SinceWindow w => $"since {Instant(w.Since)}",
        BeforeWindow w => $"before {Instant(w.Before)}",
        FromToWindow w => $"from {Instant(w.From)} until {Instant(w.To)}",
        ThisPeriodWindow w => Zoned(w.Unit == CalendarUnit.Day ? "today" : $"this {w.Unit.Name()}", w.TimeZone),
        PreviousPeriodsWindow w => Zoned(
            w switch
            {
                { Unit: CalendarUnit.Day, Periods: 1 } => "yesterday",
                { Periods: 1 } => $"last {w.Unit.Name()}",
                _ => $"in the previous {w.Periods.ToString(CultureInfo.InvariantCulture)} calendar {w.Unit.Name()}s",
            },
            w.TimeZone),
        _ => string.Empty,
    };

    /// <summary>"last month (America/New_York time)": a calendar window in a time zone other than UTC names it.</summary>
    private static string Zoned(string text, string? timeZone) => timeZone is null ? text : $"{text} ({timeZone} time)";

    /// <summary>
    /// "opened", "open", " an email" from "Opened Email"; "purchased", "purchase", "" from "Purchased"; "had", "have",
    /// " a Page View event" for names that do not start with a past-tense verb.
    /// </summary>
    private static (string Verb, string BaseForm, string Object) Verb(string metric)
    {
        var words = metric.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var first = words.Length > 0 ? words[0].ToLowerInvariant() : string.Empty;
        string? baseForm = null;
        if (IrregularPast.TryGetValue(first, out var irregular))
        {
            baseForm = irregular;
        }
        else if (first.Length > 3 && first.EndsWith("ied", StringComparison.Ordinal))
        {
            baseForm = first[..^3] + "y";
        }
        else if (first.Length > 3 && first.EndsWith("ed", StringComparison.Ordinal) && !first.EndsWith("eed", StringComparison.Ordinal))
        {
            // "Feed", "Speed": a noun, not a past tense.
            var stem = first[..^2];
            baseForm = SilentEStems.Contains(stem) ? stem + "e" : stem;
        }

        if (baseForm is null)
        {
            // "who had a Page View event", "who did not have an Active on Site event": the name stays as it is.
            var noun = words.Length > 0 && words[^1].Equals("event", StringComparison.OrdinalIgnoreCase) ? metric : $"{metric} event";
            return ("had", "have", $" {Article(noun)} {noun}");
        }

        if (words.Length < 2)
        {
            return (first, baseForm, string.Empty);
        }

        var rest = string.Join(' ', words.Skip(1)).ToLowerInvariant();
        if (Particles.Contains(words[1]))
        {
            return (first, baseForm, $" {rest}"); // "signed up", "logged in": a phrasal verb takes no article.
        }

        return (first, baseForm, $" {Article(rest)} {rest}");
    }

    private static string Article(string noun) => noun.Length > 0 && "aeiouAEIOU".Contains(noun[0], StringComparison.Ordinal) ? "an" : "a";

    private static string PropertyName(PropertyFilter filter) => filter.IsEventValue ? "the value" : filter.Name;

    private static string InLastDays(int days) => days == 0 ? "now" : $"in the last {Days(days)}";

    private static string InNextDays(int days) => days == 0 ? "today" : $"in the next {Days(days)}";

    private static string Days(int days) => days == 1 ? "day" : $"{days.ToString(CultureInfo.InvariantCulture)} days";

    private static string Value(Scalar scalar) => scalar switch
    {
        StringScalar s => s.Value,
        NumberScalar n => Number(n.Value),
        BoolScalar b => b.Value ? "true" : "false",
        _ => string.Empty,
    };

    private static string Number(double value) => value.ToString("0.############", CultureInfo.InvariantCulture);

    private static string Instant(DateTime utc) =>
        utc.TimeOfDay == TimeSpan.Zero
            ? utc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
            : utc.ToString(utc.Millisecond == 0 ? "yyyy-MM-dd HH:mm:ss 'UTC'" : "yyyy-MM-dd HH:mm:ss.fff 'UTC'", CultureInfo.InvariantCulture);
}
