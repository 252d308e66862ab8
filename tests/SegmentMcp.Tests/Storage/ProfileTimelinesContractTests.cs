using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>
/// The key-value tables of phase 2: profile timelines (<see cref="ProfileTimelinesRefresher"/>), the membership lookup, and
/// the current-value traits refreshed through the timelines (<see cref="CurrentTraitsRefresher"/>).
/// </summary>
public abstract partial class EngineContractTests
{
    private static byte[] Events(params (string Profile, string Metric, string Ts, string IngestedAt)[] rows) =>
        System.Text.Encoding.UTF8.GetBytes(string.Concat(rows.Select(r =>
            $$"""{"tenant":"acme","metric":"{{r.Metric}}","profile_id":"{{r.Profile}}","ts":"{{r.Ts}}","value":1,"properties":{},"ingested_at":"{{r.IngestedAt}}"}""" + "\n")));

    /// <summary>A database migrated to <paramref name="version"/> holding <paramref name="events"/> of tenant acme.</summary>
    private async Task<StorageSchema> DatabaseAtVersionWithEventsAsync(int version, params (string Profile, string Metric, string Ts, string IngestedAt)[] events)
    {
        var schema = await DatabaseAtVersionAsync(version);
        await Engine.InsertJsonEachRowAsync(schema.Events, Events(events), null);
        return schema;
    }

    [Fact]
    public async Task A_version_5_database_gets_timelines_and_a_membership_lookup_built_from_its_history()
    {
        var schema = await DatabaseAtVersionWithEventsAsync(5, ("p1", "Placed Order", "2026-11-20 10:00:00.000", "2026-11-20 10:00:01.000000"), ("p1", "Opened Email", "2026-11-21 10:00:00.000", "2026-11-21 10:00:01.000000"));
        await Engine.InsertJsonEachRowAsync(
            schema.ProfileUpdates,
            System.Text.Encoding.UTF8.GetBytes("""{"tenant":"acme","profile_id":"p2","updated_at":"2026-11-01 10:00:00.000","properties":{"city":"sBoston"}}""" + "\n"),
            null);
        var store = new MembershipStore(Engine, schema) { WritesLookup = false };
        await store.WriteChangesAsync("acme", "s1", new DateTime(2026, 11, 22, 0, 0, 0, DateTimeKind.Utc), ["p1", "p2"], [], null, CancellationToken.None);
        await store.WriteChangesAsync("acme", "s1", new DateTime(2026, 11, 23, 0, 0, 0, DateTimeKind.Utc), [], ["p1"], null, CancellationToken.None);

        await schema.EnsureCreatedAsync(Engine);

        Assert.Equal(StorageSchema.CurrentVersion, await schema.ReadVersionAsync(Engine));
        var rows = await Engine.QueryAsync(
            Sql.Of($"SELECT profile_id, metric, length(seen_at), arrayStringConcat(trait_property, ',') FROM {AllTimelineRows(schema)} ORDER BY key"),
            row => (row.GetString(0), row.GetString(1), row.GetInt64(2), row.GetString(3)));
        Assert.Equal(
            [("p1", string.Empty, 2L, string.Empty), ("p1", "Opened Email", 0L, string.Empty), ("p1", "Placed Order", 0L, string.Empty), ("p2", string.Empty, 0L, "city"), ("p2", string.Empty, 1L, string.Empty)],
            rows.Order());
        var (members, _) = await store.MembersAmongAsync("acme", "s1", ["p1", "p2", "p3"], CancellationToken.None);
        Assert.Equal(["p2"], members);

        // Version 10 built the membership buckets from membership and dropped the per-member lookup of version 6.
        Assert.Equal(0L, await Engine.QueryScalarAsync<long>(
            Sql.Of($"SELECT count() FROM system.tables WHERE database = {Sql.Param("String", schema.Database)} AND name = 'membership_lookup'")));
        Assert.Equal(["p2"], await Engine.QueryAsync(
            Sql.Of($"SELECT arrayJoin(members) FROM {Sql.Table(schema.MembershipBuckets)}"),
            row => row.GetString(0)));

        // Version 11 writes the buckets through the memtable.
        Assert.Contains("optimize_for_bulk_insert = 0", await Engine.QueryScalarAsync<string>(
            Sql.Of($"SELECT create_table_query FROM system.tables WHERE database = {Sql.Param("String", schema.Database)} AND name = 'membership_buckets'")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_timelines_refresh_cut_short_is_repeated_without_a_row_twice()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var refresher = new ProfileTimelinesRefresher(Engine, schema);
        var t1 = new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc);
        await Engine.InsertJsonEachRowAsync(
            schema.Events,
            Events(("p1", "Placed Order", "2026-10-01 10:00:00.000", "2026-11-01 00:00:00.000000"), ("p2", "Placed Order", "2026-10-02 10:00:00.000", "2026-11-01 00:00:00.000000")),
            null);
        Assert.True((await refresher.RefreshAsync("acme", t1)).Rebuilt);
        await Engine.InsertJsonEachRowAsync(
            schema.Events,
            Events(("p1", "Placed Order", "2026-10-03 10:00:00.000", "2026-11-02 00:00:00.000000"), ("p1", "Opened Email", "2026-10-04 10:00:00.000", "2026-11-02 00:00:00.000000")),
            null);
        Assert.False((await refresher.RefreshAsync("acme", t1.AddDays(1))).Rebuilt);

        // As if that refresh had stopped after writing its rows, before recording its watermark.
        await Engine.ExecuteAsync(Sql.Of($"ALTER TABLE {Sql.Table(schema.ProfileTimelinesWatermark)} DELETE WHERE watermark > {Sql.Param(ClickHouseTime.Microseconds, t1)} SETTINGS mutations_sync = 2"));
        await Engine.InsertJsonEachRowAsync(
            schema.Events,
            Events(("p2", "Placed Order", "2026-10-05 10:00:00.000", "2026-11-03 00:00:00.000000")),
            null);
        await refresher.RefreshAsync("acme", t1.AddDays(2));

        var timelines = await Engine.QueryAsync(
            Sql.Of($"SELECT profile_id, metric, toInt64(sum(length(event_ts))) FROM {Unpacked(schema.ProfileTimelines)} GROUP BY profile_id, metric ORDER BY profile_id, metric"),
            row => (row.GetString(0), row.GetString(1), row.GetInt64(2)));
        var history = await Engine.QueryAsync(
            Sql.Of($"SELECT profile_id, metric, count() FROM {Sql.Table(schema.Events)} GROUP BY profile_id, metric ORDER BY profile_id, metric"),
            row => (row.GetString(0), row.GetString(1), row.GetInt64(2)));
        Assert.Equal(history, timelines);
        Assert.Equal([("p1", 3L), ("p2", 2L)], await Engine.QueryAsync(
            Sql.Of($"SELECT profile_id, length(seen_at) FROM {Unpacked(schema.ProfileSeenTimes)} ORDER BY profile_id"),
            row => (row.GetString(0), row.GetInt64(1))));
    }

    [Fact]
    public async Task An_incremental_refresh_in_passes_writes_what_a_rebuild_writes()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        static byte[] Updates(string ingestedAt, params string[] profiles) =>
            System.Text.Encoding.UTF8.GetBytes(string.Concat(profiles.Select(p =>
                $$"""{"tenant":"acme","profile_id":"{{p}}","updated_at":"2026-10-15 10:00:00.000","properties":{"city":"s{{p}}-{{ingestedAt[..10]}}"},"ingested_at":"{{ingestedAt}}"}""" + "\n")));
        string[] profiles = ["p1", "p2", "p3", "p4", "p5", "p6"];
        await Engine.InsertJsonEachRowAsync(
            schema.Events,
            Events([.. profiles.Select(p => (p, "Placed Order", "2026-10-01 10:00:00.000", "2026-11-01 00:00:00.000000"))]),
            null);
        await Engine.InsertJsonEachRowAsync(schema.ProfileUpdates, Updates("2026-11-01 00:00:00.000000", "p1", "p2", "p3"), null);

        // One changed profile per statement.
        var inPasses = new ProfileTimelinesRefresher(Engine, schema) { ProfilesPerPass = 1 };
        Assert.True((await inPasses.RefreshAsync("acme", new DateTime(2026, 11, 1, 0, 0, 1, DateTimeKind.Utc))).Rebuilt);
        await Engine.InsertJsonEachRowAsync(
            schema.Events,
            Events([.. profiles.Take(5).SelectMany(p => new[] { (p, "Placed Order", "2026-10-20 10:00:00.000", "2026-11-02 00:00:00.000000"), (p, "Opened Email", "2026-10-21 10:00:00.000", "2026-11-02 00:00:00.000000") })]),
            null);
        await Engine.InsertJsonEachRowAsync(schema.ProfileUpdates, Updates("2026-11-02 00:00:00.000000", "p2", "p6"), null);
        var upTo = new DateTime(2026, 11, 2, 0, 0, 1, DateTimeKind.Utc);
        Assert.False((await inPasses.RefreshAsync("acme", upTo)).Rebuilt);
        var incremental = await TimelineRowsAsync(schema);

        await inPasses.ResetAsync("acme");
        Assert.True((await new ProfileTimelinesRefresher(Engine, schema).RefreshAsync("acme", upTo)).Rebuilt);
        var rebuilt = await TimelineRowsAsync(schema);
        Assert.Equal(6 + 4 + 6 + 5, rebuilt.Count); // seen times of all six, trait histories of the four with updates, metric rows
        Assert.Equal(rebuilt, incremental);
    }

