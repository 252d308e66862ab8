using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

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
    private readonly SqlFragment events = Sql.Table(schema.Events);
    private readonly SqlFragment traits = Sql.Table(schema.Traits);

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
        var tenantValue = Sql.Param("String", tenant);
        var profiles = await engine.QueryScalarAsync<long>(
            Sql.Of($"SELECT uniqExact(profile_id) FROM {Sql.Table(schema.Profiles)} WHERE tenant = {tenantValue}"),
            cancellationToken).ConfigureAwait(false);

        var metricFilter = metric is null ? Sql.Empty : Sql.Of($" AND metric = {Sql.Param("String", metric)}");
        var metricRows = await engine.QueryAsync(
            Sql.Of($"SELECT metric, count(), uniqExact(profile_id), min(ts), max(ts) FROM {events} WHERE tenant = {tenantValue} GROUP BY metric ORDER BY metric"),
            row => (Name: row.GetString(0), Events: row.GetInt64(1), Profiles: row.GetInt64(2), First: row.GetDateTime(3), Last: row.GetDateTime(4)),
            cancellationToken).ConfigureAwait(false);
        var eventProperties = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT metric, kv.1 AS name, groupUniqArray(substring(kv.2, 1, 1)) AS tags, topK({Sql.Param("UInt32", (long)SampleValueCount)})(kv.2) AS top
                FROM (SELECT metric, properties FROM {events} WHERE tenant = {tenantValue}{metricFilter} LIMIT {Sql.Param("UInt32", (long)EventSamplePerMetric)} BY metric)
                ARRAY JOIN CAST(properties, 'Array(Tuple(String, String))') AS kv
                GROUP BY metric, name ORDER BY metric, name
                """),
            row => (Metric: row.GetString(0), Statistics: new EventPropertyStatistics(row.GetString(1), Types(row.GetStrings(2)), Samples(row.GetStrings(3)))),
            cancellationToken).ConfigureAwait(false);
        var propertiesByMetric = eventProperties
            .GroupBy(entry => entry.Metric, StringComparer.Ordinal)
            .ToDictionary(
                group => group.Key,
                group => (IReadOnlyList<EventPropertyStatistics>)[.. group.Select(entry => entry.Statistics)],
                StringComparer.Ordinal);

        long totalEvents = 0;
        var metrics = new List<MetricStatistics>();
        foreach (var row in metricRows)
        {
            totalEvents += row.Events;
            if (metric is not null && row.Name != metric)
            {
                continue;
            }

            metrics.Add(new MetricStatistics(
                row.Name, row.Events, row.Profiles, row.First, row.Last, propertiesByMetric.GetValueOrDefault(row.Name) ?? []));
        }

        var propertyFilter = property is null ? Sql.Empty : Sql.Of($" AND property = {Sql.Param("String", property)}");
        var sampleCount = Sql.Param("UInt32", (long)SampleValueCount);
        IReadOnlyList<PropertyStatistics> properties = metric is not null && property is null
            ? []
            : await engine.QueryAsync(
                Sql.Of(
                    $"""
                    SELECT property, groupUniqArrayIf(substring(v, 1, 1), v != ''), countIf(v != ''), topKIf({sampleCount})(v, v != '')
                    FROM (SELECT property, profile_id, argMax(value, (updated_at, ingested_at)) AS v FROM {traits}
                          WHERE tenant = {tenantValue}{propertyFilter} GROUP BY property, profile_id)
                    GROUP BY property ORDER BY property
                    """),
                row => new PropertyStatistics(row.GetString(0), Types(row.GetStrings(1)), row.GetInt64(2), Samples(row.GetStrings(3))),
                cancellationToken).ConfigureAwait(false);

        return new TenantStatistics(profiles, totalEvents, properties, metric is null && property is not null ? [] : metrics);
    }

    /// <summary>Metric names starting with <paramref name="prefix"/>, in order.</summary>
    public Task<IReadOnlyList<string>> MetricNamesAsync(string tenant, string prefix, int limit, CancellationToken cancellationToken) =>
        NamesAsync(events, Sql.Of($"metric"), tenant, prefix, limit, cancellationToken);

    /// <summary>Profile property names starting with <paramref name="prefix"/>, in order.</summary>
    public Task<IReadOnlyList<string>> PropertyNamesAsync(string tenant, string prefix, int limit, CancellationToken cancellationToken) =>
        NamesAsync(traits, Sql.Of($"property"), tenant, prefix, limit, cancellationToken);

    /// <summary>Current values of a profile property whose text starts with <paramref name="prefix"/>, most frequent first.</summary>
    public Task<IReadOnlyList<string>> PropertyValuesAsync(string tenant, string property, string prefix, int limit, CancellationToken cancellationToken) =>
        engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT v, count() AS c FROM
                  (SELECT profile_id, argMax(value, (updated_at, ingested_at)) AS v FROM {traits}
                   WHERE tenant = {Sql.Param("String", tenant)} AND property = {Sql.Param("String", property)} GROUP BY profile_id)
                WHERE v != '' AND startsWith(substring(v, 2), {Sql.Param("String", prefix)})
                GROUP BY v ORDER BY c DESC, v LIMIT {Sql.Param("UInt32", (long)limit)}
                """),
            row => row.GetString(0)[1..],
            cancellationToken);

    private Task<IReadOnlyList<string>> NamesAsync(
        SqlFragment table, SqlFragment column, string tenant, string prefix, int limit, CancellationToken cancellationToken) =>
        engine.QueryAsync(
            Sql.Of(
                $"SELECT DISTINCT {column} FROM {table} WHERE tenant = {Sql.Param("String", tenant)} AND startsWith({column}, {Sql.Param("String", prefix)}) ORDER BY {column} LIMIT {Sql.Param("UInt32", (long)limit)}"),
            row => row.GetString(0),
            cancellationToken);

    private static IReadOnlyList<string> Types(IReadOnlyList<string> tags) =>
        [.. tags.Where(t => t.Length > 0).Select(t => TaggedValue.TypeName(t[0])).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    private static IReadOnlyList<object?> Samples(IReadOnlyList<string> values) =>
        [.. values.Select(TaggedValue.Decode).Where(v => v is not null)];
}
