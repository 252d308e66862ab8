using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>A value of a property and how often it occurs (profiles having it now, or events carrying it).</summary>
public sealed record ValueCount(string Value, long Count);

/// <summary>
/// A value a definition compares with that no data holds: the profile property never had it (any profile, any time),
/// or no event of the metric in [<see cref="From"/>, <see cref="Until"/>) (the time the condition reads; null sides are
/// open) carries it. <see cref="Closest"/> are the values the data does hold, most similar first (edit distance
/// ignoring case, then frequency): for profiles counted as of the evaluation time, for events over the same time.
/// <see cref="IgnoreCase"/>: the filter compares without case, and the value is absent in every case.
/// </summary>
public sealed record AbsentValue(
    string Path, string? Metric, string Property, string Value, IReadOnlyList<ValueCount> Closest, DateTime? From = null, DateTime? Until = null, bool IgnoreCase = false);

/// <summary>
/// A value a case-sensitive filter compares with, and the values the data holds that differ from it only in case
/// (<see cref="Others"/>, most frequent first): "Boston" beside "BOSTON" and "boston" typed into a form. The filter
/// tells them apart, which is seldom what the person meant; the rest as in <see cref="AbsentValue"/>.
/// </summary>
public sealed record CaseVariants(
    string Path, string? Metric, string Property, string Value, IReadOnlyList<ValueCount> Others, DateTime? From = null, DateTime? Until = null);

public sealed partial class SchemaDescriber
{
    /// <summary>Other-case values reported per compared value.</summary>
    public const int MaxCaseVariants = 3;

    /// <summary>
    /// For the case-sensitive <paramref name="probes"/>, the values the data holds that equal a compared value except
    /// in case: one statement per property (and time range), reading the property's current values (a profile
    /// property, counted as of <paramref name="now"/>) or its events in the time the condition reads, as
    /// <see cref="ClosestAsync"/> does for an absent value. The engine lowers both sides, as <c>ignore_case</c> does.
    /// </summary>
    public async Task<IReadOnlyList<CaseVariants>> CaseVariantsAsync(string tenant, IReadOnlyList<ValueProbe> probes, DateTime now, CancellationToken cancellationToken)
    {
        var variants = new List<CaseVariants>();
        foreach (var group in probes.Where(p => !p.IgnoreCase).GroupBy(p => (p.Metric, p.Property, p.Window)))
        {
            var range = group.Key.Metric is null ? TimeRange.All : TimeRange.Of(group.Key.Window, now);
            var values = group.SelectMany(p => p.Values).Distinct(StringComparer.Ordinal).ToArray();
            var asked = Sql.Param("Array(String)", values);
            var tenantValue = Sql.Param("String", tenant);
            var propertyValue = Sql.Param("String", group.Key.Property);
            var source = group.Key.Metric is null
                ? Sql.Of($"SELECT v FROM ({CurrentValues(tenantValue, Sql.Of($" AND property = {propertyValue}"), now)})")
                : Sql.Of($"SELECT properties[{propertyValue}] AS v FROM {events} WHERE tenant = {tenantValue} AND metric = {Sql.Param("String", group.Key.Metric)}{EventTimes(range, now)}");
            var rows = await engine.QueryAsync(
                Sql.Of(
                    $"""
                    SELECT asked, text, c FROM (
                        SELECT substring(v, 2) AS text, count() AS c FROM ({source})
                        WHERE v != '' AND has(arrayMap(x -> lowerUTF8(x), {asked}), lowerUTF8(substring(v, 2)))
                        GROUP BY text)
                    ARRAY JOIN {asked} AS asked
                    WHERE lowerUTF8(asked) = lowerUTF8(text) AND text != asked
                    ORDER BY asked, c DESC, text
                    """),
                row => (Asked: row.GetString(0), Other: new ValueCount(row.GetString(1), row.GetInt64(2))),
                cancellationToken).ConfigureAwait(false);
            var byValue = rows.GroupBy(r => r.Asked, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(r => r.Other).Take(MaxCaseVariants).ToList(), StringComparer.Ordinal);
            variants.AddRange(
                from probe in @group
                from value in probe.Values
                where byValue.ContainsKey(value)
                select new CaseVariants(probe.Path, probe.Metric, probe.Property, value, byValue[value], range.From, range.Until));
        }

        return variants.Count > MaxAbsentValuesReported ? variants[..MaxAbsentValuesReported] : variants;
    }

