using System.Collections.Frozen;

namespace SegmentMcp.Core.Dsl;

/// <summary>The JSON spelling of every keyword of the language, in one place for the parser, writer, schema and read-back.</summary>
public static class DslNames
{
    public static readonly IReadOnlyList<string> ConditionKinds =
    [
        "all", "any", "not", "property", "event", "segment",
        "first_time", "sequence", "stopped", "restarted", "regularly", "last_event", "random_bucket", "in_list",
    ];

    /// <summary>The period names of <c>regularly</c>, in <see cref="Period"/> order.</summary>
    public static readonly IReadOnlyList<string> Periods = ["day", "week", "month"];

    public static readonly IReadOnlyList<string> WindowKinds = ["last_days", "last_hours", "between_days_ago", "since", "before", "from", "to", "this", "previous", "periods", "time_zone"];

    /// <summary>The calendar periods of the <c>this</c> and <c>previous</c> windows, in <see cref="CalendarUnit"/> order.</summary>
    public static readonly IReadOnlyList<string> CalendarUnits = ["day", "week", "month", "quarter", "year"];

    public static readonly IReadOnlyList<string> MeasureKinds = ["count", "sum", "avg", "min", "max", "distinct"];

    private static readonly FrozenDictionary<FilterOperator, string> OperatorNames = new Dictionary<FilterOperator, string>
    {
        [FilterOperator.Eq] = "eq",
        [FilterOperator.Neq] = "neq",
        [FilterOperator.In] = "in",
        [FilterOperator.NotIn] = "not_in",
        [FilterOperator.Contains] = "contains",
        [FilterOperator.NotContains] = "not_contains",
        [FilterOperator.StartsWith] = "starts_with",
        [FilterOperator.EndsWith] = "ends_with",
        [FilterOperator.Gt] = "gt",
        [FilterOperator.Gte] = "gte",
        [FilterOperator.Lt] = "lt",
        [FilterOperator.Lte] = "lte",
        [FilterOperator.Between] = "between",
        [FilterOperator.IsSet] = "is_set",
        [FilterOperator.IsNotSet] = "is_not_set",
        [FilterOperator.Before] = "before",
        [FilterOperator.After] = "after",
        [FilterOperator.InLastDays] = "in_last_days",
        [FilterOperator.MoreThanDaysAgo] = "more_than_days_ago",
        [FilterOperator.InNextDays] = "in_next_days",
        [FilterOperator.AnniversaryInNextDays] = "anniversary_in_next_days",
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<string, FilterOperator> OperatorsByName =
        OperatorNames.ToFrozenDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal);

    private static readonly FrozenDictionary<Comparison, string> ComparisonNames = new Dictionary<Comparison, string>
    {
        [Comparison.Eq] = "eq",
        [Comparison.Neq] = "neq",
        [Comparison.Gt] = "gt",
        [Comparison.Gte] = "gte",
        [Comparison.Lt] = "lt",
        [Comparison.Lte] = "lte",
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<string, Comparison> ComparisonsByName =
        ComparisonNames.ToFrozenDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal);

    public static IReadOnlyList<string> FilterOperators { get; } = [.. OperatorNames.OrderBy(p => p.Key).Select(p => p.Value)];

    public static IReadOnlyList<string> Comparisons { get; } = [.. ComparisonNames.OrderBy(p => p.Key).Select(p => p.Value)];

    public static string Name(this FilterOperator op) => OperatorNames[op];

