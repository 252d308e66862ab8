using System.Diagnostics;
using SegmentMcp.Core.Ingest;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.Demo;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>What loading the demo tenant did.</summary>
public sealed record DemoResult(int Profiles, long Events, long ProfileRecords, DateTimeOffset ReferenceTime, TimeSpan Elapsed, bool ReplacedExisting)
{
    public double RowsPerSecond => Elapsed > TimeSpan.Zero ? (Events + ProfileRecords) / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// Generates the demo tenant and loads it through the regular NDJSON ingest path, replacing whatever the tenant held
/// (so running the demo twice gives one dataset, not two).
/// </summary>
public static class DemoLoader
{
    public static async Task<DemoResult> LoadAsync(
        IClickHouseEngine engine,
        StorageSchema schema,
        DemoOptions options,
        Action<IngestProgress>? onProgress = null,
        CancellationToken cancellationToken = default)
    {
        var stopwatch = Stopwatch.StartNew();
        var generator = new DemoGenerator(options);
        var replaced = await DeleteTenantAsync(engine, schema, options.Company, cancellationToken).ConfigureAwait(false);
        var ingestor = new NdjsonIngestor(engine, schema, new IngestOptions
        {
            Company = options.Company,

            // One pass: validating first would mean generating everything twice. The generator's output is checked
            // line by line all the same, and a bad line is a bug that fails the run below.
            SkipInvalid = true,
            OnProgress = onProgress,

            // A fresh scope per run: the same seed after a delete must be written again, not deduplicated away.
            DeduplicationScope = Guid.NewGuid().ToString("N"),
        });
        var result = await ingestor.IngestAsync(
            IngestSource.Reopenable("demo events", generator.OpenEvents),
            IngestSource.Reopenable("demo profiles", generator.OpenProfiles),
            cancellationToken).ConfigureAwait(false);
        if (result.InvalidLines > 0)
        {
            throw new InvalidOperationException($"The demo generator wrote {result.InvalidLines} invalid lines; the first: {result.Errors[0]}");
        }

        return new DemoResult(options.Profiles, result.EventsWritten, result.ProfilesWritten, generator.ReferenceTime, stopwatch.Elapsed, replaced);
    }

    /// <summary>Removes the tenant's rows from every table; true when there were any.</summary>
    private static async Task<bool> DeleteTenantAsync(IClickHouseEngine engine, StorageSchema schema, string tenant, CancellationToken cancellationToken)
    {
        var tenantValue = Sql.Param("String", tenant);
        var existing = await engine.QueryScalarAsync<long>(
            Sql.Of($"SELECT (SELECT count() FROM {Sql.Table(schema.Events)} WHERE tenant = {tenantValue}) + (SELECT count() FROM {Sql.Table(schema.ProfileUpdates)} WHERE tenant = {tenantValue})"),
            cancellationToken).ConfigureAwait(false);
        if (existing == 0)
        {
            return false;
        }

        foreach (var table in new Func<SegmentMcp.Core.Sql.TableNames, string>[] { t => t.Events, t => t.ProfileUpdates, t => t.Traits, t => t.Profiles, t => t.EventProperties })
        {
            await schema.ExecuteWhereStoredAsync(
                engine,
                tables => Sql.Of($"ALTER TABLE {Sql.Table(table(tables))} DELETE WHERE tenant = {tenantValue} SETTINGS mutations_sync = 2"),
                cancellationToken).ConfigureAwait(false);
        }

        await new CurrentTraitsRefresher(engine, schema).ResetAsync(tenant, cancellationToken).ConfigureAwait(false);
        if (schema.HasKeyValueTables)
        {
            await new ProfileTimelinesRefresher(engine, schema).ResetAsync(tenant, cancellationToken).ConfigureAwait(false);
        }
        return true;
    }
}
