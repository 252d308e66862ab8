using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>What one refresh of a tenant's current-value traits did.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Watermark">The ingestion time the table now reflects.</param>
/// <param name="Rebuilt">True when the tenant's table was built from its whole history (first refresh, or after a reset).</param>
/// <param name="RowsRead">Rows the engine read.</param>
public sealed record CurrentTraitsRefresh(string Tenant, DateTime Watermark, bool Rebuilt, ulong RowsRead);

/// <summary>
/// Keeps <see cref="TableNames.CurrentTraits"/> in step with the trait history, tenant by tenant: every (property,
/// profile) pair with history ingested after the tenant's watermark gets its latest value as a live row, and the
/// values it had before are retracted. Safe to run at any time and from several processes: a refresh only adds rows,
/// versioned by the watermark it reflects, and records the watermark last, so a refresh cut short is repeated by the
/// next. Queries never depend on it being recent (the compiler reads history for anything newer than the watermark).
/// </summary>
public sealed class CurrentTraitsRefresher(IClickHouseEngine engine, TableNames tables)
{
    private const string Time6 = ClickHouseTime.Microseconds;

    /// <summary>Refreshes every tenant that has trait history.</summary>
    public async Task<IReadOnlyList<CurrentTraitsRefresh>> RefreshAllAsync(CancellationToken cancellationToken = default)
    {
        var tenants = await engine.QueryAsync(
            Sql.Of($"SELECT DISTINCT tenant FROM {Sql.Table(tables.Traits)} ORDER BY tenant"),
            row => row.GetString(0),
            cancellationToken).ConfigureAwait(false);
        var results = new List<CurrentTraitsRefresh>();
        foreach (var tenant in tenants)
        {
            results.Add(await RefreshAsync(tenant, cancellationToken).ConfigureAwait(false));
        }

        return results;
    }

    /// <summary>Brings one tenant's current values up to the engine's exact ingestion watermark.</summary>
    public Task<CurrentTraitsRefresh> RefreshAsync(string tenant, CancellationToken cancellationToken = default) =>
        RefreshAsync(tenant, null, cancellationToken);

