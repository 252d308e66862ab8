using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Core.Sql;

/// <summary>
/// One property value as SQL can see it: a tagged text value (a trait or an event property: 's'/'n'/'b' + text,
/// '' when not set) or the event's Nullable(Float64) <c>value</c> column.
/// </summary>
internal abstract class ValueSql
{
    /// <summary>Non-null UInt8: the value is set.</summary>
    public abstract SqlFragment IsSet { get; }

    /// <summary>Nullable(Float64): the number for JSON numbers and numeric strings, NULL for anything else.</summary>
    public abstract SqlFragment Number { get; }

    /// <summary>String: the text of any tag (only meaningful when set).</summary>
    public abstract SqlFragment Text { get; }

    /// <summary>String: the whole tagged value (for bool equality).</summary>
    public abstract SqlFragment Tagged { get; }

    /// <summary>Nullable(DateTime64(3, 'UTC')): the instant for ISO-8601 date strings, NULL otherwise.</summary>
    public abstract SqlFragment Date { get; }
}

internal sealed class TaggedValueSql(SqlFragment value) : ValueSql
{
    // Numbers: JSON numbers (tag n) and strings (tag s) of the same shape; booleans never.
    private static readonly SqlFragment NumberPattern = Sql.Of($"'^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'");

    // IsoTime.SqlPattern (a test holds them equal), checked before parsing so best-effort parsing cannot accept
    // non-ISO text.
    private static readonly SqlFragment DatePattern = Sql.Of($"'^s(19|2[0-2])[0-9]{{2}}-[0-9]{{2}}-[0-9]{{2}}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'");

    public override SqlFragment IsSet => Sql.Of($"({value} != '')");

    public override SqlFragment Number => Sql.Of($"toFloat64OrNull(if(match({value}, {NumberPattern}), substring({value}, 2), ''))");

    public override SqlFragment Text => Sql.Of($"substring({value}, 2)");

    /// <summary>
    /// UInt8: the value has the shape <see cref="ValueSql.Number"/> or <see cref="ValueSql.Date"/> reads, without
    /// reading it; a cheap test for whether a property holds any value of a kind (a shape that fails to read, a
    /// 13th month, counts as one, so the test never says "none" when there is one).
    /// </summary>
    public SqlFragment HasShape(ValueKind kind) => Sql.Of($"match({value}, {(kind == ValueKind.Number ? NumberPattern : DatePattern)})");

    public override SqlFragment Tagged => value;

    // The grammar's spellings that best-effort parsing may not read as ISO are made canonical first: t and z
    // upper-cased, a comma fraction written with a point, a bare ±hh zone as ±hh:00. Only on the range's first and
    // last day can an offset carry the instant out of 1900–2299; there (short-circuit evaluation keeps it to those
    // rows) the instant is checked too, so SQL and IsoTime agree on every text. The check compares years, not
    // DateTime64 constants: a folded pre-1970 DateTime64 constant does not survive the trip to a cluster's shards.
    public override SqlFragment Date
    {
        get
        {
            var parsed = Sql.Of(
                $"parseDateTime64BestEffortOrNull(if(match({value}, {DatePattern}), replaceRegexpOne(replaceOne(upper(substring({value}, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{{2}})$', '\\\\1:00'), ''), 3, 'UTC')");
            return Sql.Of(
                $"if(startsWith({value}, 's1900-01-01') OR startsWith({value}, 's2299-12-31'), if(toYear({parsed}) BETWEEN 1900 AND 2299, {parsed}, NULL), {parsed})");
        }
    }
}

/// <summary>A Nullable(Float64) number: the event's <c>value</c> column, or an expression of that type.</summary>
internal sealed class EventValueSql(SqlFragment value) : ValueSql
{
    public static EventValueSql Instance { get; } = new(Sql.Of($"value"));

    public override SqlFragment IsSet => Sql.Of($"isNotNull({value})");

    public override SqlFragment Number => value;

    public override SqlFragment Text => throw new InvalidOperationException("$value has no text form (validation rejects text operators on it).");

    public override SqlFragment Tagged => throw new InvalidOperationException("$value has no tagged form.");

    public override SqlFragment Date => throw new InvalidOperationException("$value is not a date (validation rejects date operators on it).");
}