    /// <summary>Closest values reported per absent value.</summary>
    public const int ClosestValueCount = 3;

    /// <summary>
    /// Absent values looked up for closest ones, per call: each costs a read of the property's values, and a
    /// definition with more slips than this has a problem the first few already show.
    /// </summary>
    public const int MaxAbsentValues = 5;

    /// <summary>Absent values reported per call (an <c>in</c> list of a thousand slips is one mistake, not a thousand).</summary>
    public const int MaxAbsentValuesReported = 20;

    /// <summary>
    /// The values of <paramref name="probes"/> that no data holds, with the closest values that it does: one statement
    /// per property (and time range) for existence, and only an absent value reads all of the property's values.
    /// </summary>
    /// <remarks>
    /// No statement here ends early with a LIMIT: on a cluster the entry point then cancels the shards' reads, and
    /// chDB's server (26.7) aborts on such a cancel now and then (a bare <c>LIMIT 1</c> over a Distributed table took a
    /// shard down within 40 tries). Without it a profile property's history is read whole by its key range (30–60 ms
    /// for the 2M-profile demo's city) and an event property over the time its condition reads.
    /// </remarks>
    public async Task<IReadOnlyList<AbsentValue>> AbsentValuesAsync(string tenant, IReadOnlyList<ValueProbe> probes, DateTime now, CancellationToken cancellationToken)
    {
        var absent = new List<AbsentValue>();
        var lookedUp = 0;
        foreach (var group in probes.GroupBy(p => (p.Metric, p.Property, p.Window, p.IgnoreCase)))
        {
            var range = group.Key.Metric is null ? TimeRange.All : TimeRange.Of(group.Key.Window, now);
            var values = group.SelectMany(p => p.Values).Distinct(StringComparer.Ordinal).ToList();
            var found = (await ExistingAsync(tenant, group.Key.Metric, group.Key.Property, values, group.Key.IgnoreCase, range, now, cancellationToken).ConfigureAwait(false))
                .ToHashSet(StringComparer.Ordinal);
            var closest = new Dictionary<string, IReadOnlyList<ValueCount>>(StringComparer.Ordinal);
            foreach (var value in values.Where(v => !found.Contains(v)))
            {
                closest[value] = lookedUp++ < MaxAbsentValues || closest.Count == 0
                    ? await ClosestAsync(tenant, group.Key.Metric, group.Key.Property, value, range, now, cancellationToken).ConfigureAwait(false)
                    : [];
                if (closest.Count == 1 && closest[value].Count == 0 && group.Key.Metric is not null)
                {
                    // No event in the time the condition reads carries the property at all: the time is what is empty,
                    // not the value (condition_counts shows that), so the values are no slip to report.
                    closest.Clear();
                    break;
                }
            }

            absent.AddRange(
                from probe in @group
                from value in probe.Values
                where closest.ContainsKey(value)
                select new AbsentValue(probe.Path, probe.Metric, probe.Property, value, closest[value], range.From, range.Until, probe.IgnoreCase));
        }

        return absent.Count > MaxAbsentValuesReported ? absent[..MaxAbsentValuesReported] : absent;
    }

