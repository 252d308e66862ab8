using System.Globalization;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

/// <summary>A profile property: its JSON types, how many profiles have a value now, and the most frequent values.</summary>
public sealed record PropertyStatistics(string Name, IReadOnlyList<string> Types, long ProfilesWithValue, IReadOnlyList<object?> SampleValues);

/// <summary>An event property of one metric, from a sample of that metric's events.</summary>
public sealed record EventPropertyStatistics(string Name, IReadOnlyList<string> Types, IReadOnlyList<object?> SampleValues);

/// <summary>A metric (event name): volume, reach, time span and the properties its events carry.</summary>
public sealed record MetricStatistics(string Name, long Events, long Profiles, DateTime FirstSeen, DateTime LastSeen, IReadOnlyList<EventPropertyStatistics> Properties);

/// <summary>What a tenant's data looks like.</summary>
public sealed record TenantStatistics(long Profiles, long Events, IReadOnlyList<PropertyStatistics> Properties, IReadOnlyList<MetricStatistics> Metrics);

/// <summary>
/// Statistics of one tenant's data for people and language models choosing names and values: each query is
/// pushed down to the tenant (and to one metric or property when asked) through the tables' sort keys.
/// </summary>
public sealed class SchemaDescriber(IClickHouseEngine engine, StorageSchema schema)
{
    /// <summary>Event properties' types and samples come from at most this many events per metric.</summary>
    public const int EventSamplePerMetric = 20_000;

    /// <summary>How many most-frequent values are reported per property.</summary>
    public const int SampleValueCount = 5;

    /// <summary>
    /// Describes the tenant. With <paramref name="metric"/> only that metric is detailed (others are left out); with
    /// <paramref name="property"/> only that profile property.
    /// </summary>
    public async Task<TenantStatistics> DescribeAsync(string tenant, string? metric, string? property, CancellationToken cancellationToken)
    {
        var tenantParameter = new SqlParameter("tenant", "String", tenant);
        var profiles = await engine.QueryAsync(
            new SqlStatement($"SELECT uniqExact(profile_id) FROM {schema.Profiles} WHERE tenant = {{tenant:String}}", [tenantParameter]),
            cancellationToken).ConfigureAwait(false);

        var metricFilter = metric is null ? string.Empty : " AND metric = {metric:String}";
        List<SqlParameter> metricParameters = metric is null ? [tenantParameter] : [tenantParameter, new SqlParameter("metric", "String", metric)];
        var metricRows = await engine.QueryAsync(
            new SqlStatement(
                $"SELECT metric, count(), uniqExact(profile_id), min(ts), max(ts) FROM {schema.Events} WHERE tenant = {{tenant:String}} GROUP BY metric ORDER BY metric",
                [tenantParameter]),
            cancellationToken).ConfigureAwait(false);
        var eventProperties = await engine.QueryAsync(
            new SqlStatement(
                $$"""
                SELECT metric, kv.1 AS name, groupUniqArray(substring(kv.2, 1, 1)) AS tags, topK({{SampleValueCount}})(kv.2) AS top
                FROM (SELECT metric, properties FROM {{schema.Events}} WHERE tenant = {tenant:String}{{metricFilter}} LIMIT {{EventSamplePerMetric}} BY metric)
                ARRAY JOIN CAST(properties, 'Array(Tuple(String, String))') AS kv
                GROUP BY metric, name ORDER BY metric, name
                """,
                metricParameters),
            cancellationToken).ConfigureAwait(false);
        var propertiesByMetric = eventProperties.Rows
            .GroupBy(row => (string)row[0]!, StringComparer.Ordinal)
            .ToDictionary(
                group => group.Key,
                group => (IReadOnlyList<EventPropertyStatistics>)[.. group.Select(row => new EventPropertyStatistics((string)row[1]!, Types(row[2]), Samples(row[3])))],
                StringComparer.Ordinal);

        long totalEvents = 0;
        var metrics = new List<MetricStatistics>();
        foreach (var row in metricRows.Rows)
        {
            var name = (string)row[0]!;
            var events = ToLong(row[1]);
            totalEvents += events;
            if (metric is not null && name != metric)
            {
                continue;
            }

            metrics.Add(new MetricStatistics(
                name, events, ToLong(row[2]), (DateTime)row[3]!, (DateTime)row[4]!, propertiesByMetric.GetValueOrDefault(name) ?? []));
        }

        var propertyFilter = property is null ? string.Empty : " AND property = {property:String}";
        List<SqlParameter> propertyParameters = property is null ? [tenantParameter] : [tenantParameter, new SqlParameter("property", "String", property)];
        var propertyRows = metric is not null && property is null
            ? null
            : await engine.QueryAsync(
                new SqlStatement(
                    $$"""
                    SELECT property, groupUniqArrayIf(substring(v, 1, 1), v != ''), countIf(v != ''), topKIf({{SampleValueCount}})(v, v != '')
                    FROM (SELECT property, profile_id, argMax(value, (updated_at, ingested_at)) AS v FROM {{schema.Traits}}
                          WHERE tenant = {tenant:String}{{propertyFilter}} GROUP BY property, profile_id)
                    GROUP BY property ORDER BY property
                    """,
                    propertyParameters),
                cancellationToken).ConfigureAwait(false);
        var properties = propertyRows?.Rows
            .Select(row => new PropertyStatistics((string)row[0]!, Types(row[1]), ToLong(row[2]), Samples(row[3])))
            .ToList() ?? [];

        return new TenantStatistics(ToLong(profiles.Rows[0][0]), totalEvents, properties, metric is null && property is not null ? [] : metrics);
    }