/// <summary>Writes a filter as a non-null UInt8 predicate, so NOT and OR above it behave as two-valued logic.</summary>
internal static class FilterSql
{
    public const string DateTimeType = ClickHouseTime.Milliseconds;

    public static SqlFragment Predicate(PropertyFilter filter, ValueSql v, SqlFragment now, DateTime nowValue)
    {
        switch (filter.Op)
        {
            case FilterOperator.Eq:
                return Equal(filter.Single, v, filter.IgnoreCase);
            case FilterOperator.Neq:
                return Sql.Of($"({v.IsSet} AND NOT {Equal(filter.Single, v, filter.IgnoreCase)})");
            case FilterOperator.In:
                return In(filter.Values, v, filter.IgnoreCase);
            case FilterOperator.NotIn:
                return Sql.Of($"({v.IsSet} AND NOT {In(filter.Values, v, filter.IgnoreCase)})");
            case FilterOperator.Contains:
                return Sql.Of($"({v.IsSet} AND position({Text(v, filter)}, {Text(filter)}) > 0)");
            case FilterOperator.NotContains:
                return Sql.Of($"({v.IsSet} AND position({Text(v, filter)}, {Text(filter)}) = 0)");
            case FilterOperator.StartsWith:
                return Sql.Of($"({v.IsSet} AND startsWith({Text(v, filter)}, {Text(filter)}))");
            case FilterOperator.EndsWith:
                return Sql.Of($"({v.IsSet} AND endsWith({Text(v, filter)}, {Text(filter)}))");
            case FilterOperator.Gt:
                return Sql.Of($"ifNull({v.Number} > {Number(filter.Single)}, 0)");
            case FilterOperator.Gte:
                return Sql.Of($"ifNull({v.Number} >= {Number(filter.Single)}, 0)");
            case FilterOperator.Lt:
                return Sql.Of($"ifNull({v.Number} < {Number(filter.Single)}, 0)");
            case FilterOperator.Lte:
                return Sql.Of($"ifNull({v.Number} <= {Number(filter.Single)}, 0)");
            case FilterOperator.Between:
                return Sql.Of($"ifNull({v.Number} BETWEEN {Number(filter.Values[0])} AND {Number(filter.Values[1])}, 0)");
            case FilterOperator.IsSet:
                return v.IsSet;
            case FilterOperator.IsNotSet:
                return Sql.Of($"NOT {v.IsSet}");
            case FilterOperator.Before:
                return Sql.Of($"ifNull({v.Date} < {Sql.Param(DateTimeType, filter.Instant)}, 0)");
            case FilterOperator.After:
                return Sql.Of($"ifNull({v.Date} > {Sql.Param(DateTimeType, filter.Instant)}, 0)");
            case FilterOperator.InLastDays:
                return Sql.Of($"ifNull({v.Date} BETWEEN {Sql.Param(DateTimeType, nowValue.AddDays(-filter.Days))} AND {now}, 0)");
            case FilterOperator.MoreThanDaysAgo:
                return Sql.Of($"ifNull({v.Date} < {Sql.Param(DateTimeType, nowValue.AddDays(-filter.Days))}, 0)");
            case FilterOperator.InNextDays:
                return Sql.Of($"ifNull({v.Date} BETWEEN {now} AND {Sql.Param(DateTimeType, nowValue.AddDays(filter.Days))}, 0)");
            case FilterOperator.AnniversaryInNextDays:
                var date = v.Date;
                var codes = Sql.Param("Array(UInt16)", AnniversaryCodes(filter.Today(nowValue), filter.Days));
                return Sql.Of($"ifNull(has({codes}, toMonth({date}) * 100 + toDayOfMonth({date})), 0)");
            default:
                throw new InvalidOperationException($"Unknown operator {filter.Op}.");
        }
    }

    /// <summary>
    /// The month·100+day codes of the days from <paramref name="today"/> (<see cref="PropertyFilter.Today"/>) to
    /// today + <paramref name="days"/>. A 29 February anniversary falls on 28 February in non-leap years, so such a
    /// 28 February also stands for 229.
    /// </summary>
    public static long[] AnniversaryCodes(DateTime today, int days)
    {
        var codes = new SortedSet<long>();
        for (var offset = 0; offset <= days; offset++)
        {
            var day = today.Date.AddDays(offset);
            codes.Add((day.Month * 100) + day.Day);
            if (day.Month == 2 && day.Day == 28 && !DateTime.IsLeapYear(day.Year))
            {
                codes.Add(229);
            }
        }

        return [.. codes];
    }

