using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>The catalog source over the engine's data: <see cref="TenantCatalogReader.ReadAsync"/> for one schema.</summary>
public sealed class EngineCatalogSource(IClickHouseEngine engine, StorageSchema schema) : ITenantCatalogSource
{
    public Task<TenantCatalog> ReadAsync(string tenant, CancellationToken cancellationToken) =>
        TenantCatalogReader.ReadAsync(engine, schema, tenant, cancellationToken);
}

/// <summary>Loads a <see cref="TenantCatalog"/> with two light queries (key columns and map keys only).</summary>
public static class TenantCatalogReader
{
    /// <summary>At most this many property names are kept per metric (and for profiles).</summary>
    public const int MaxNamesPerGroup = 10_000;

    public static async Task<TenantCatalog> ReadAsync(IClickHouseEngine engine, StorageSchema schema, string tenant, CancellationToken cancellationToken = default)
    {
        var tenantValue = Sql.Param("String", tenant);
        var maxNames = Sql.Param("UInt32", (long)MaxNamesPerGroup);
        var metrics = await engine.QueryAsync(
            Sql.Of($"SELECT metric, groupUniqArrayArray({maxNames})(mapKeys(properties)) FROM {Sql.Table(schema.Events)} WHERE tenant = {tenantValue} GROUP BY metric"),
            row => (Metric: row.GetString(0), Properties: row.GetStrings(1)),
            cancellationToken).ConfigureAwait(false);
        var properties = await ProfilePropertiesAsync(engine, schema, tenant, cancellationToken).ConfigureAwait(false);
        var byMetric = metrics.ToDictionary(entry => entry.Metric, entry => (IReadOnlyCollection<string>)entry.Properties, StringComparer.Ordinal);
        return new TenantCatalog(byMetric, properties);
    }

    /// <summary>
    /// The tenant's profile property names alone, for a caller that needs no metrics: the catalog's event query reads
    /// every event's property names (about 2 s on the 2M-profile demo), this one the trait table's key.
    /// </summary>
    public static Task<IReadOnlyList<string>> ProfilePropertiesAsync(IClickHouseEngine engine, StorageSchema schema, string tenant, CancellationToken cancellationToken = default) =>
        engine.QueryAsync(
            Sql.Of($"SELECT DISTINCT property FROM {Sql.Table(schema.Traits)} WHERE tenant = {Sql.Param("String", tenant)} LIMIT {Sql.Param("UInt32", (long)MaxNamesPerGroup)}"),
            row => row.GetString(0),
            cancellationToken);
}