    /// <summary>Metric names starting with <paramref name="prefix"/>, in order.</summary>
    public async Task<IReadOnlyList<string>> MetricNamesAsync(string tenant, string prefix, int limit, CancellationToken cancellationToken)
    {
        var rows = await engine.QueryAsync(
            new SqlStatement(
                $"SELECT DISTINCT metric FROM {schema.Events} WHERE tenant = {{tenant:String}} AND startsWith(metric, {{prefix:String}}) ORDER BY metric LIMIT {{limit:UInt32}}",
                [new SqlParameter("tenant", "String", tenant), new SqlParameter("prefix", "String", prefix), new SqlParameter("limit", "UInt32", (long)limit)]),
            cancellationToken).ConfigureAwait(false);
        return [.. rows.Rows.Select(row => (string)row[0]!)];
    }

    /// <summary>Profile property names starting with <paramref name="prefix"/>, in order.</summary>
    public async Task<IReadOnlyList<string>> PropertyNamesAsync(string tenant, string prefix, int limit, CancellationToken cancellationToken)
    {
        var rows = await engine.QueryAsync(
            new SqlStatement(
                $"SELECT DISTINCT property FROM {schema.Traits} WHERE tenant = {{tenant:String}} AND startsWith(property, {{prefix:String}}) ORDER BY property LIMIT {{limit:UInt32}}",
                [new SqlParameter("tenant", "String", tenant), new SqlParameter("prefix", "String", prefix), new SqlParameter("limit", "UInt32", (long)limit)]),
            cancellationToken).ConfigureAwait(false);
        return [.. rows.Rows.Select(row => (string)row[0]!)];
    }

    /// <summary>Current values of a profile property whose text starts with <paramref name="prefix"/>, most frequent first.</summary>
    public async Task<IReadOnlyList<string>> PropertyValuesAsync(string tenant, string property, string prefix, int limit, CancellationToken cancellationToken)
    {
        var rows = await engine.QueryAsync(
            new SqlStatement(
                $$"""
                SELECT v, count() AS c FROM
                  (SELECT profile_id, argMax(value, (updated_at, ingested_at)) AS v FROM {{schema.Traits}}
                   WHERE tenant = {tenant:String} AND property = {property:String} GROUP BY profile_id)
                WHERE v != '' AND startsWith(substring(v, 2), {prefix:String})
                GROUP BY v ORDER BY c DESC, v LIMIT {limit:UInt32}
                """,
                [new SqlParameter("tenant", "String", tenant), new SqlParameter("property", "String", property), new SqlParameter("prefix", "String", prefix), new SqlParameter("limit", "UInt32", (long)limit)]),
            cancellationToken).ConfigureAwait(false);
        return [.. rows.Rows.Select(row => ((string)row[0]!)[1..])];
    }

    private static IReadOnlyList<string> Types(object? tags) =>
        [.. ((object?[])tags!).Select(t => (string)t!).Where(t => t.Length > 0).Select(t => TaggedValue.TypeName(t[0])).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    private static IReadOnlyList<object?> Samples(object? values) =>
        [.. ((object?[])values!).Select(v => TaggedValue.Decode((string?)v)).Where(v => v is not null)];

    private static long ToLong(object? value) => Convert.ToInt64(value, CultureInfo.InvariantCulture);
}