    /// <summary>
    /// For <c>eq</c>/<c>in</c> on strings and booleans: the tagged texts the value can be (a string operand matches
    /// its text under any tag), as <c>column IN (…)</c> on the raw column, which a sort key on that column can seek to;
    /// for relative dates a range of the ISO text, for anniversaries a set of written month-days (no parsing). Implied by <see cref="Predicate"/>, never a replacement for it; null for every other filter.
    /// </summary>
    public static SqlFragment? KeyHint(PropertyFilter filter, SqlFragment column, DateTime now)
    {
        if (DateSpan(filter, now) is var (from, until))
        {
            // A date is 's' + an ISO text in 1900–2299, which sorts by its day; a day either side covers UTC offsets.
            return Sql.Of($"{column} >= {Sql.Param("String", from is { } f ? "s" + Day(f.AddDays(-1)) : "s1")} AND {column} < {Sql.Param("String", until is { } u ? "s" + Day(u.AddDays(2)) : "s3")}");
        }

        if (filter.Op == FilterOperator.AnniversaryInNextDays)
        {
            return WrittenMonthDayNear(column, AnniversaryCodes(filter.Today(now), filter.Days));
        }

        // A sort key holds the text as written: no range of it holds every case of a text.
        if (filter.Op is not (FilterOperator.Eq or FilterOperator.In) || filter.Values.Any(v => v is NumberScalar || (filter.IgnoreCase && v is StringScalar)))
        {
            return null;
        }

        var tagged = filter.Values
            .SelectMany(v => v switch
            {
                StringScalar s => new[] { "s" + s.Value, "n" + s.Value, "b" + s.Value },
                BoolScalar b => [b.Value ? "btrue" : "bfalse"],
                _ => [],
            })
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToArray();
        return Sql.Of($"{column} IN {Sql.Param("Array(String)", tagged)}");
    }

    /// <summary>
    /// Whether <see cref="KeyHint"/> is the whole test and not only implied by it: <c>eq</c>/<c>in</c> on strings and
    /// booleans, whose predicate compares the text under any tag, which the hint lists.
    /// </summary>
    public static bool KeyHintIsExact(PropertyFilter filter) =>
        filter.Op is FilterOperator.Eq or FilterOperator.In && filter.Values.Count > 0
        && filter.Values.All(v => v is BoolScalar || (v is StringScalar && !filter.IgnoreCase));

    /// <summary>
    /// A tagged value whose date's UTC month and day (<c>month * 100 + day</c>) can be one of <paramref name="codes"/>:
    /// a date is 's' + ISO text, so its written month and day are characters 7–11, and the UTC day an offset gives lies
    /// within a day of them, in the date's own year: a day either side in a leap year and in a common one (where
    /// 28 February's next day is 1 March). A cheap string test that lets only those rows reach the date parsing;
    /// implied by any test of the parsed date's month and day, never a replacement for it.
    /// </summary>
    internal static SqlFragment WrittenMonthDayNear(SqlFragment column, IEnumerable<long> codes)
    {
        var monthDays = codes
            .SelectMany(code => new[] { 2000, 2001 }
                .Where(year => DateTime.DaysInMonth(year, (int)(code / 100)) >= code % 100)
                .SelectMany(year => new[] { -1, 0, 1 }.Select(shift => new DateTime(year, (int)(code / 100), (int)(code % 100), 0, 0, 0, DateTimeKind.Utc).AddDays(shift))))
            .Select(day => day.ToString("MM-dd", System.Globalization.CultureInfo.InvariantCulture))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToArray();
        return Sql.Of($"substring({column}, 7, 5) IN {Sql.Param("Array(String)", monthDays)}");
    }

    /// <summary>The instants a date operator accepts (null: unbounded that side), or null for other operators.</summary>
    private static (DateTime? From, DateTime? Until)? DateSpan(PropertyFilter filter, DateTime now) => filter.Op switch
    {
        FilterOperator.InLastDays => (now.AddDays(-filter.Days), now),
        FilterOperator.InNextDays => (now, now.AddDays(filter.Days)),
        FilterOperator.MoreThanDaysAgo => (null, now.AddDays(-filter.Days)),
        FilterOperator.Before => (null, filter.Instant),
        FilterOperator.After => (filter.Instant, null),
        _ => null,
    };

