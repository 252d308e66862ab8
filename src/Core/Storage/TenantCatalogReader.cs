using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

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
