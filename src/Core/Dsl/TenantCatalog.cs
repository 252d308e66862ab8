using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.Dsl;

/// <summary>
/// The names a tenant's data has: its metrics with the event property names seen on each, and its profile property
/// names. Definitions are validated against it so that a typo becomes an error with suggestions, not an empty segment.
/// </summary>
public sealed class TenantCatalog
{
    private readonly Dictionary<string, IReadOnlySet<string>> metricProperties;

    public TenantCatalog(IReadOnlyDictionary<string, IReadOnlyCollection<string>> metricProperties, IEnumerable<string> profileProperties)
    {
        this.metricProperties = metricProperties.ToDictionary(
            pair => pair.Key,
            pair => (IReadOnlySet<string>)pair.Value.ToHashSet(StringComparer.Ordinal),
            StringComparer.Ordinal);
        ProfileProperties = profileProperties.ToHashSet(StringComparer.Ordinal);
    }

    public static TenantCatalog Empty { get; } = new(new Dictionary<string, IReadOnlyCollection<string>>(), []);

    public IReadOnlyCollection<string> Metrics => metricProperties.Keys;

    public IReadOnlySet<string> ProfileProperties { get; }

    public bool HasMetric(string metric) => metricProperties.ContainsKey(metric);

    /// <summary>The event property names seen on <paramref name="metric"/> (empty for an unknown metric).</summary>
    public IReadOnlySet<string> EventProperties(string metric) =>
        metricProperties.TryGetValue(metric, out var properties) ? properties : new HashSet<string>();
}

/// <summary>Loads a <see cref="TenantCatalog"/> with two light queries (key columns and map keys only).</summary>
public static class TenantCatalogReader
{
    /// <summary>At most this many property names are kept per metric (and for profiles).</summary>
    public const int MaxNamesPerGroup = 10_000;

    public static async Task<TenantCatalog> ReadAsync(IClickHouseEngine engine, StorageSchema schema, string tenant, CancellationToken cancellationToken = default)
    {
        var tenantParameter = new SqlParameter("tenant", "String", tenant);
        var metrics = await engine.QueryAsync(
            new SqlStatement(
                $"SELECT metric, groupUniqArrayArray({MaxNamesPerGroup})(mapKeys(properties)) FROM {schema.Events} WHERE tenant = {{tenant:String}} GROUP BY metric",
                [tenantParameter]),
            cancellationToken).ConfigureAwait(false);
        var properties = await engine.QueryAsync(
            new SqlStatement(
                $"SELECT DISTINCT property FROM {schema.Traits} WHERE tenant = {{tenant:String}} LIMIT {MaxNamesPerGroup}",
                [tenantParameter]),
            cancellationToken).ConfigureAwait(false);
        var byMetric = metrics.Rows.ToDictionary(
            row => (string)row[0]!,
            row => (IReadOnlyCollection<string>)((object?[])row[1]!).Select(name => (string)name!).ToList(),
            StringComparer.Ordinal);
        return new TenantCatalog(byMetric, properties.Rows.Select(row => (string)row[0]!));
    }
}