    private static string Day(DateTime t) => t.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    private static SqlFragment Equal(Scalar operand, ValueSql v, bool ignoreCase) => operand switch
    {
        StringScalar s when ignoreCase => Sql.Of($"({v.IsSet} AND lowerUTF8({v.Text}) = lowerUTF8({Sql.Param("String", s.Value)}))"),
        StringScalar s => Sql.Of($"({v.IsSet} AND {v.Text} = {Sql.Param("String", s.Value)})"),
        NumberScalar n => Sql.Of($"ifNull({v.Number} = {Number(n)}, 0)"),
        BoolScalar b => Sql.Of($"({v.Tagged} = {Sql.Param("String", b.Value ? "btrue" : "bfalse")})"),
        _ => throw new InvalidOperationException("Unknown scalar."),
    };

    private static SqlFragment In(IReadOnlyList<Scalar> values, ValueSql v, bool ignoreCase)
    {
        var alternatives = new List<SqlFragment>();
        var strings = values.OfType<StringScalar>().Select(s => s.Value).Distinct(StringComparer.Ordinal).ToArray();
        if (strings.Length > 0)
        {
            var list = Sql.Param("Array(String)", strings);
            alternatives.Add(ignoreCase
                ? Sql.Of($"({v.IsSet} AND has(arrayMap(x -> lowerUTF8(x), {list}), lowerUTF8({v.Text})))")
                : Sql.Of($"({v.IsSet} AND has({list}, {v.Text}))"));
        }

        var numbers = values.OfType<NumberScalar>().Select(n => n.Value).Distinct().ToArray();
        if (numbers.Length > 0)
        {
            alternatives.Add(Sql.Of($"ifNull(has({Sql.Param("Array(Float64)", numbers)}, {v.Number}), 0)"));
        }

        var bools = values.OfType<BoolScalar>().Select(b => b.Value ? "btrue" : "bfalse").Distinct(StringComparer.Ordinal).ToArray();
        if (bools.Length > 0)
        {
            alternatives.Add(Sql.Of($"has({Sql.Param("Array(String)", bools)}, {v.Tagged})"));
        }

        return Sql.Or(alternatives);
    }

    /// <summary>The operand of a text operator, lower-cased by the engine under <c>ignore_case</c>.</summary>
    private static SqlFragment Text(PropertyFilter filter)
    {
        var operand = Sql.Param("String", ((StringScalar)filter.Single).Value);
        return filter.IgnoreCase ? Sql.Of($"lowerUTF8({operand})") : operand;
    }

    /// <summary>The value's text, lower-cased like the operand under <c>ignore_case</c>.</summary>
    private static SqlFragment Text(ValueSql v, PropertyFilter filter) => filter.IgnoreCase ? Sql.Of($"lowerUTF8({v.Text})") : v.Text;

    private static SqlFragment Number(Scalar scalar) => Sql.Param("Float64", ((NumberScalar)scalar).Value);
}

/// <summary>
/// A value of the current-value table: its date and number readings are columns computed once when the row is
/// written (<see cref="Definitions"/>, the same expressions as <see cref="TaggedValueSql"/>), not parsed per query.
/// </summary>
internal sealed class CurrentValueSql : ValueSql
{
    private static readonly TaggedValueSql Value = new(Sql.Of($"value"));

    public static CurrentValueSql Instance { get; } = new();

    /// <summary>The ALTER TABLE commands adding the typed columns (MATERIALIZED: filled on insert and by merges).</summary>
    public static SqlFragment Definitions { get; } = Sql.Of(
        $"ADD COLUMN IF NOT EXISTS date_value Nullable(DateTime64(3, 'UTC')) MATERIALIZED {Value.Date}, ADD COLUMN IF NOT EXISTS number_value Nullable(Float64) MATERIALIZED {Value.Number}");

    public override SqlFragment IsSet => Value.IsSet;

    public override SqlFragment Number => Sql.Of($"number_value");

    public override SqlFragment Text => Value.Text;

    public override SqlFragment Tagged => Value.Tagged;

    public override SqlFragment Date => Sql.Of($"date_value");
}
