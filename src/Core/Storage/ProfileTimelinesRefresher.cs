using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>What one refresh of a tenant's profile timelines did.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Watermark">The ingestion time the timelines now hold every row up to.</param>
/// <param name="Rebuilt">True when the tenant's timelines were built from its whole history.</param>
/// <param name="RowsRead">Rows the engine read.</param>
public sealed record ProfileTimelinesRefresh(string Tenant, DateTime Watermark, bool Rebuilt, ulong RowsRead)
{
    /// <summary>
    /// Set when <see cref="ProfileTimelinesRefresher.RefreshWhenBehindAsync"/> left the timelines where they were: the
    /// history rows ingested after their watermark, fewer than it was asked to wait for.
    /// </summary>
    public long? DeferredRows { get; init; }
}

/// <summary>
/// Keeps <see cref="TableNames.ProfileTimelines"/> in step with the history, tenant by tenant: a profile with rows
/// ingested after the tenant's watermark gets its timeline rows rewritten as the stored ones (cut back to the
/// watermark) plus those rows. Safe to run at any time and from several processes: a rewrite cut short is repeated by the next
/// refresh, since the watermark is recorded last and a timeline's rows after it are dropped before appending. Readers
/// take only a timeline's rows up to the recorded watermark and read everything later from the history, so a refresh
/// in progress never shows them a row twice or misses one.
/// </summary>
public sealed class ProfileTimelinesRefresher(IClickHouseEngine engine, TableNames tables)
{
    private const string Time6 = ClickHouseTime.Microseconds;

    /// <summary>Events per pass of a rebuild: each pass groups about this many rows' timelines in memory (see <see cref="PassBoundsAsync"/>).</summary>
    internal long EventsPerBuildPass { get; init; } = 8_000_000;

    /// <summary>
    /// Changed profiles per statement of an incremental refresh's profile rows. The stored rows it joins reach the
    /// statement as one block whatever the block size (the changed profiles come out of one aggregation), and each holds
    /// a profile's whole history: on the 2M-profile demo 19,822 profiles took 222 MB in one statement, 52 MB in each
    /// of four, in the same total time (ten of 2,000 took twice as long).
    /// </summary>
    internal long ProfilesPerPass { get; init; } = 5_000;

    /// <summary>Refreshes every tenant that has profiles.</summary>
    public async Task<IReadOnlyList<ProfileTimelinesRefresh>> RefreshAllAsync(CancellationToken cancellationToken = default)
    {
        var tenants = await engine.QueryAsync(
            Sql.Of($"SELECT DISTINCT tenant FROM {Sql.Table(tables.Profiles)} ORDER BY tenant"),
            row => row.GetString(0),
            cancellationToken).ConfigureAwait(false);
        var results = new List<ProfileTimelinesRefresh>();
        foreach (var tenant in tenants)
        {
            results.Add(await RefreshAsync(tenant, cancellationToken).ConfigureAwait(false));
        }

        return results;
    }

    /// <summary>Brings one tenant's timelines up to the engine's exact ingestion watermark.</summary>
    public Task<ProfileTimelinesRefresh> RefreshAsync(string tenant, CancellationToken cancellationToken = default) =>
        RefreshAsync(tenant, null, cancellationToken);