    /// <summary>
    /// Which of <paramref name="values"/> the property has ever had (its text under any type tag; in any case when
    /// <paramref name="ignoreCase"/>), events in <paramref name="range"/>.
    /// </summary>
    private Task<IReadOnlyList<string>> ExistingAsync(
        string tenant, string? metric, string property, IReadOnlyList<string> values, bool ignoreCase, TimeRange range, DateTime now, CancellationToken cancellationToken)
    {
        if (ignoreCase)
        {
            return ExistingInAnyCaseAsync(tenant, metric, property, values, range, now, cancellationToken);
        }

        var tagged = Sql.Param("Array(String)", values.SelectMany(v => new[] { "s" + v, "n" + v, "b" + v }).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray());
        var tenantValue = Sql.Param("String", tenant);
        var propertyValue = Sql.Param("String", property);
        var statement = metric is null
            ? Sql.Of($"SELECT DISTINCT substring(value, 2) FROM {traits} WHERE tenant = {tenantValue} AND property = {propertyValue} AND value IN {tagged}")
            : Sql.Of($"SELECT DISTINCT substring(properties[{propertyValue}], 2) FROM {events} WHERE tenant = {tenantValue} AND metric = {Sql.Param("String", metric)}{EventTimes(range, now)} AND properties[{propertyValue}] IN {tagged}");
        return engine.QueryAsync(statement, row => row.GetString(0), cancellationToken);
    }

    /// <summary>
    /// <see cref="ExistingAsync"/> without case: the engine lowers both sides (as the filter does), so no value the
    /// filter matches is reported absent. The sort key cannot seek to every case of a text: the property's rows are read.
    /// </summary>
    private Task<IReadOnlyList<string>> ExistingInAnyCaseAsync(
        string tenant, string? metric, string property, IReadOnlyList<string> values, TimeRange range, DateTime now, CancellationToken cancellationToken)
    {
        var asked = Sql.Param("Array(String)", values.ToArray());
        var tenantValue = Sql.Param("String", tenant);
        var propertyValue = Sql.Param("String", property);
        var text = metric is null ? Sql.Of($"substring(value, 2)") : Sql.Of($"substring(properties[{propertyValue}], 2)");
        var source = metric is null
            ? Sql.Of($"{traits} WHERE tenant = {tenantValue} AND property = {propertyValue} AND value != ''")
            : Sql.Of($"{events} WHERE tenant = {tenantValue} AND metric = {Sql.Param("String", metric)}{EventTimes(range, now)} AND properties[{propertyValue}] != ''");
        return engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT asked FROM (
                    SELECT groupUniqArray(lowerUTF8({text})) AS held FROM {source} AND has(arrayMap(x -> lowerUTF8(x), {asked}), lowerUTF8({text})))
                ARRAY JOIN {asked} AS asked
                WHERE has(held, lowerUTF8(asked))
                """),
            row => row.GetString(0),
            cancellationToken);
    }

    /// <summary>The property's values closest to <paramref name="value"/>, or its most common ones when that is null.</summary>
    private Task<IReadOnlyList<ValueCount>> ClosestAsync(
        string tenant, string? metric, string property, string? value, TimeRange range, DateTime now, CancellationToken cancellationToken)
    {
        var tenantValue = Sql.Param("String", tenant);
        var propertyValue = Sql.Param("String", property);
        var source = metric is null
            ? Sql.Of($"SELECT v FROM ({CurrentValues(tenantValue, Sql.Of($" AND property = {propertyValue}"), now)})")
            : Sql.Of($"SELECT properties[{propertyValue}] AS v FROM {events} WHERE tenant = {tenantValue} AND metric = {Sql.Param("String", metric)}{EventTimes(range, now)}");
        return engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT substring(v, 2) AS text, count() AS c FROM ({source})
                WHERE v != ''
                GROUP BY text
                ORDER BY {(value is null ? Sql.Empty : Sql.Of($"editDistanceUTF8(lowerUTF8(text), lowerUTF8({Sql.Param("String", value)})), "))}c DESC, text
                LIMIT {Sql.Param("UInt32", (long)ClosestValueCount)}
                """),
            row => new ValueCount(row.GetString(0), row.GetInt64(1)),
            cancellationToken);
    }

    /// <summary>" AND ts …" for the events a condition reads: up to now, within its range.</summary>
    private static SqlFragment EventTimes(TimeRange range, DateTime now)
    {
        var until = range.Until is { } end && end < now ? end : now;
        return Sql.Of(
            $" AND ts <= {Sql.Param(ClickHouseTime.Milliseconds, until)}{(range.From is { } start ? Sql.Of($" AND ts >= {Sql.Param(ClickHouseTime.Milliseconds, start)}") : Sql.Empty)}");
    }
}
