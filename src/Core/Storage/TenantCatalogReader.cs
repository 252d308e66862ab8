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

/// <summary>Loads a <see cref="TenantCatalog"/> with two light queries (the names events use, the trait table's key).</summary>
public static class TenantCatalogReader
{
    /// <summary>At most this many property names are kept per metric (and for profiles).</summary>
    public const int MaxNamesPerGroup = 10_000;

    public static async Task<TenantCatalog> ReadAsync(IClickHouseEngine engine, StorageSchema schema, string tenant, CancellationToken cancellationToken = default)
    {
        var tenantValue = Sql.Param("String", tenant);
        var maxNames = Sql.Param("UInt32", (long)MaxNamesPerGroup);
        // The names events use, kept as they are written (schema 22): a metric's row with no property says it exists.
        var metrics = await engine.QueryAsync(
            Sql.Of($"SELECT metric, groupUniqArrayIf({maxNames})(property, property != '') FROM {Sql.Table(schema.EventProperties)} WHERE tenant = {tenantValue} GROUP BY metric"),
            row => (Metric: row.GetString(0), Properties: row.GetStrings(1)),
            cancellationToken).ConfigureAwait(false);
        var properties = await ProfilePropertiesAsync(engine, schema, tenant, cancellationToken).ConfigureAwait(false);
        var byMetric = metrics.ToDictionary(entry => entry.Metric, entry => (IReadOnlyCollection<string>)entry.Properties, StringComparer.Ordinal);
        return new TenantCatalog(byMetric, properties);
    }

    /// <summary>
    /// The tenant's profile property names alone, for a caller that needs no metrics: the trait table's key.
    /// </summary>
    public static Task<IReadOnlyList<string>> ProfilePropertiesAsync(IClickHouseEngine engine, StorageSchema schema, string tenant, CancellationToken cancellationToken = default) =>
        engine.QueryAsync(
            Sql.Of($"SELECT DISTINCT property FROM {Sql.Table(schema.Traits)} WHERE tenant = {Sql.Param("String", tenant)} LIMIT {Sql.Param("UInt32", (long)MaxNamesPerGroup)}"),
            row => row.GetString(0),
            cancellationToken);
}