    [Fact]
    public async Task A_rebuild_in_profile_ranges_writes_what_one_pass_writes_and_keeps_another_tenants_timelines()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        string[] profiles = ["a", "b1", "b2", "c", "m", "m0", "z", "zz"];
        await Engine.InsertJsonEachRowAsync(
            schema.Events,
            Events([.. profiles.SelectMany(p => new[] { (p, "Placed Order", "2026-10-01 10:00:00.000", "2026-11-01 00:00:00.000000"), (p, "Opened Email", "2026-10-02 10:00:00.000", "2026-11-01 00:00:00.000000") })]),
            null);
        await Engine.InsertJsonEachRowAsync(
            schema.ProfileUpdates,
            System.Text.Encoding.UTF8.GetBytes(string.Concat(profiles.Select(p =>
                $$"""{"tenant":"acme","profile_id":"{{p}}","updated_at":"2026-10-15 10:00:00.000","properties":{"city":"s{{p}}"},"ingested_at":"2026-11-01 00:00:00.000000"}""" + "\n"))),
            null);
        var upTo = new DateTime(2026, 11, 1, 0, 0, 1, DateTimeKind.Utc);
        Assert.True((await new ProfileTimelinesRefresher(Engine, schema).RefreshAsync("acme", upTo)).Rebuilt);
        var onePass = await TimelineRowsAsync(schema);

