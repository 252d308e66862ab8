using System.Globalization;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>A value of a property and how many members have it.</summary>
public sealed record ValueShare(object? Value, long Count);

/// <summary>The spread of a property's number values among members (each member's value counted once).</summary>
public sealed record NumberSummary(long Count, double Min, double P25, double Median, double P75, double Max, double Mean);

/// <summary>
/// One profile property among a segment's members: how many have a value, how many distinct values there are, the most
/// common ones, and for number values their spread.
/// </summary>
public sealed record PropertyBreakdown(string Property, long WithValue, long DistinctValues, IReadOnlyList<ValueShare> TopValues, NumberSummary? Numbers);

public sealed partial class MembershipStore
{
    /// <summary>
    /// The segment's stored members broken down by each of <paramref name="properties"/> (see <see cref="MemberBreakdown.ReadAsync"/>).
    /// </summary>
    public Task<IReadOnlyList<PropertyBreakdown>> BreakdownAsync(
        string tenant, string segmentId, IReadOnlyList<string> properties, DateTime asOf, int top, CancellationToken cancellationToken) =>
        MemberBreakdown.ReadAsync(
            engine,
            schema,
            tenant,
            ReadsBuckets ? BucketMembers(tenant, segmentId) : Sql.Of($"SELECT profile_id FROM {membership} FINAL WHERE {Keys(tenant, segmentId)} AND is_member = 1"),
            properties,
            asOf,
            top,
            cancellationToken);
}

/// <summary>Profiles' property values counted: who has a value, the most common values, the spread of numbers.</summary>
public static class MemberBreakdown
{
    /// <summary>
    /// The per-profile aggregate follows the trait history's sort key (tenant, property, profile_id), so it streams
    /// instead of hashing every (property, profile) pair; and a members set too large to narrow the key range (a
    /// segment of many thousands covers nearly every granule) is not analysed against the index at all. Together, on
    /// the 2M-profile demo, 526,778 profiles by four properties: 2.3–2.6 s against 6.5–7.4 s (on a server).
    /// </summary>
    private static readonly SqlFragment InOrder = Sql.Of($"optimize_aggregation_in_order = 1, use_index_for_in_with_subqueries_max_values = 10000");

    /// <summary>
    /// The profiles of <paramref name="members"/> (a query of <c>profile_id</c>: stored members, or a definition's
    /// compiled members) broken down by each of <paramref name="properties"/>, with every profile's value as of
    /// <paramref name="asOf"/> (the latest update by then; removed values count as none), in the order named: one
    /// statement for all the properties, which reads their trait histories for those profiles only.
    /// </summary>
    /// <remarks>
    /// Exact: the history, not the current-value table (which may trail it), decides a profile's value, the same way
    /// list_members' properties are read. Top values are ordered by count, then value text, so ties are stable. The
    /// statement ends with the compiler's settings, so a compiled members query runs inside it as it does alone; on a
    /// cluster the innermost aggregate is per profile, complete on each shard, and the counting above it runs at the
    /// entry point.
    /// </remarks>
    public static async Task<IReadOnlyList<PropertyBreakdown>> ReadAsync(
        IClickHouseEngine engine, StorageSchema schema, string tenant, SqlFragment members, IReadOnlyList<string> properties, DateTime asOf, int top, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(top);
        if (properties.Count == 0)
        {
            return [];
        }

        var rows = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT property, toInt64(sum(c)) AS with_value, toInt64(count()) AS distinct_values,
                    arraySlice(arraySort(p -> (-p.2, p.1), groupArray((v, c))), 1, {Sql.Param("UInt32", (long)top)}) AS top,
                    arrayMap(p -> p.1, top) AS top_values, arrayMap(p -> toString(p.2), top) AS top_counts,
                    toInt64(sumIf(c, isNotNull(x))) AS numbers,
                    quantilesExactWeightedIf(0.25, 0.5, 0.75)(assumeNotNull(x), c, isNotNull(x)) AS quartiles,
                    if(numbers = 0, NULL, minIf(assumeNotNull(x), isNotNull(x))) AS low,
                    if(numbers = 0, NULL, quartiles[1]) AS p25, if(numbers = 0, NULL, quartiles[2]) AS median, if(numbers = 0, NULL, quartiles[3]) AS p75,
                    if(numbers = 0, NULL, maxIf(assumeNotNull(x), isNotNull(x))) AS high,
                    if(numbers = 0, NULL, round(sumIf(assumeNotNull(x) * c, isNotNull(x)) / numbers, 4)) AS mean
                FROM (
                    SELECT property, v, count() AS c, if(startsWith(v, 'n'), toFloat64OrNull(substring(v, 2)), NULL) AS x
                    FROM (
                        SELECT property, profile_id, argMax(value, (updated_at, ingested_at)) AS v FROM {Sql.Table(schema.Traits)}
                        WHERE tenant = {Sql.Param("String", tenant)} AND property IN {Sql.Param("Array(String)", properties.ToArray())}
                            AND updated_at <= {Sql.Param(ClickHouseTime.Milliseconds, asOf)} AND profile_id IN ({members})
                        GROUP BY property, profile_id)
                    WHERE v != ''
                    GROUP BY property, v)
                GROUP BY property{SegmentCompiler.Settings}, {InOrder}
                """),
            row =>
            {
                var counts = row.GetStrings(5);
                return new PropertyBreakdown(
                    row.GetString(0),
                    row.GetInt64(1),
                    row.GetInt64(2),
                    [.. row.GetStrings(4).Select((value, i) => new ValueShare(TaggedValue.Decode(value), long.Parse(counts[i], CultureInfo.InvariantCulture)))],
                    row.GetInt64(6) is > 0 and var numbers
                        ? new NumberSummary(numbers, row.GetDouble(8), row.GetDouble(9), row.GetDouble(10), row.GetDouble(11), row.GetDouble(12), row.GetDouble(13))
                        : null);
            },
            cancellationToken).ConfigureAwait(false);
        var byName = rows.ToDictionary(r => r.Property, StringComparer.Ordinal);
        return [.. properties.Select(name => byName.GetValueOrDefault(name) ?? new PropertyBreakdown(name, 0, 0, [], null))];
    }
}