    /// <summary>
    /// The operator a symbol or a spelled-out word usually means (">=", "at_least", "equals", "exists"): edit distance
    /// finds "gt" for ">=" no better than "eq", so these get the one right answer.
    /// </summary>
    private static readonly FrozenDictionary<string, string> OperatorSynonyms = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["="] = "eq", ["=="] = "eq", ["==="] = "eq", ["is"] = "eq", ["equals"] = "eq", ["equal"] = "eq", ["equal_to"] = "eq",
        ["!="] = "neq", ["!=="] = "neq", ["<>"] = "neq", ["ne"] = "neq", ["not_equals"] = "neq", ["not_equal"] = "neq", ["is_not"] = "neq",
        [">"] = "gt", ["greater_than"] = "gt", ["more_than"] = "gt",
        [">="] = "gte", ["=>"] = "gte", ["ge"] = "gte", ["at_least"] = "gte", ["greater_than_or_equal"] = "gte",
        ["<"] = "lt", ["less_than"] = "lt", ["fewer_than"] = "lt",
        ["<="] = "lte", ["=<"] = "lte", ["le"] = "lte", ["at_most"] = "lte", ["less_than_or_equal"] = "lte",
        ["exists"] = "is_set", ["is_present"] = "is_set", ["not_exists"] = "is_not_set", ["is_null"] = "is_not_set", ["is_empty"] = "is_not_set",
        ["nin"] = "not_in", ["includes"] = "contains", ["like"] = "contains", ["startswith"] = "starts_with", ["endswith"] = "ends_with",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Case-insensitive operators of other languages (Django's "iexact", "icontains"; SQL's "ilike") and the filter
    /// operator each is with <c>"ignore_case": true</c>.
    /// </summary>
    private static readonly FrozenDictionary<string, string> IgnoreCaseOperators = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["ieq"] = "eq", ["iexact"] = "eq", ["iequals"] = "eq", ["equals_ignore_case"] = "eq", ["eq_ignore_case"] = "eq", ["eq_ci"] = "eq", ["equalsignorecase"] = "eq",
        ["ineq"] = "neq", ["ine"] = "neq", ["neq_ignore_case"] = "neq",
        ["iin"] = "in", ["in_ignore_case"] = "in",
        ["icontains"] = "contains", ["ilike"] = "contains", ["contains_ignore_case"] = "contains", ["contains_ci"] = "contains",
        ["not_icontains"] = "not_contains", ["not_ilike"] = "not_contains", ["inotcontains"] = "not_contains",
        ["istartswith"] = "starts_with", ["istarts_with"] = "starts_with", ["starts_with_ignore_case"] = "starts_with",
        ["iendswith"] = "ends_with", ["iends_with"] = "ends_with", ["ends_with_ignore_case"] = "ends_with",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// " Did you mean 'gte'?" for an unknown filter operator: a known synonym, a case-insensitive operator ("icontains":
    /// 'contains' with "ignore_case": true), else the closest names.
    /// </summary>
    public static string DidYouMeanFilterOperator(string name) =>
        IgnoreCaseOperators.TryGetValue(name.Trim().TrimStart('$'), out var meant)
            ? $" Did you mean '{meant}' with \"ignore_case\": true?"
            : DidYouMeanOperator(name, FilterOperators);

    /// <summary>" Did you mean 'gte'?" for a known synonym that is among <paramref name="operators"/>, else the closest names.</summary>
    public static string DidYouMeanOperator(string name, IReadOnlyList<string> operators) =>
        OperatorSynonyms.TryGetValue(name.Trim(), out var meant) && operators.Contains(meant)
            ? $" Did you mean '{meant}'?"
            : Suggestions.DidYouMean(name, operators);

    /// <summary>
    /// Condition keys from other query languages ("and", "$or", "trait", "metric") and the condition each means: the
    /// closest by edit distance would offer "any" for "and".
    /// </summary>
    private static readonly FrozenDictionary<string, string> ConditionSynonyms = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        ["and"] = "all", ["&&"] = "all", ["every"] = "all", ["all_of"] = "all", ["allof"] = "all", ["must"] = "all",
        ["or"] = "any", ["||"] = "any", ["either"] = "any", ["any_of"] = "any", ["anyof"] = "any", ["some"] = "any", ["should"] = "any",
        ["!"] = "not", ["negate"] = "not", ["must_not"] = "not", ["except"] = "not",
        ["properties"] = "property", ["profile"] = "property", ["profile_property"] = "property", ["user_property"] = "property",
        ["trait"] = "property", ["attribute"] = "property", ["field"] = "property",
        ["events"] = "event", ["metric"] = "event", ["behavior"] = "event", ["behaviour"] = "event", ["activity"] = "event", ["did"] = "event",
        ["in_segment"] = "segment", ["member_of"] = "segment", ["segment_membership"] = "segment", ["segment_ref"] = "segment",
        ["list"] = "in_list", ["static_list"] = "in_list", ["on_list"] = "in_list", ["list_membership"] = "in_list",
        ["first_event"] = "first_time", ["first"] = "first_time", ["funnel"] = "sequence", ["steps"] = "sequence",
        ["churned"] = "stopped", ["lapsed"] = "stopped", ["returned"] = "restarted", ["reactivated"] = "restarted",
        ["sample"] = "random_bucket", ["random"] = "random_bucket", ["holdout"] = "random_bucket", ["last"] = "last_event", ["latest_event"] = "last_event",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>The condition kind a key from another language means ("$and", "OR", "trait"), or null.</summary>
    public static string? ConditionMeant(string key)
    {
        var bare = key.Trim().TrimStart('$');
        return ConditionKinds.FirstOrDefault(kind => string.Equals(kind, bare, StringComparison.OrdinalIgnoreCase))
            ?? (ConditionSynonyms.TryGetValue(bare, out var meant) ? meant : null);
    }