        // Another tenant with timelines of its own: acme's reset and rebuild must leave them alone.
        await Engine.InsertJsonEachRowAsync(
            schema.Events,
            System.Text.Encoding.UTF8.GetBytes("""{"tenant":"globex","metric":"Placed Order","profile_id":"g1","ts":"2026-10-03 10:00:00.000","value":1,"properties":{},"ingested_at":"2026-11-01 00:00:00.000000"}""" + "\n"),
            null);
        Assert.True((await new ProfileTimelinesRefresher(Engine, schema).RefreshAsync("globex", upTo)).Rebuilt);
        var globex = (await Engine.QueryAsync(
            Sql.Of($"SELECT key FROM {Sql.Table(schema.ProfileEventTimes)} WHERE tenant = {Sql.Param("String", "globex")} ORDER BY key"),
            row => row.GetString(0))).ToList();
        Assert.Single(globex);

        // Two events a pass: about one profile each, split by ranges of profile ids.
        var inRanges = new ProfileTimelinesRefresher(Engine, schema) { EventsPerBuildPass = 2 };
        await inRanges.ResetAsync("acme");
        Assert.True((await inRanges.RefreshAsync("acme", upTo)).Rebuilt);
        Assert.Equal(onePass, (await TimelineRowsAsync(schema)).Where(row => !row.Contains("globex", StringComparison.Ordinal)).ToList());
        Assert.Equal(globex, await Engine.QueryAsync(
            Sql.Of($"SELECT key FROM {Sql.Table(schema.ProfileEventTimes)} WHERE tenant = {Sql.Param("String", "globex")} ORDER BY key"),
            row => row.GetString(0)));
    }

    [Fact]
    public async Task A_version_14_database_forgets_its_timelines_until_a_rebuild_keeps_seen_times_apart_from_traits()
    {
        var schema = await DatabaseAtVersionWithEventsAsync(14, ("p1", "Placed Order", "2026-10-01 10:00:00.000", "2026-11-01 00:00:00.000000"), ("p2", "Opened Email", "2026-10-02 10:00:00.000", "2026-11-01 00:00:00.000000"));
        await Engine.InsertJsonEachRowAsync(
            schema.ProfileUpdates,
            System.Text.Encoding.UTF8.GetBytes("""{"tenant":"acme","profile_id":"p2","updated_at":"2026-10-15 10:00:00.000","properties":{"city":"sBoston"},"ingested_at":"2026-11-01 00:00:00.000000"}""" + "\n"),
            null);

        // As version 14 left them: one row a profile with its seen times and traits together, up to a watermark.
        var upTo = new DateTime(2026, 11, 1, 0, 0, 1, DateTimeKind.Utc);
        await Engine.ExecuteAsync(Sql.Of(
            $"""
            INSERT INTO {Sql.Table(schema.ProfileTimelines)} (key, tenant, profile_id, seen_at, seen_ingested_at, trait_property, trait_value, trait_updated_at, trait_ingested_at)
            VALUES ('4:acme2:p2p', 'acme', 'p2', ['2026-10-02 10:00:00.000', '2026-10-15 10:00:00.000'], ['2026-11-01 00:00:00.000000', '2026-11-01 00:00:00.000000'], ['city'], ['sBoston'], ['2026-10-15 10:00:00.000'], ['2026-11-01 00:00:00.000000'])
            """));
        await Engine.ExecuteAsync(Sql.Of(
            $"INSERT INTO {Sql.Table(schema.ProfileTimelinesWatermark)} (tenant, watermark, event_times) VALUES ('acme', {Sql.Param(ClickHouseTime.Microseconds, upTo)}, 1)"));

        // The upgrade forgets the watermark: readers take nothing from the old rows, and the next refresh rebuilds.
        await schema.EnsureCreatedAsync(Engine);
        Assert.Equal(StorageSchema.CurrentVersion, await schema.ReadVersionAsync(Engine));
        Assert.Equal(0L, await Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.ProfileTimelinesWatermark)}")));
        Assert.True((await new ProfileTimelinesRefresher(Engine, schema).RefreshAsync("acme", upTo)).Rebuilt);

        var rows = await Engine.QueryAsync(
            Sql.Of($"SELECT key, length(seen_at), arrayStringConcat(trait_property, ',') FROM {AllTimelineRows(schema)} WHERE empty(event_ts) ORDER BY key"),
            row => (row.GetString(0), row.GetInt64(1), row.GetString(2)));
        Assert.Equal([("4:acme2:p1s", 1L, string.Empty), ("4:acme2:p2p", 0L, "city"), ("4:acme2:p2s", 2L, string.Empty)], rows);
    }

    /// <summary>Every timeline row, its arrays in a fixed order (a rebuild and a refresh may list entries differently).</summary>
    private async Task<IReadOnlyList<string>> TimelineRowsAsync(StorageSchema schema) =>
        await Engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT concat(key, ' ', toString(arraySort(arrayZip(event_ts, event_value, event_ingested_at))), ' ', toString(arraySort(arrayZip(seen_at, seen_ingested_at))), ' ',
                       toString(arraySort(arrayZip(trait_property, trait_value, trait_updated_at, trait_ingested_at))))
                FROM {AllTimelineRows(schema)} ORDER BY key
                """),
            row => row.GetString(0));

    /// <summary>
    /// The rows of the timelines and of the tables beside them (seen times and trait histories since schema 16) as one
    /// table of all their columns, for tests that compare whole contents.
    /// </summary>
    private static SqlFragment AllTimelineRows(StorageSchema schema) =>
        Sql.Of(
            $"""
            (SELECT key, profile_id, metric, event_ts, event_value, event_ingested_at, CAST([], 'Array(DateTime64(3, \'UTC\'))') AS seen_at, CAST([], 'Array(DateTime64(6, \'UTC\'))') AS seen_ingested_at,
                    CAST([], 'Array(String)') AS trait_property, CAST([], 'Array(String)') AS trait_value, CAST([], 'Array(DateTime64(3, \'UTC\'))') AS trait_updated_at, CAST([], 'Array(DateTime64(6, \'UTC\'))') AS trait_ingested_at
             FROM {Unpacked(schema.ProfileTimelines)}
             UNION ALL
             SELECT key, profile_id, '', [], [], [], seen_at, seen_ingested_at, [], [], [], [] FROM {Unpacked(schema.ProfileSeenTimes)}
             UNION ALL
             SELECT key, profile_id, '', [], [], [], [], [], trait_property, trait_value, trait_updated_at, trait_ingested_at FROM {Unpacked(schema.ProfileTraitHistories)})
            """);

    /// <summary>A key-value table's rows with their packed times and numbers read back (<see cref="PackedArrays"/>, schema 19).</summary>
    private static SqlFragment Unpacked(string table)
    {
        SqlFragment Times3(string column) => Sql.Of($"{PackedArrays.Times3(Sql.Table(column))} AS {Sql.Table(column)}");
        SqlFragment Times6(string column) => Sql.Of($"{PackedArrays.Times6(Sql.Table(column))} AS {Sql.Table(column)}");
        var replaced = table.EndsWith(".profile_seen_times", StringComparison.Ordinal)
            ? Sql.Of($"{Times3("seen_at")}, {Times6("seen_ingested_at")}")
            : table.EndsWith(".profile_trait_histories", StringComparison.Ordinal)
                ? Sql.Of($"{Times3("trait_updated_at")}, {Times6("trait_ingested_at")}")
                : Sql.Of($"{Times3("event_ts")}, {PackedArrays.NullableNumbers(Sql.Of($"event_value"))} AS event_value, {Times6("event_ingested_at")}");
        return Sql.Of($"(SELECT * REPLACE ({replaced}) FROM {Sql.Table(table)})");
    }

    [Fact]
    public async Task A_version_15_database_moves_seen_times_and_trait_histories_into_tables_of_their_own_by_a_rebuild()
    {
        var schema = await DatabaseAtVersionWithEventsAsync(15, ("p1", "Placed Order", "2026-10-01 10:00:00.000", "2026-11-01 00:00:00.000000"));
        await Engine.InsertJsonEachRowAsync(
            schema.ProfileUpdates,
            System.Text.Encoding.UTF8.GetBytes("""{"tenant":"acme","profile_id":"p1","updated_at":"2026-10-15 10:00:00.000","properties":{"city":"sBoston"},"ingested_at":"2026-11-01 00:00:00.000000"}""" + "\n"),
            null);
        var upTo = new DateTime(2026, 11, 1, 0, 0, 1, DateTimeKind.Utc);
        var refresher = new ProfileTimelinesRefresher(Engine, schema);

        // As version 15 left them: seen times and trait history as rows of the timelines, up to a watermark.
        await Engine.ExecuteAsync(Sql.Of(
            $"""
            INSERT INTO {Sql.Table(schema.ProfileTimelines)} (key, tenant, profile_id, event_metric, event_ts, event_value, event_properties, event_ingested_at)
            VALUES ('4:acme2:p1ePlaced Order', 'acme', 'p1', ['Placed Order'], ['2026-10-01 10:00:00.000'], [1], [map()], ['2026-11-01 00:00:00.000000'])
            """));
        await Engine.ExecuteAsync(Sql.Of(
            $"""
            INSERT INTO {Sql.Table(schema.ProfileTimelines)} (key, tenant, profile_id, seen_at, seen_ingested_at, trait_property, trait_value, trait_updated_at, trait_ingested_at)
            VALUES ('4:acme2:p1s', 'acme', 'p1', ['2026-10-01 10:00:00.000', '2026-10-15 10:00:00.000'], ['2026-11-01 00:00:00.000000', '2026-11-01 00:00:00.000000'], [], [], [], []),
                   ('4:acme2:p1p', 'acme', 'p1', [], [], ['city'], ['sBoston'], ['2026-10-15 10:00:00.000'], ['2026-11-01 00:00:00.000000'])
            """));
        await Engine.ExecuteAsync(Sql.Of(
            $"INSERT INTO {Sql.Table(schema.ProfileTimelinesWatermark)} (tenant, watermark, event_times) VALUES ('acme', {Sql.Param(ClickHouseTime.Microseconds, upTo)}, 1)"));

        // The upgrade forgets the watermark and the old rows (version 17 recreates the timelines narrow); the next
        // refresh rebuilds into the new tables.
        await schema.EnsureCreatedAsync(Engine);
        Assert.Equal(StorageSchema.CurrentVersion, await schema.ReadVersionAsync(Engine));
        Assert.Equal(0L, await Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.ProfileTimelinesWatermark)}")));
        Assert.Equal(0L, await Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.ProfileTimelines)}")));
        Assert.True((await refresher.RefreshAsync("acme", upTo)).Rebuilt);
        Assert.Equal([("4:acme2:p1ePlaced Order", "Placed Order", 1L)], await Engine.QueryAsync(
            Sql.Of($"SELECT key, metric, toInt64(length(event_ts)) FROM {Unpacked(schema.ProfileTimelines)} ORDER BY key"),
            row => (row.GetString(0), row.GetString(1), row.GetInt64(2))));

        Assert.Equal([("4:acme2:p1s", 2L)], await Engine.QueryAsync(
            Sql.Of($"SELECT key, length(seen_at) FROM {Unpacked(schema.ProfileSeenTimes)}"),
            row => (row.GetString(0), row.GetInt64(1))));
        Assert.Equal([("4:acme2:p1p", "city", "sBoston")], await Engine.QueryAsync(
            Sql.Of($"SELECT key, arrayStringConcat(trait_property, ','), arrayStringConcat(trait_value, ',') FROM {Sql.Table(schema.ProfileTraitHistories)}"),
            row => (row.GetString(0), row.GetString(1), row.GetString(2))));
        Assert.Equal(0L, await Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.ProfileTimelines)} WHERE empty(event_ts)")));

        // A reset forgets the new tables' rows too.
        await refresher.ResetAsync("acme");
        Assert.Equal(0L, await Engine.QueryScalarAsync<long>(
            Sql.Of($"SELECT (SELECT count() FROM {Sql.Table(schema.ProfileSeenTimes)}) + (SELECT count() FROM {Sql.Table(schema.ProfileTraitHistories)})")));
    }

    [Fact]
    public async Task A_version_16_database_gets_narrow_event_rows_by_a_rebuild_and_its_event_times_stay_in_step()
    {
        var schema = await DatabaseAtVersionWithEventsAsync(16, ("p1", "Placed Order", "2026-10-01 10:00:00.000", "2026-11-01 00:00:00.000000"), ("p1", "Opened Email", "2026-10-02 10:00:00.000", "2026-11-01 00:00:00.000000"));
        var upTo = new DateTime(2026, 11, 1, 0, 0, 1, DateTimeKind.Utc);

        // As version 16 left them: the metric once an event, up to a watermark.
        await Engine.ExecuteAsync(Sql.Of(
            $"""
            INSERT INTO {Sql.Table(schema.ProfileTimelines)} (key, tenant, profile_id, event_metric, event_ts, event_value, event_properties, event_ingested_at)
            VALUES ('4:acme2:p1ePlaced Order', 'acme', 'p1', ['Placed Order'], ['2026-10-01 10:00:00.000'], [1], [map()], ['2026-11-01 00:00:00.000000'])
            """));
        await Engine.ExecuteAsync(Sql.Of(
            $"INSERT INTO {Sql.Table(schema.ProfileTimelinesWatermark)} (tenant, watermark, event_times) VALUES ('acme', {Sql.Param(ClickHouseTime.Microseconds, upTo)}, 1)"));

        // The upgrade forgets the watermark and recreates the table with the metric once a row, and nothing else.
        await schema.EnsureCreatedAsync(Engine);
        Assert.Equal(StorageSchema.CurrentVersion, await schema.ReadVersionAsync(Engine));
        Assert.Equal(0L, await Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.ProfileTimelinesWatermark)}")));
        Assert.Equal(
            ["key", "tenant", "profile_id", "metric", "event_ts", "event_value", "event_properties", "event_ingested_at"],
            await Engine.QueryAsync(
                Sql.Of($"SELECT name FROM system.columns WHERE database = {Sql.Param("String", schema.Database)} AND table = 'profile_timelines' ORDER BY position"),
                row => row.GetString(0)));
        Assert.Equal(0L, await Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.ProfileTimelines)}")));

        // The next refresh rebuilds both the rows and, through the recreated view, the event times.
        Assert.True((await new ProfileTimelinesRefresher(Engine, schema).RefreshAsync("acme", upTo)).Rebuilt);
        await AssertEventTimesMirrorTimelinesAsync(schema, 2);
        Assert.Equal(["Opened Email", "Placed Order"], await Engine.QueryAsync(
            Sql.Of($"SELECT metric FROM {Sql.Table(schema.ProfileTimelines)} ORDER BY metric"),
            row => row.GetString(0)));
    }

    [Fact]
    public async Task A_version_18_database_packs_its_key_value_arrays_by_a_rebuild_and_reads_back_exactly_what_the_history_holds()
    {
        var schema = await DatabaseAtVersionAsync(18);
        await Engine.InsertJsonEachRowAsync(
            schema.Events,
            System.Text.Encoding.UTF8.GetBytes(
                """
                {"tenant":"acme","metric":"Placed Order","profile_id":"p1","ts":"2026-10-01 10:00:00.123","value":19.99,"properties":{"sku":"a"},"ingested_at":"2026-11-01 00:00:00.000001"}
                {"tenant":"acme","metric":"Placed Order","profile_id":"p1","ts":"2026-10-02 10:00:00.007","value":null,"properties":{},"ingested_at":"2026-11-01 00:00:00.999999"}
                {"tenant":"acme","metric":"Placed Order","profile_id":"p1","ts":"1969-12-31 23:59:59.999","value":-0.5,"properties":{},"ingested_at":"2026-11-01 00:00:00.500000"}

                """),
            null);
        await Engine.InsertJsonEachRowAsync(
            schema.ProfileUpdates,
            System.Text.Encoding.UTF8.GetBytes("""{"tenant":"acme","profile_id":"p1","updated_at":"2026-10-15 10:00:00.456","properties":{"city":"sBoston"},"ingested_at":"2026-11-01 00:00:00.250000"}""" + "\n"),
            null);
        var upTo = new DateTime(2026, 11, 1, 0, 0, 1, DateTimeKind.Utc);

        // As version 18 left them: arrays, up to a watermark.
        await Engine.ExecuteAsync(Sql.Of(
            $"""
            INSERT INTO {Sql.Table(schema.ProfileTimelines)} (key, tenant, profile_id, metric, event_ts, event_value, event_properties, event_ingested_at)
            VALUES ('4:acme2:p1ePlaced Order', 'acme', 'p1', 'Placed Order', ['2026-10-01 10:00:00.123'], [19.99], [map('sku', 'a')], ['2026-11-01 00:00:00.000001'])
            """));
        await Engine.ExecuteAsync(Sql.Of(
            $"INSERT INTO {Sql.Table(schema.ProfileTimelinesWatermark)} (tenant, watermark, event_times) VALUES ('acme', {Sql.Param(ClickHouseTime.Microseconds, upTo)}, 1)"));

        // The upgrade forgets the watermark and recreates the four tables with packed columns.
        await schema.EnsureCreatedAsync(Engine);
        Assert.Equal(StorageSchema.CurrentVersion, await schema.ReadVersionAsync(Engine));
        Assert.Equal(0L, await Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.ProfileTimelinesWatermark)}")));
        Assert.Equal(0L, await Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.ProfileTimelines)}")));
        Assert.Equal(
            ["event_ingested_at String", "event_ts String", "event_value String", "seen_at String", "seen_ingested_at String", "trait_ingested_at String", "trait_updated_at String"],
            (await Engine.QueryAsync(
                Sql.Of(
                    $"""
                    SELECT DISTINCT concat(name, ' ', type) FROM system.columns
                    WHERE database = {Sql.Param("String", schema.Database)} AND table IN ('profile_timelines', 'profile_event_times', 'profile_seen_times', 'profile_trait_histories')
                      AND name NOT IN ('key', 'tenant', 'profile_id', 'metric', 'event_properties', 'trait_property', 'trait_value')
                    ORDER BY 1
                    """),
                row => row.GetString(0))).ToArray());

        // The rebuild, then a refresh that appends to the packed rows: both read back as the history holds them.
        var refresher = new ProfileTimelinesRefresher(Engine, schema);
        Assert.True((await refresher.RefreshAsync("acme", upTo)).Rebuilt);
        await AssertPackedRowsEqualHistoryAsync(schema);
        await Engine.InsertJsonEachRowAsync(
            schema.Events,
            System.Text.Encoding.UTF8.GetBytes("""{"tenant":"acme","metric":"Placed Order","profile_id":"p1","ts":"2026-10-03 10:00:00.001","value":3,"properties":{}}""" + "\n"),
            null);
        Assert.False((await refresher.RefreshAsync("acme")).Rebuilt);
        await AssertPackedRowsEqualHistoryAsync(schema);
        await AssertEventTimesMirrorTimelinesAsync(schema, 1);
    }

    private async Task AssertPackedRowsEqualHistoryAsync(StorageSchema schema)
    {
        var timelines = await Engine.QueryAsync(
            Sql.Of($"SELECT toString(arraySort(arrayZip(event_ts, event_value, event_ingested_at))) FROM {Unpacked(schema.ProfileTimelines)}"),
            row => row.GetString(0));
        var events = await Engine.QueryAsync(
            Sql.Of($"SELECT toString(arraySort(groupArray((ts, value, ingested_at)))) FROM {Sql.Table(schema.Events)} WHERE tenant = 'acme'"),
            row => row.GetString(0));
        Assert.Equal(events, timelines);
        Assert.Contains("NULL", timelines[0], StringComparison.Ordinal);
        Assert.Contains("1969-12-31 23:59:59.999", timelines[0], StringComparison.Ordinal);

        var seen = await Engine.QueryAsync(
            Sql.Of($"SELECT toString(arraySort(arrayZip(seen_at, seen_ingested_at))) FROM {Unpacked(schema.ProfileSeenTimes)}"),
            row => row.GetString(0));
        var seenHistory = await Engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT toString(arraySort(groupArray((at, ingested_at)))) FROM (
                    SELECT ts AS at, ingested_at FROM {Sql.Table(schema.Events)} WHERE tenant = 'acme'
                    UNION ALL SELECT updated_at AS at, ingested_at FROM {Sql.Table(schema.ProfileUpdates)} WHERE tenant = 'acme')
                """),
            row => row.GetString(0));
        Assert.Equal(seenHistory, seen);

        var traits = await Engine.QueryAsync(
            Sql.Of($"SELECT toString(arrayZip(trait_property, trait_value, trait_updated_at, trait_ingested_at)) FROM {Unpacked(schema.ProfileTraitHistories)}"),
            row => row.GetString(0));
        Assert.Equal(["[('city','sBoston','2026-10-15 10:00:00.456','2026-11-01 00:00:00.250000')]"], traits);
    }

    [Fact]
    public async Task Event_times_hold_the_timelines_event_rows_without_properties_through_refreshes_resets_and_an_upgrade()
    {
        var schema = await DatabaseAtVersionWithEventsAsync(8, ("p1", "Placed Order", "2026-10-01 10:00:00.000", "2026-11-01 00:00:00.000000"), ("p2", "Opened Email", "2026-10-02 10:00:00.000", "2026-11-01 00:00:00.000000"));

        // As a version 8 refresh left them: timelines up to a watermark (written here as that version wrote them).
        await Engine.ExecuteAsync(Sql.Of(
            $"INSERT INTO {Sql.Table(schema.ProfileTimelinesWatermark)} (tenant, watermark) VALUES ('acme', {Sql.Param(ClickHouseTime.Microseconds, new DateTime(2026, 11, 1, 0, 0, 1, DateTimeKind.Utc))})"));

        // The upgrade forgets the timelines' watermark and rebuilds them, writing the event times with them.
        await schema.EnsureCreatedAsync(Engine);
        var refresher = new ProfileTimelinesRefresher(Engine, schema);
        Assert.Equal(StorageSchema.CurrentVersion, await schema.ReadVersionAsync(Engine));
        await AssertEventTimesMirrorTimelinesAsync(schema, 2);

        // A refresh appends to stored rows (the view writes the whole rewritten row); these are ingested now, after
        // the rebuild's watermark.
        await Engine.InsertJsonEachRowAsync(
            schema.Events,
            System.Text.Encoding.UTF8.GetBytes(
                """
                {"tenant":"acme","metric":"Placed Order","profile_id":"p1","ts":"2026-10-03 10:00:00.000","value":2,"properties":{"sku":"a"}}
                {"tenant":"acme","metric":"Opened Email","profile_id":"p1","ts":"2026-10-04 10:00:00.000","value":null,"properties":{}}

                """),
            null);
        Assert.False((await refresher.RefreshAsync("acme")).Rebuilt);
        await AssertEventTimesMirrorTimelinesAsync(schema, 3);

        // A reset forgets both; the next refresh rebuilds both.
        await refresher.ResetAsync("acme");
        Assert.Equal(0L, await Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.ProfileEventTimes)}")));
        Assert.True((await refresher.RefreshAsync("acme")).Rebuilt);
        await AssertEventTimesMirrorTimelinesAsync(schema, 3);

        // A watermark written by a version before the event times (no event_times flag) does not count for them, and
        // the next refresh rebuilds both tables.
        await Engine.ExecuteAsync(Sql.Of($"INSERT INTO {Sql.Table(schema.ProfileTimelinesWatermark)} (tenant, watermark) VALUES ('acme', now64(6))"));
        Assert.True((await refresher.RefreshAsync("acme")).Rebuilt);
        await AssertEventTimesMirrorTimelinesAsync(schema, 3);
        Assert.Equal(0L, await Engine.QueryScalarAsync<long>(
            Sql.Of($"SELECT countIf(event_times = 0) FROM {Sql.Table(schema.ProfileTimelinesWatermark)} WHERE tenant = 'acme'")));
    }

    private async Task AssertEventTimesMirrorTimelinesAsync(StorageSchema schema, int rows)
    {
        var timelines = await Engine.QueryAsync(
            Sql.Of($"SELECT key, profile_id, metric, toString(event_ts), toString(event_value), toString(event_ingested_at) FROM {Unpacked(schema.ProfileTimelines)} WHERE notEmpty(event_ts) ORDER BY key"),
            row => (row.GetString(0), row.GetString(1), row.GetString(2), row.GetString(3), row.GetString(4), row.GetString(5)));
        var times = await Engine.QueryAsync(
            Sql.Of($"SELECT key, profile_id, metric, toString(event_ts), toString(event_value), toString(event_ingested_at) FROM {Unpacked(schema.ProfileEventTimes)} ORDER BY key"),
            row => (row.GetString(0), row.GetString(1), row.GetString(2), row.GetString(3), row.GetString(4), row.GetString(5)));
        Assert.Equal(rows, timelines.Count);
        Assert.Equal(timelines, times);
    }

    private static byte[] TraitUpdates(params (string Profile, string Property, string Value, string UpdatedAt, string IngestedAt)[] rows) =>
        System.Text.Encoding.UTF8.GetBytes(string.Concat(rows.Select(r =>
            $$"""{"tenant":"acme","profile_id":"{{r.Profile}}","updated_at":"{{r.UpdatedAt}}","properties":{"{{r.Property}}":"s{{r.Value}}"},"ingested_at":"{{r.IngestedAt}}"}""" + "\n")));

    [Fact]
    public async Task Current_values_refreshed_round_by_round_are_each_pairs_latest_value_in_the_history()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var refresher = new CurrentTraitsRefresher(Engine, schema);
        var timelines = new ProfileTimelinesRefresher(Engine, schema);
        (string, string, string, string, string)[][] rounds =
        [
            [("p1", "city", "Boston", "2026-10-01 10:00:00.000", "2026-11-01 00:00:00.000000"), ("p2", "city", "Paris", "2026-10-01 10:00:00.000", "2026-11-01 00:00:00.000000"),
             ("p2", "plan", "free", "2026-10-01 10:00:00.000", "2026-11-01 00:00:00.000000")],
            [("p1", "city", "Rome", "2026-10-05 10:00:00.000", "2026-11-02 00:00:00.000000"), ("p2", "plan", "premium", "2026-10-02 10:00:00.000", "2026-11-02 00:00:00.000000"),
             ("p3", "city", "Boston", "2026-10-02 10:00:00.000", "2026-11-02 00:00:00.000000")],

            // Back to an earlier value, an update dated before the latest one (it loses), two values in one round.
            [("p1", "city", "Boston", "2026-10-06 10:00:00.000", "2026-11-03 00:00:00.000000"), ("p2", "city", "Lyon", "2026-09-01 10:00:00.000", "2026-11-03 00:00:00.000000"),
             ("p3", "city", "Oslo", "2026-10-07 10:00:00.000", "2026-11-03 00:00:00.000000"), ("p3", "city", "Bergen", "2026-10-08 10:00:00.000", "2026-11-03 00:00:00.000000"),
             ("p4", "plan", "free", "2026-10-08 10:00:00.000", "2026-11-03 00:00:00.000000")],

            // Same time, later ingestion wins; a value that was retracted comes back.
            [("p3", "city", "Oslo", "2026-10-08 10:00:00.000", "2026-11-04 00:00:00.000000"), ("p2", "plan", "free", "2026-10-09 10:00:00.000", "2026-11-04 00:00:00.000000")],
        ];
        var day = new DateTime(2026, 11, 1, 0, 0, 1, DateTimeKind.Utc);
        for (var round = 0; round < rounds.Length; round++, day = day.AddDays(1))
        {
            await Engine.InsertJsonEachRowAsync(schema.ProfileUpdates, TraitUpdates(rounds[round]), null);

            // The timelines trail by a round in odd rounds, so a refresh reads history from both the timelines and the table.
            if (round % 2 == 0)
            {
                await timelines.RefreshAsync("acme", day);
            }

            Assert.Equal(round == 0, (await refresher.RefreshAsync("acme", day)).Rebuilt);
            var current = await Engine.QueryAsync(
                Sql.Of($"SELECT profile_id, property, value, updated_at FROM {Sql.Table(schema.CurrentTraits)} FINAL WHERE tenant = 'acme' ORDER BY profile_id, property"),
                row => (row.GetString(0), row.GetString(1), row.GetString(2), row.GetDateTime(3)));
            var latest = await Engine.QueryAsync(
                Sql.Of(
                    $"""
                    SELECT profile_id, property, latest.1, latest.2 FROM (
                        SELECT profile_id, property, argMax((value, updated_at), (updated_at, ingested_at)) AS latest
                        FROM {Sql.Table(schema.Traits)} WHERE tenant = 'acme' GROUP BY profile_id, property)
                    ORDER BY profile_id, property
                    """),
                row => (row.GetString(0), row.GetString(1), row.GetString(2), row.GetDateTime(3)));
            Assert.Equal(latest, current);
        }
    }

    [Fact]
    public async Task Chunks_of_one_segment_written_side_by_side_keep_every_change_of_a_shared_bucket()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var store = new MembershipStore(Engine, schema);
        var at = new DateTime(2026, 11, 22, 0, 0, 0, DateTimeKind.Utc);

        // 6,000 profiles over 4,096 buckets: most buckets hold profiles of several chunks.
        var profiles = Enumerable.Range(0, 6000).Select(i => $"p{i}").ToArray();
        var chunks = profiles.Chunk(500).ToArray();
        await Task.WhenAll(chunks.Select(chunk => store.WriteChangesAsync("acme", "s1", at, chunk, [], null, CancellationToken.None)));

        // Then every third profile leaves, again in parallel chunks.
        var leaving = profiles.Where((_, i) => i % 3 == 0).ToArray();
        await Task.WhenAll(leaving.Chunk(400).Select(chunk => store.WriteChangesAsync("acme", "s1", at.AddHours(1), [], chunk, null, CancellationToken.None)));

        var (members, _) = await store.MembersAmongAsync("acme", "s1", profiles, CancellationToken.None);
        Assert.Equal(profiles.Except(leaving).Order(StringComparer.Ordinal), members.Order(StringComparer.Ordinal));
        Assert.Equal(4000L, await store.CountAsync("acme", "s1", CancellationToken.None));
    }

    [Fact]
    public async Task Changes_of_several_segments_and_chunks_written_together_land_in_each_segment()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var store = new MembershipStore(Engine, schema);
        var at = new DateTime(2026, 11, 22, 0, 0, 0, DateTimeKind.Utc);
        var profiles = Enumerable.Range(0, 3000).Select(i => $"p{i}").ToArray();

        // Two chunks of s1 and one of s2 in one write; s2's members overlap s1's, so their buckets' profiles do too.
        await store.WriteChangesAsync(
            "acme",
            at,
            [new SegmentChanges("s1", profiles[..1500], []), new SegmentChanges("s2", profiles[1000..], []), new SegmentChanges("s1", profiles[1500..], [])],
            null,
            CancellationToken.None);

        // An hour later: s1 loses the even profiles and s2 loses its first 500 while p0..p99 enter it, again together.
        var later = at.AddHours(1);
        var s1Leaving = profiles.Where((_, i) => i % 2 == 0).ToArray();
        await store.WriteChangesAsync(
            "acme",
            later,
            [new SegmentChanges("s2", profiles[..100], profiles[1000..1500]), new SegmentChanges("s1", [], s1Leaving)],
            null,
            CancellationToken.None);

        var s1 = profiles.Except(s1Leaving).ToHashSet(StringComparer.Ordinal);
        var s2 = profiles[..100].Concat(profiles[1500..]).ToHashSet(StringComparer.Ordinal);
        var (both, _) = await store.MembersAmongAsync("acme", [("s1", profiles), ("s2", profiles)], CancellationToken.None);
        Assert.True(s1.SetEquals(both["s1"]));
        Assert.True(s2.SetEquals(both["s2"]));
        Assert.Equal(s1.Count, await store.CountAsync("acme", "s1", CancellationToken.None));
        Assert.Equal(s2.Count, await store.CountAsync("acme", "s2", CancellationToken.None));

        // The log holds each segment's own transitions.
        var s2Changes = await store.ChangesAsync("acme", "s2", later, null, null, 10_000, CancellationToken.None);
        Assert.Equal(600, s2Changes.Count);
        Assert.Equal(100, s2Changes.Count(c => c.Entered));
    }
}
