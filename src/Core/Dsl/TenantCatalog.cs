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

/// <summary>Where a tenant's catalog comes from (the engine's data, in Storage): the language reads it only through this.</summary>
public interface ITenantCatalogSource
{
    Task<TenantCatalog> ReadAsync(string tenant, CancellationToken cancellationToken);
}