    /// <summary>
    /// Brings one tenant's timelines up to date once the history rows (events and profile updates) ingested after their
    /// watermark reach <paramref name="share"/> of the tenant's profile rows; fewer are left for readers to take from
    /// the history. Timelines never built, or written by an older version, are built at once; a share of 0 always
    /// refreshes.
    /// </summary>
    public async Task<ProfileTimelinesRefresh> RefreshWhenBehindAsync(string tenant, double share, CancellationToken cancellationToken = default)
    {
        var tenantParameter = Sql.Named("tenant", "String", tenant);
        var (from, complete) = await StoredWatermarkAsync(tenantParameter, cancellationToken).ConfigureAwait(false);
        if (share <= 0 || from is null || !complete)
        {
            return await RefreshAsync(tenant, null, cancellationToken).ConfigureAwait(false);
        }

        var after = Sql.Of($"tenant = {tenantParameter} AND ingested_at > {Sql.Named("from", Time6, from.Value)}");
        var behind = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT (SELECT count() FROM {Sql.Table(tables.Events)} WHERE {after}{CandidateQuery.IngestOrder}) + (SELECT count() FROM {Sql.Table(tables.ProfileUpdates)} WHERE {after}{CandidateQuery.IngestOrder}),
                       (SELECT count() FROM {Sql.Table(tables.Profiles)} WHERE tenant = {tenantParameter})
                """),
            cancellationToken).ConfigureAwait(false);
        var (rows, profileRows) = behind.ReadSingle(row => (row.GetInt64(0), row.GetInt64(1)));
        if (rows < share * profileRows)
        {
            return new ProfileTimelinesRefresh(tenant, from.Value, false, behind.Statistics.RowsRead) { DeferredRows = rows };
        }

        var refreshed = await RefreshAsync(tenant, null, cancellationToken).ConfigureAwait(false);
        return refreshed with { RowsRead = refreshed.RowsRead + behind.Statistics.RowsRead };
    }

    /// <summary>
    /// Brings one tenant's timelines up to <paramref name="upTo"/> (an ingestion time; capped at the engine's watermark,
    /// since rows of inserts still running may be stamped earlier) or, when null, the watermark.
    /// </summary>
    public async Task<ProfileTimelinesRefresh> RefreshAsync(string tenant, DateTime? upTo, CancellationToken cancellationToken = default)
    {
        var watermark = (await IngestClock.ReadAsync(engine, tables, cancellationToken).ConfigureAwait(false)).Watermark;
        var until = upTo is { } requested && requested < watermark ? requested : watermark;
        var tenantParameter = Sql.Named("tenant", "String", tenant);
        var upToParameter = Sql.Named("up_to", Time6, until);
        var (from, complete) = await StoredWatermarkAsync(tenantParameter, cancellationToken).ConfigureAwait(false);
        if (from is not null && !complete)
        {
            // The latest watermark was written without the event times behind it (by a version before them): the
            // timelines are rebuilt, both tables together, after readers stop trusting them.
            await ResetAsync(tenant, cancellationToken).ConfigureAwait(false);
            from = null;
        }

        if (from is { } known && known >= until)
        {
            return new ProfileTimelinesRefresh(tenant, known, false, 0);
        }

        ulong rows = 0;
        if (from is null)
        {
            await DeleteTimelinesAsync(tenantParameter, cancellationToken).ConfigureAwait(false);
            var events = await engine.QueryScalarAsync<long>(
                Sql.Of($"SELECT count() FROM {Sql.Table(tables.Events)} WHERE tenant = {tenantParameter}"),
                cancellationToken).ConfigureAwait(false);
            var passes = Math.Max(1, (int)Math.Min(256, (events + EventsPerBuildPass - 1) / EventsPerBuildPass));
            var bounds = passes == 1 ? [] : await PassBoundsAsync(tenantParameter, passes, cancellationToken).ConfigureAwait(false);
            for (var pass = 0; pass <= bounds.Count; pass++)
            {
                var selected = Sql.Of($"ingested_at <= {upToParameter}{ProfileRange(bounds, pass)}");
                foreach (var write in Writes(tenantParameter, selected, cutBackTo: null))
                {
                    rows += (await engine.ExecuteAsync(write, cancellationToken).ConfigureAwait(false)).RowsRead;
                }
            }

            // A compacted store reads a key from one file per level; right after a build the new files overlap.
            await engine.ExecuteAsync(Sql.Of($"OPTIMIZE TABLE {Sql.Table(tables.ProfileTimelines)}"), cancellationToken).ConfigureAwait(false);
            await engine.ExecuteAsync(Sql.Of($"OPTIMIZE TABLE {Sql.Table(tables.ProfileEventTimes)}"), cancellationToken).ConfigureAwait(false);
            await engine.ExecuteAsync(Sql.Of($"OPTIMIZE TABLE {Sql.Table(tables.ProfileSeenTimes)}"), cancellationToken).ConfigureAwait(false);
            await engine.ExecuteAsync(Sql.Of($"OPTIMIZE TABLE {Sql.Table(tables.ProfileTraitHistories)}"), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var fromParameter = Sql.Named("from", Time6, from.Value);
            var window = Sql.Of($"ingested_at > {fromParameter} AND ingested_at <= {upToParameter}");
            var (changed, counted) = await ChangedProfilesAsync(tenantParameter, window, cancellationToken).ConfigureAwait(false);
            rows += counted;
            var passes = (int)Math.Clamp((changed + ProfilesPerPass - 1) / ProfilesPerPass, 1, 64);
            foreach (var write in Writes(tenantParameter, window, fromParameter, passes))
            {
                rows += (await engine.ExecuteAsync(write, cancellationToken).ConfigureAwait(false)).RowsRead;
            }
        }

        await engine.ExecuteAsync(
            Sql.Of($"INSERT INTO {Sql.Table(tables.ProfileTimelinesWatermark)} (tenant, watermark, event_times) VALUES ({tenantParameter}, {upToParameter}, 1)"),
            cancellationToken).ConfigureAwait(false);
        return new ProfileTimelinesRefresh(tenant, until, from is null, rows);
    }

    /// <summary>
    /// Where a rebuild's passes split the tenant's profile ids: <paramref name="passes"/> ranges of about as many
    /// profiles each, in the order the history is sorted in. A pass reads its range's granules only (every table sorts
    /// a profile's rows together under the tenant and metric or property), where a pass by profile hash read every
    /// granule of the history, each pass again: on the 2M-profile demo a rebuild in eleven passes read 2,156M rows by
    /// hash and 265M by range (707 against 413 s), and right after the demo's load one of the hashed passes' statements
    /// ran past the 60 s query limit.
    /// </summary>
    private async Task<IReadOnlyList<string>> PassBoundsAsync(SqlFragment tenant, int passes, CancellationToken cancellationToken)
    {
        var bounds = await engine.QuerySingleAsync(
            Sql.Of(
                $"""
                SELECT arrayDistinct(arrayMap(i -> ids[intDiv(i * length(ids), {Sql.Number(passes)}) + 1], range(1, {Sql.Number(passes)})))
                FROM (SELECT arraySort(groupArray(profile_id)) AS ids FROM {Sql.Table(tables.Profiles)} WHERE tenant = {tenant})
                """),
            row => row.GetStrings(0),
            cancellationToken).ConfigureAwait(false);
        return [.. bounds.Where(b => b.Length > 0)];
    }

    /// <summary>
    /// Pass <paramref name="pass"/> of a rebuild split at <paramref name="bounds"/>: from the bound before it (the first
    /// pass from the start) up to the next (the last to the end), so every profile id falls in exactly one pass.
    /// </summary>
    private static SqlFragment ProfileRange(IReadOnlyList<string> bounds, int pass)
    {
        var from = pass == 0 ? Sql.Empty : Sql.Of($" AND profile_id >= {Sql.Named("pass_from", "String", bounds[pass - 1])}");
        var to = pass == bounds.Count ? Sql.Empty : Sql.Of($" AND profile_id < {Sql.Named("pass_to", "String", bounds[pass])}");
        return Sql.Of($"{from}{to}");
    }

    /// <summary>
    /// The recorded watermark (null when none) and whether it was written with the event times (schema 9): one that was
    /// not means the timelines are rebuilt.
    /// </summary>
    private Task<(DateTime? Watermark, bool Complete)> StoredWatermarkAsync(SqlFragment tenant, CancellationToken cancellationToken) =>
        engine.QuerySingleAsync(
            Sql.Of($"SELECT count(), max(watermark), countIf(event_times = 1) > 0 AND maxIf(watermark, event_times = 1) = max(watermark) FROM {Sql.Table(tables.ProfileTimelinesWatermark)} WHERE tenant = {tenant}"),
            row => (row.GetInt64(0) == 0 ? (DateTime?)null : row.GetDateTime(1), row.GetBoolean(2)),
            cancellationToken);

    /// <summary>The profiles with events or profile updates ingested in <paramref name="window"/>, and the rows read to count them.</summary>
    private async Task<(long Profiles, ulong RowsRead)> ChangedProfilesAsync(SqlFragment tenant, SqlFragment window, CancellationToken cancellationToken)
    {
        var where = Sql.Of($"tenant = {tenant} AND {window}");
        var result = await engine.QueryAsync(
            Sql.Of($"SELECT uniqExact(profile_id) FROM (SELECT profile_id FROM {Sql.Table(tables.Events)} WHERE {where}{CandidateQuery.IngestOrder} UNION ALL SELECT profile_id FROM {Sql.Table(tables.ProfileUpdates)} WHERE {where}{CandidateQuery.IngestOrder})"),
            cancellationToken).ConfigureAwait(false);
        return (result.Scalar<long>(), result.Statistics.RowsRead);
    }

    /// <summary>Forgets a tenant's timelines (after its history was deleted): the next refresh rebuilds them.</summary>
    public async Task ResetAsync(string tenant, CancellationToken cancellationToken = default)
    {
        // The watermark first: from then on readers take nothing from the tenant's timelines.
        var tenantParameter = Sql.Param("String", tenant);
        await engine.ExecuteAsync(
            Sql.Of($"ALTER TABLE {Sql.Table(tables.ProfileTimelinesWatermark)} DELETE WHERE tenant = {tenantParameter} SETTINGS mutations_sync = 2"),
            cancellationToken).ConfigureAwait(false);
        await DeleteTimelinesAsync(tenantParameter, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes a tenant's rows from the four key-value tables (the event times follow the timelines' writes through a
    /// materialized view, not their deletes). A key-value table deletes by reading every key it holds: on the
    /// 2M-profile demo about 13 µs a row, two minutes for the timelines' 9.4M rows, past the 60 s query limit. So when
    /// no other tenant has profiles (one tenant a database, the usual case) the tables are truncated, in a fraction of a
    /// second; otherwise the deletes run without the limit, since stopping one half-way would only leave it to redo.
    /// </summary>
    private async Task DeleteTimelinesAsync(SqlFragment tenant, CancellationToken cancellationToken)
    {
        var othersHaveProfiles = (await engine.QueryAsync(
            Sql.Of($"SELECT 1 FROM {Sql.Table(tables.Profiles)} WHERE tenant != {tenant} LIMIT 1"),
            cancellationToken).ConfigureAwait(false)).Rows.Count > 0;
        foreach (var table in new[] { tables.ProfileTimelines, tables.ProfileEventTimes, tables.ProfileSeenTimes, tables.ProfileTraitHistories })
        {
            var statement = othersHaveProfiles
                ? Sql.Of($"DELETE FROM {Sql.Table(table)} WHERE tenant = {tenant} SETTINGS max_execution_time = 0")
                : Sql.Of($"TRUNCATE TABLE {Sql.Table(table)}");
            await engine.ExecuteAsync(statement, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The statements that write the timeline rows of every profile with history rows passing
    /// <paramref name="selected"/>: those rows, after the stored rows' entries up to <paramref name="cutBackTo"/>
    /// (none when null: a rebuild). A profile has one row per metric it has events of (what a segment query looks up:
    /// only the metrics it reads), a row of its seen times (every event time and profile update time, for the universe)
    /// and a row of its trait history (each in a table of its own, schema 16), two statements a pass, written in <paramref name="profilePasses"/> statements (see <see cref="ProfilesPerPass"/>).
    /// </summary>
    private IEnumerable<SqlFragment> Writes(SqlFragment tenant, SqlFragment selected, SqlFragment? cutBackTo, int profilePasses = 1)
    {
        var events = Sql.Table(tables.Events);
        var updates = Sql.Table(tables.ProfileUpdates);
        var traits = Sql.Table(tables.Traits);
        var timelines = Sql.Table(tables.ProfileTimelines);
        var where = Sql.Of($"tenant = {tenant} AND {selected}");

        // Times and numbers are stored packed (schema 19, PackedArrays): the stored ones are read back before the new
        // rows are appended, and the whole array is packed again.
        SqlFragment Column(string alias, string stored, int element, Packed packed, string storedIngested)
        {
            var appended = Sql.Of($"arrayMap(r -> r.{Sql.Number(element)}, {Sql.Table(alias)}.rows)");
            var storedColumn = Sql.Of($"o.{Sql.Table(stored)}");
            var all = cutBackTo is null
                ? appended
                : Sql.Of($"arrayConcat(arrayFilter((x, i) -> i <= {cutBackTo}, {Unpack(storedColumn, packed)}, {PackedArrays.Times6(Sql.Of($"o.{Sql.Table(storedIngested)}"))}), {appended})");
            return packed switch
            {
                Packed.Times3 => PackedArrays.PackTimes3(all),
                Packed.Times6 => PackedArrays.PackTimes6(all),
                Packed.NullableNumbers => PackedArrays.PackNullableNumbers(all),
                _ => all,
            };
        }

        static SqlFragment Unpack(SqlFragment column, Packed packed) => packed switch
        {
            Packed.Times3 => PackedArrays.Times3(column),
            Packed.Times6 => PackedArrays.Times6(column),
            Packed.NullableNumbers => PackedArrays.NullableNumbers(column),
            _ => column,
        };

        // The stored rows by key lookup as the new rows stream past (join_algorithm 'direct'; the statement's other
        // joins stay hash joins), never all in memory at once: a hash join of 20,000 changed profiles' rows took a tick
        // over 1 GiB on the 2M-profile demo.
        SqlFragment Stored(SqlFragment table, string on) => cutBackTo is null
            ? Sql.Empty
            : Sql.Of($" LEFT JOIN {table} AS o ON o.key = {Sql.Table(on)}");
        // Blocks of 2,048 timelines, written as they come: each block holds the stored rows it joined, whole histories,
        // so with the default blocks (65,409 rows, squashed to 1M before writing) a refresh of 20,000 profiles held
        // them all at once (341 MB for the metric rows alone against 78 MB with 4,096, on the 2M-profile demo). Since the
        // event times are written with each block too (schema 9), a one-worker tick at 1% peaked at 1,155–1,231 MB with
        // 4,096 and 960–1,095 MB with 2,048, in the same time.
        var settings = cutBackTo is null
            ? Sql.Of($"join_use_nulls = 0")
            : Sql.Of($"join_use_nulls = 0, join_algorithm = 'direct,hash', max_block_size = 2048, min_insert_block_size_rows = 2048, min_insert_block_size_bytes = 0");

        // Tuples keep NULL event values in the arrays (groupArray skips a bare NULL).
        var eventKey = TimelineKeys.Events(tenant, Sql.Of($"profile_id"), Sql.Of($"metric"));
        yield return Sql.Of(
            $"""
            INSERT INTO {timelines} (key, tenant, profile_id, metric, event_ts, event_value, event_properties, event_ingested_at)
            SELECT e.key, {tenant}, e.profile_id, e.metric,
                {Column("e", "event_ts", 1, Packed.Times3, "event_ingested_at")}, {Column("e", "event_value", 2, Packed.NullableNumbers, "event_ingested_at")},
                {Column("e", "event_properties", 3, Packed.No, "event_ingested_at")}, {Column("e", "event_ingested_at", 4, Packed.Times6, "event_ingested_at")}
            FROM (SELECT {eventKey} AS key, profile_id, metric, groupArray((ts, value, properties, ingested_at)) AS rows FROM {events} WHERE {where} GROUP BY profile_id, metric) AS e{Stored(timelines, "e.key")}
            SETTINGS {settings}
            """);

        for (var pass = 0; pass < profilePasses; pass++)
        {
            var rowsOfPass = profilePasses == 1 ? where : Sql.Of($"{where} AND cityHash64(profile_id) % {Sql.Number(profilePasses)} = {Sql.Number(pass)}");
            yield return SeenRows(rowsOfPass);
            yield return TraitRows(rowsOfPass);
        }

        // Two rows a profile in tables of their own, each read alone (a property condition needs no seen times, the
        // universe no traits): its seen times, rewritten for every profile with events or updates, and its trait
        // history, rewritten only where traits were written.
        SqlFragment SeenRows(SqlFragment rowsOfPass)
        {
            var seenTimes = Sql.Table(tables.ProfileSeenTimes);
            var seenKey = TimelineKeys.Seen(tenant, Sql.Of($"profile_id"));
            return Sql.Of(
                $"""
                INSERT INTO {seenTimes} (key, tenant, profile_id, seen_at, seen_ingested_at)
                SELECT s.key, {tenant}, s.profile_id, {Column("s", "seen_at", 1, Packed.Times3, "seen_ingested_at")}, {Column("s", "seen_ingested_at", 2, Packed.Times6, "seen_ingested_at")}
                FROM (SELECT {seenKey} AS key, profile_id, groupArray((at, ingested_at)) AS rows FROM (SELECT profile_id, ts AS at, ingested_at FROM {events} WHERE {rowsOfPass} UNION ALL SELECT profile_id, updated_at AS at, ingested_at FROM {updates} WHERE {rowsOfPass}) GROUP BY profile_id) AS s{Stored(seenTimes, "s.key")}
                SETTINGS {settings}
                """);
        }

        SqlFragment TraitRows(SqlFragment rowsOfPass)
        {
            var histories = Sql.Table(tables.ProfileTraitHistories);
            var traitKey = TimelineKeys.Profile(tenant, Sql.Of($"profile_id"));
            return Sql.Of(
                $"""
                INSERT INTO {histories} (key, tenant, profile_id, trait_property, trait_value, trait_updated_at, trait_ingested_at)
                SELECT t.key, {tenant}, t.profile_id,
                    {Column("t", "trait_property", 1, Packed.No, "trait_ingested_at")}, {Column("t", "trait_value", 2, Packed.No, "trait_ingested_at")},
                    {Column("t", "trait_updated_at", 3, Packed.Times3, "trait_ingested_at")}, {Column("t", "trait_ingested_at", 4, Packed.Times6, "trait_ingested_at")}
                FROM (SELECT {traitKey} AS key, profile_id, groupArray((property, value, updated_at, ingested_at)) AS rows FROM {traits} WHERE {rowsOfPass} GROUP BY profile_id) AS t{Stored(histories, "t.key")}
                SETTINGS {settings}
                """);
        }
    }

    /// <summary>How a key-value column is stored (<see cref="PackedArrays"/>).</summary>
    private enum Packed
    {
        No,
        Times3,
        Times6,
        NullableNumbers,
    }
}