    /// <summary>
    /// Brings one tenant's current values up to <paramref name="upTo"/> (an ingestion time; capped at the engine's
    /// watermark, since rows of inserts still running may be stamped earlier) or, when null, the watermark.
    /// </summary>
    public async Task<CurrentTraitsRefresh> RefreshAsync(string tenant, DateTime? upTo, CancellationToken cancellationToken = default)
    {
        var watermark = (await IngestClock.ReadAsync(engine, tables, cancellationToken).ConfigureAwait(false)).Watermark;
        return await RefreshToWatermarkAsync(tenant, upTo is { } requested && requested < watermark ? requested : watermark, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Brings one tenant's current values up to <paramref name="watermark"/>: an ingestion watermark the caller read
    /// from the engine (<see cref="IngestClock"/>) or an earlier time, trusted without reading the clock again. Later
    /// readings only move forward, so the rows up to it are all there; a tick passes the one it started with.
    /// </summary>
    public async Task<CurrentTraitsRefresh> RefreshToWatermarkAsync(string tenant, DateTime watermark, CancellationToken cancellationToken = default)
    {
        var until = watermark;
        var tenantParameter = Sql.Named("tenant", "String", tenant);
        var upToParameter = Sql.Named("up_to", Time6, until);
        var from = await engine.QuerySingleAsync(
            Sql.Of($"SELECT count(), max(watermark) FROM {Sql.Table(tables.CurrentTraitsWatermark)} WHERE tenant = {tenantParameter}"),
            row => row.GetInt64(0) == 0 ? (DateTime?)null : row.GetDateTime(1),
            cancellationToken).ConfigureAwait(false);
        if (from is { } known && known >= until)
        {
            return new CurrentTraitsRefresh(tenant, known, false, 0);
        }

        ulong rows = 0;
        if (from is null)
        {
            rows += await ResetRowsAsync(tenant, cancellationToken).ConfigureAwait(false);
            var properties = await engine.QueryAsync(
                Sql.Of($"SELECT DISTINCT property FROM {Sql.Table(tables.Traits)} WHERE tenant = {tenantParameter} ORDER BY property"),
                row => row.GetString(0),
                cancellationToken).ConfigureAwait(false);

            // Property by property: one GROUP BY over all of a tenant's pairs would hold every pair in memory at once.
            foreach (var property in properties)
            {
                var source = Sql.Of(
                    $"SELECT property, profile_id, {Latest()} FROM {Sql.Table(tables.Traits)} WHERE tenant = {tenantParameter} AND property = {Sql.Param("String", property)} AND ingested_at <= {upToParameter} GROUP BY property, profile_id");
                rows += (await engine.ExecuteAsync(Live(tenantParameter, upToParameter, source), cancellationToken).ConfigureAwait(false)).RowsRead;
            }
        }
        else
        {
            var fromParameter = Sql.Named("from", Time6, from.Value);
            var keys = Sql.Of(
                $"SELECT property, profile_id FROM {Sql.Table(tables.Traits)} WHERE tenant = {tenantParameter} AND ingested_at > {fromParameter} AND ingested_at <= {upToParameter}{CandidateQuery.IngestOrder}");
            if (tables.HasKeyValueTables)
            {
                rows += await RefreshFromTimelinesAsync(tenantParameter, upToParameter, keys, cancellationToken).ConfigureAwait(false);
                await engine.ExecuteAsync(
                    Sql.Of($"INSERT INTO {Sql.Table(tables.CurrentTraitsWatermark)} (tenant, watermark) VALUES ({tenantParameter}, {upToParameter})"),
                    cancellationToken).ConfigureAwait(false);
                return new CurrentTraitsRefresh(tenant, until, false, rows);
            }

            var latest = Sql.Of(
                $"SELECT property, profile_id, {Latest()} FROM {Sql.Table(tables.Traits)} WHERE tenant = {tenantParameter} AND ingested_at <= {upToParameter} AND (property, profile_id) IN ({keys}) GROUP BY property, profile_id");

            // Retract first: every stored value of a changed pair that is not its latest value. A crash before the
            // live rows leaves the pair without a value, which the compiler never reads (its history is newer than
            // the watermark, which is still the old one).
            var retract = await engine.ExecuteAsync(
                Sql.Of(
                    $"""
                    INSERT INTO {Sql.Table(tables.CurrentTraits)} (tenant, property, value, profile_id, updated_at, ingested_at, version, is_deleted)
                    SELECT {tenantParameter}, c.property, c.value, c.profile_id, c.updated_at, c.ingested_at, {upToParameter}, 1
                    FROM (SELECT property, value, profile_id, updated_at, ingested_at FROM {Sql.Table(tables.CurrentTraits)} WHERE tenant = {tenantParameter} AND is_deleted = 0 AND (property, profile_id) IN ({keys})) AS c
                    LEFT ANTI JOIN (SELECT property, profile_id, latest.1 AS value FROM ({latest})) AS l ON c.property = l.property AND c.profile_id = l.profile_id AND c.value = l.value
                    """),
                cancellationToken).ConfigureAwait(false);
            var live = await engine.ExecuteAsync(Live(tenantParameter, upToParameter, latest), cancellationToken).ConfigureAwait(false);
            rows += retract.RowsRead + live.RowsRead;
        }

        await engine.ExecuteAsync(
            Sql.Of($"INSERT INTO {Sql.Table(tables.CurrentTraitsWatermark)} (tenant, watermark) VALUES ({tenantParameter}, {upToParameter})"),
            cancellationToken).ConfigureAwait(false);
        return new CurrentTraitsRefresh(tenant, until, from is null, rows);
    }

    /// <summary>
    /// The incremental refresh on an engine with profile timelines: the changed pairs' history is read from their
    /// profiles' timelines (and from the trait table for rows ingested after the timelines' watermark), never by
    /// (property, profile_id) from the tables sorted by value or by property, where a few hundred profiles spread over
    /// the key range touch every granule (5.4M rows read for 430 changed profiles on the 2M-profile demo). Every value
    /// a changed pair has had is written in one statement: its latest live, every other one retracted. That covers
    /// whatever an earlier refresh, even one cut short, left stored for the pair (a tombstone for a value never stored
    /// is dropped by FINAL).
    /// </summary>
    /// <remarks>
    /// The changed pairs are read first and bound as constant arrays, once per statement. As subqueries they were read
    /// again at each of their six places, and the history twice (a retraction, then the live rows): 483 ms for 430
    /// changed profiles and 1,243 ms for 3,941, against about a quarter of that now.
    /// </remarks>
    private async Task<ulong> RefreshFromTimelinesAsync(SqlFragment tenant, SqlFragment upTo, SqlFragment keys, CancellationToken cancellationToken)
    {
        var changed = await engine.QueryAsync(
            Sql.Of($"SELECT DISTINCT profile_id, property FROM ({keys}) ORDER BY profile_id, property"),
            cancellationToken).ConfigureAwait(false);
        var rows = changed.Statistics.RowsRead;
        foreach (var batch in changed.Read(row => (Profile: row.GetString(0), Property: row.GetString(1))).Chunk(PairsPerStatement))
        {
            rows += (await engine.ExecuteAsync(RefreshPairs(tenant, upTo, batch), cancellationToken).ConfigureAwait(false)).RowsRead;
        }

        return rows;
    }

    /// <summary>Pairs a statement takes: bounds the arrays bound as parameters and the history one statement holds.</summary>
    private const int PairsPerStatement = 20_000;

    /// <summary>
    /// The timelines are read 1,024 keys at a time (one lookup batch a block): a profile row holds every event time of
    /// the profile besides its traits, and with the default blocks the statement read all changed profiles' rows at
    /// once. On the 2M-profile demo, 3,941 changed profiles took a one-worker tick's resident set to its peak, over 1 GiB.
    /// </summary>
    private static readonly SqlFragment TimelineBlocks = Sql.Of($"max_block_size = 1024");

    /// <summary>
    /// The statement's rows squashed into one block, so one part: a query sees all of a pair's values or none of them,
    /// never the new live value beside the old one or the retraction alone, which a query compiled without the
    /// history fallback (<see cref="CompileOptions.CurrentTraitsComplete"/>) relies on. By default an insert cuts a
    /// part every 1,048,449 rows, which 20,000 pairs with about 50 values each would reach. The block holds what the
    /// statement's GROUP BY of the pairs' values already holds.
    /// </summary>
    private static readonly SqlFragment OnePart = Sql.Of($"min_insert_block_size_rows = 1000000000000, min_insert_block_size_bytes = 1000000000000");

    private SqlFragment RefreshPairs(SqlFragment tenant, SqlFragment upTo, IReadOnlyList<(string Profile, string Property)> pairs)
    {
        var profiles = Sql.Param("Array(String)", pairs.Select(pair => pair.Profile).Distinct(StringComparer.Ordinal).ToArray());
        var pairProperties = Sql.Param("Array(String)", pairs.Select(pair => pair.Property).ToArray());
        var pairProfiles = Sql.Param("Array(String)", pairs.Select(pair => pair.Profile).ToArray());
        var watermark = Sql.Of($"(SELECT max(watermark) FROM {Sql.Table(tables.ProfileTimelinesWatermark)} WHERE tenant = {tenant})");
        var history = Sql.Of(
            $"""
            SELECT property, profile_id, value, updated_at, ingested_at FROM (
                SELECT property, profile_id, value, updated_at, ingested_at FROM {Sql.Table(tables.Traits)}
                WHERE tenant = {tenant} AND profile_id IN changed_profiles AND ingested_at > {watermark} AND ingested_at <= {upTo}
                UNION ALL
                SELECT property, profile_id, value, updated_at, ingested_at FROM {Sql.Table(tables.ProfileTraitHistories)}
                ARRAY JOIN {PackedArrays.TraitHistoryColumns}
                WHERE key IN (SELECT {TimelineKeys.Profile(tenant, Sql.Of($"profile_id"))} FROM (SELECT arrayJoin(changed_profiles) AS profile_id)) AND ingested_at <= {watermark} AND ingested_at <= {upTo})
            WHERE (property, profile_id) IN changed_pairs
            """);

        // Each value a pair has had, with the latest (updated_at, ingested_at) it was written at, the order the
        // compiler's argMax uses: the pair's latest value is live, the others are retracted.
        return Sql.Of(
            $"""
            INSERT INTO {Sql.Table(tables.CurrentTraits)} (tenant, property, value, profile_id, updated_at, ingested_at, version, is_deleted)
            WITH {profiles} AS changed_profiles, arrayZip({pairProperties}, {pairProfiles}) AS changed_pairs
            SELECT {tenant}, property, written.1, profile_id, written.2.1, written.2.2, {upTo}, written.1 != latest
            FROM (
                SELECT property, profile_id, groupArray((value, written_at)) AS pair_values, argMax(value, written_at) AS latest
                FROM (SELECT property, profile_id, value, max((updated_at, ingested_at)) AS written_at FROM ({history}) GROUP BY property, profile_id, value)
                GROUP BY property, profile_id)
            ARRAY JOIN pair_values AS written
            SETTINGS {TimelineBlocks}, {OnePart}
            """);
    }

    /// <summary>
    /// Forgets a tenant's current values (after its history was deleted): the next refresh rebuilds them, and until
    /// then queries read the history.
    /// </summary>
    public async Task ResetAsync(string tenant, CancellationToken cancellationToken = default)
    {
        // The watermark first: from then on the compiler reads the history for every profile of the tenant.
        await MutateAsync(
            t => Sql.Of($"ALTER TABLE {Sql.Table(t.CurrentTraitsWatermark)} DELETE WHERE tenant = {Sql.Param("String", tenant)} SETTINGS mutations_sync = 2"),
            cancellationToken).ConfigureAwait(false);
        await ResetRowsAsync(tenant, cancellationToken).ConfigureAwait(false);
    }

    private async Task<ulong> ResetRowsAsync(string tenant, CancellationToken cancellationToken)
    {
        var tenantParameter = Sql.Param("String", tenant);
        var existing = await engine.QueryScalarAsync<long>(
            Sql.Of($"SELECT count() FROM {Sql.Table(tables.CurrentTraits)} WHERE tenant = {tenantParameter}"),
            cancellationToken).ConfigureAwait(false);
        if (existing > 0)
        {
            await MutateAsync(
                t => Sql.Of($"ALTER TABLE {Sql.Table(t.CurrentTraits)} DELETE WHERE tenant = {tenantParameter} SETTINGS mutations_sync = 2"),
                cancellationToken).ConfigureAwait(false);
        }

        return (ulong)existing;
    }

    /// <summary>A mutation, run where the rows are stored (on a cluster: every shard's local table).</summary>
    private Task MutateAsync(Func<TableNames, SqlFragment> statement, CancellationToken cancellationToken) =>
        tables is StorageSchema schema
            ? schema.ExecuteWhereStoredAsync(engine, statement, cancellationToken)
            : engine.ExecuteAsync(statement(tables), cancellationToken);

    /// <summary>The latest (value, updated_at, ingested_at) of a pair: the same order the compiler's argMax uses.</summary>
    private static SqlFragment Latest() =>
        Sql.Of($"argMax((value, updated_at, ingested_at), (updated_at, ingested_at)) AS latest");

    private SqlFragment Live(SqlFragment tenantParameter, SqlFragment upToParameter, SqlFragment source) =>
        Sql.Of(
            $"""
            INSERT INTO {Sql.Table(tables.CurrentTraits)} (tenant, property, value, profile_id, updated_at, ingested_at, version, is_deleted)
            SELECT {tenantParameter}, property, latest.1, profile_id, latest.2, latest.3, {upToParameter}, 0 FROM ({source})
            """);
}
