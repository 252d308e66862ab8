using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

public sealed partial class SchemaDescriber
{
    /// <summary>
    /// Most frequent values reported with their counts when one property or metric is described: enough for a city,
    /// a plan or a category to be looked up rather than guessed; a column of ids is summed up by its distinct count.
    /// </summary>
    public const int TopValueCount = 50;

    /// <summary>
    /// Groups of texts differing only in case ("Boston", "BOSTON", "boston") reported when one property or metric is
    /// described, the largest first, each with its most frequent spellings: enough to tell a model that a filter on one
    /// spelling misses the others, and that "ignore_case" is the answer.
    /// </summary>
    public const int CaseVariantGroupCount = 10;

    /// <summary>Spellings listed per group of <see cref="CaseVariantGroupCount"/>.</summary>
    public const int CaseVariantsPerGroup = 5;

    /// <summary>The property as described alone: its distinct values, the most frequent with profile counts, and its numeric range.</summary>
    private async Task<PropertyStatistics> DetailAsync(SqlFragment tenantValue, PropertyStatistics property, DateTime now, CancellationToken cancellationToken)
    {
        var rows = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT v, count() AS c, count() OVER () AS d, {Ranges(Sql.Empty)}
                FROM ({CurrentValues(tenantValue, Sql.Of($" AND property = {Sql.Param("String", property.Name)}"), now)})
                WHERE v != ''
                GROUP BY v ORDER BY c DESC, v LIMIT {Sql.Param("UInt32", (long)TopValueCount)}
                """),
            row => ValueRow.Read(row, 0),
            cancellationToken).ConfigureAwait(false);
        var summary = Summary.Of(rows);

        // Values that never repeat (emails, ids) are not what filters compare with one value: their spellings are not
        // looked for, which would cost an email property of the 2M-profile demo 1.9 s more (2.7–3.6 against 4.5–5.7 s).
        var variants = summary.Top is null ? [] : await engine.QueryAsync(
            CaseVariantGroups(
                Sql.Of($"SELECT v FROM ({CurrentValues(tenantValue, Sql.Of($" AND property = {Sql.Param("String", property.Name)}"), now)})"),
                Sql.Of($"''")),
            CaseVariant.Read,
            cancellationToken).ConfigureAwait(false);
        return property with
        {
            DistinctValues = summary.Distinct, TopValues = summary.Top, Min = summary.Min, Max = summary.Max, Earliest = summary.Earliest, Latest = summary.Latest,
            CaseVariants = CaseVariant.Groups(variants),
        };
    }

    /// <summary>
    /// Rows (name, lowered text, tagged text, count) of the texts among <c>v</c> in <paramref name="source"/> that share
    /// their lower case with another, per <paramref name="name"/> (an expression over the source's columns: the event
    /// property, or a constant): the <see cref="CaseVariantGroupCount"/> largest groups, largest first, at most
    /// <see cref="CaseVariantsPerGroup"/> spellings a group, most frequent first. The engine lowers them, as an
    /// "ignore_case" filter does. Two hash aggregations (by text, then by lowered text): no sort of every value, which an
    /// email property's 2M would make slow.
    /// </summary>
    private static SqlFragment CaseVariantGroups(SqlFragment source, SqlFragment name) => Sql.Of(
        $"""
        SELECT name, k, spelling.1 AS v, spelling.2 AS c FROM (
            SELECT name, k, sum(c) AS total, groupArray((v, c)) AS spellings
            FROM (SELECT {name} AS name, v, count() AS c, lowerUTF8(v) AS k FROM ({source}) WHERE startsWith(v, 's') GROUP BY name, v)
            GROUP BY name, k HAVING count() > 1
            ORDER BY name, total DESC, k LIMIT {Sql.Param("UInt32", (long)CaseVariantGroupCount)} BY name)
        ARRAY JOIN spellings AS spelling
        ORDER BY name, total DESC, k, c DESC, v
        LIMIT {Sql.Param("UInt32", (long)CaseVariantsPerGroup)} BY name, k
        """);

    /// <summary>A row of <see cref="CaseVariantGroups"/>.</summary>
    private sealed record CaseVariant(string Name, string Lowered, ValueFrequency Value)
    {
        public static CaseVariant Read(Row row) =>
            new(row.GetString(0), row.GetString(1), new ValueFrequency(TaggedValue.Decode(row.GetString(2)), row.GetInt64(3)));

        /// <summary>The first <see cref="CaseVariantGroupCount"/> groups of one name's rows, in their order; null when there are none.</summary>
        public static List<IReadOnlyList<ValueFrequency>>? Groups(IEnumerable<CaseVariant> rows)
        {
            List<IReadOnlyList<ValueFrequency>> groups =
                [.. rows.GroupBy(r => r.Lowered, StringComparer.Ordinal).Take(CaseVariantGroupCount).Select(g => (IReadOnlyList<ValueFrequency>)[.. g.Select(r => r.Value)])];
            return groups.Count == 0 ? null : groups;
        }
    }

    /// <summary>
    /// The metric as described alone: each event property's (and "$value"'s) distinct values, most frequent values with
    /// event counts and numeric range, over the same sample of events its types and sample values come from.
    /// </summary>
    private async Task<MetricStatistics> DetailAsync(SqlFragment tenantValue, MetricStatistics metric, CancellationToken cancellationToken)
    {
        var sample = EventSample(tenantValue, [metric.Name]);
        var sampled = await engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM ({sample})"), cancellationToken).ConfigureAwait(false);
        var rows = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT name, v, c, d, lo, hi, first, last FROM (
                    SELECT kv.1 AS name, kv.2 AS v, count() AS c, count() OVER (PARTITION BY name) AS d, {Ranges(Sql.Of($"PARTITION BY name"))}
                    FROM ({sample})
                    ARRAY JOIN properties AS kv
                    WHERE v != ''
                    GROUP BY name, v)
                ORDER BY name, c DESC, v LIMIT {Sql.Param("UInt32", (long)TopValueCount)} BY name
                """),
            row => (Name: row.GetString(0), Value: ValueRow.Read(row, 1)),
            cancellationToken).ConfigureAwait(false);
        var byName = rows.GroupBy(r => r.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(r => r.Value).ToList(), StringComparer.Ordinal);
        var variants = await engine.QueryAsync(
            CaseVariantGroups(Sql.Of($"SELECT kv.1 AS name, kv.2 AS v FROM ({sample}) ARRAY JOIN properties AS kv"), Sql.Of($"name")),
            CaseVariant.Read,
            cancellationToken).ConfigureAwait(false);
        var variantsByName = variants.GroupBy(r => r.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, CaseVariant.Groups, StringComparer.Ordinal);

        EventPropertyStatistics Detail(EventPropertyStatistics property)
        {
            var summary = Summary.Of(byName.GetValueOrDefault(property.Name) ?? []);
            return property with
            {
                DistinctValues = summary.Distinct, TopValues = summary.Top, Min = summary.Min, Max = summary.Max, Earliest = summary.Earliest, Latest = summary.Latest,
                CaseVariants = summary.Top is null ? null : variantsByName.GetValueOrDefault(property.Name),
            };
        }

        return metric with
        {
            Properties = [.. metric.Properties.Select(Detail)],
            Value = metric.Value is { } value ? Detail(value) : null,
            SampledEvents = sampled,
        };
    }

    /// <summary>
    /// What a described property's values add up to. The most frequent values are left out (null) where they say
    /// nothing a language model could use: values that never repeat (emails, ids), and numbers with more distinct
    /// values than are listed (amounts), which the range describes.
    /// </summary>
    private sealed record Summary(long Distinct, IReadOnlyList<ValueFrequency>? Top, double? Min, double? Max, string? Earliest, string? Latest)
    {
        public static Summary Of(IReadOnlyList<ValueRow> rows)
        {
            if (rows.Count == 0)
            {
                return new Summary(0, [], null, null, null, null);
            }

            var first = rows[0];
            var listed = first.Distinct <= TopValueCount || (first.Frequency.Count > 1 && rows.Any(r => r.Frequency.Value is not double));
            return new Summary(first.Distinct, listed ? [.. rows.Select(r => r.Frequency)] : null, first.Min, first.Max, first.Earliest, first.Latest);
        }
    }

    /// <summary>
    /// Window columns lo, hi (the smallest and largest number among the values v) and first, last (the earliest and
    /// latest text that starts with an ISO-8601 date, compared as text) over the window <paramref name="window"/>.
    /// </summary>
    private static SqlFragment Ranges(SqlFragment window)
    {
        var number = Sql.Of($"if(startsWith(v, 'n'), toFloat64OrNull(substring(v, 2)), NULL)");
        var date = Sql.Of($"if(match(v, '^s[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'), substring(v, 2), NULL)");
        return Sql.Of($"min({number}) OVER ({window}) AS lo, max({number}) OVER ({window}) AS hi, min({date}) OVER ({window}) AS first, max({date}) OVER ({window}) AS last");
    }

    /// <summary>
    /// Columns (tagged value, count, distinct values, smallest number, largest number, earliest date, latest date) from
    /// <c>first</c> on.
    /// </summary>
    private sealed record ValueRow(ValueFrequency Frequency, long Distinct, double? Min, double? Max, string? Earliest, string? Latest)
    {
        public static ValueRow Read(Row row, int first) =>
            new(
                new ValueFrequency(TaggedValue.Decode(row.GetString(first)), row.GetInt64(first + 1)),
                row.GetInt64(first + 2),
                row.GetNullableDouble(first + 3),
                row.GetNullableDouble(first + 4),
                row.GetNullableString(first + 5),
                row.GetNullableString(first + 6));
    }
}