    /// <summary>
    /// Field names other languages use for this one's ("property" or "key" for a filter's "name", "operator" for
    /// "op", "event" for "metric"), each with the field meant; used only when the field meant is allowed where it stands.
    /// </summary>
    private static readonly FrozenDictionary<string, string[]> FieldSynonyms = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase)
    {
        ["property"] = ["name"], ["key"] = ["name"], ["field"] = ["name"], ["attribute"] = ["name"], ["trait"] = ["name"], ["property_name"] = ["name"],
        ["operator"] = ["op"], ["comparison"] = ["op"], ["operation"] = ["op"], ["comparator"] = ["op"], ["cmp"] = ["op"],
        ["values"] = ["value"], ["val"] = ["value"], ["threshold"] = ["value"], ["amount"] = ["value"],
        ["event"] = ["metric"], ["event_name"] = ["metric"], ["event_type"] = ["metric"], ["name"] = ["metric"], ["type"] = ["metric"], ["action"] = ["metric"],
        ["filters"] = ["where"], ["filter"] = ["where"], ["conditions"] = ["where"], ["properties"] = ["where"],
        ["time_window"] = ["window"], ["timeframe"] = ["window"], ["time_range"] = ["window"], ["period"] = ["window"], ["range"] = ["window"],
        ["aggregation"] = ["measure"], ["aggregate"] = ["measure"], ["agg"] = ["measure"],
        ["segment_id"] = ["id"], ["list_id"] = ["id"],
        ["title"] = ["name"], ["label"] = ["name"], ["rule"] = ["condition"], ["rules"] = ["condition"], ["filter_definition"] = ["condition"], ["where_clause"] = ["condition"],
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>The allowed field a known synonym means ("key" for "name"), or null.</summary>
    public static string? FieldMeant(string name, IReadOnlyList<string> allowed) =>
        FieldSynonyms.TryGetValue(name.Trim(), out var fields) ? fields.FirstOrDefault(allowed.Contains) : null;

    /// <summary>" Did you mean 'name'?" for a known synonym allowed here, else the closest allowed names.</summary>
    public static string DidYouMeanField(string name, IReadOnlyList<string> allowed) =>
        FieldMeant(name, allowed) is { } meant ? $" Did you mean '{meant}'?" : Suggestions.DidYouMean(name, allowed);

    /// <summary>The comparison a name, symbol or word means ("gte", "$gte", ">=", "at_least"), or null.</summary>
    public static string? ComparisonMeant(string name)
    {
        var bare = name.Trim().TrimStart('$');
        return ComparisonsByName.ContainsKey(bare.ToLowerInvariant()) ? bare.ToLowerInvariant()
            : OperatorSynonyms.TryGetValue(bare, out var meant) && ComparisonsByName.ContainsKey(meant) ? meant
            : null;
    }

    public static string Name(this Comparison comparison) => ComparisonNames[comparison];

    public static string Name(this MeasureKind kind) => MeasureKinds[(int)kind];

    public static string Name(this Period period) => Periods[(int)period];

    public static string Name(this CalendarUnit unit) => CalendarUnits[(int)unit];

    public static bool TryParseCalendarUnit(string name, out CalendarUnit unit)
    {
        var index = CalendarUnits.ToList().IndexOf(name);
        unit = (CalendarUnit)Math.Max(index, 0);
        return index >= 0;
    }

    public static bool TryParseOperator(string name, out FilterOperator op) => OperatorsByName.TryGetValue(name, out op);

    public static bool TryParseComparison(string name, out Comparison comparison) => ComparisonsByName.TryGetValue(name, out comparison);

    public static bool TryParseMeasure(string name, out MeasureKind kind)
    {
        var index = MeasureKinds.ToList().IndexOf(name);
        kind = (MeasureKind)Math.Max(index, 0);
        return index >= 0;
    }

    /// <summary>The day-count operators (a non-negative integer operand).</summary>
    public static bool TakesDays(this FilterOperator op) =>
        op is FilterOperator.InLastDays or FilterOperator.MoreThanDaysAgo or FilterOperator.InNextDays or FilterOperator.AnniversaryInNextDays;

    /// <summary>Operators on dates (the value must parse as an ISO-8601 date or timestamp).</summary>
    public static bool IsDateOperator(this FilterOperator op) => op is FilterOperator.Before or FilterOperator.After || op.TakesDays();

    /// <summary>Operators that compare a string operand with the value's text, which <c>"ignore_case"</c> applies to.</summary>
    public static bool ComparesText(this FilterOperator op) =>
        op is FilterOperator.Eq or FilterOperator.Neq or FilterOperator.In or FilterOperator.NotIn || op.IsTextOperator();

    /// <summary>Operators on text (substring and prefix tests).</summary>
    public static bool IsTextOperator(this FilterOperator op) =>
        op is FilterOperator.Contains or FilterOperator.NotContains or FilterOperator.StartsWith or FilterOperator.EndsWith;
}
