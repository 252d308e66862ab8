using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>Versioned schema migrations (<see cref="SchemaMigrator"/>) altering databases that already hold data.</summary>
public abstract partial class EngineContractTests
{
    private static readonly byte[] TwoEvents = System.Text.Encoding.UTF8.GetBytes(
        """
        {"tenant":"acme","metric":"Placed Order","profile_id":"p1","ts":"2026-11-20 10:00:00.000","value":42.5,"properties":{"category":"sshoes"}}
        {"tenant":"acme","metric":"Placed Order","profile_id":"p2","ts":"2026-11-21 10:00:00.000","value":null,"properties":{}}

        """);

    /// <summary>A database of its own, migrated up to <paramref name="version"/> as a build of that version left it.</summary>
    private async Task<StorageSchema> DatabaseAtVersionAsync(int version)
    {
        var schema = new StorageSchema(TestEngines.DatabaseName());
        await new SchemaMigrator(Engine, schema, schema.Migrations()).MigrateAsync(upTo: version);
        return schema;
    }

    [Fact]
    public async Task The_schema_migrations_end_at_the_current_version()
    {
        var schema = new StorageSchema(TestEngines.DatabaseName());
        Assert.Equal(Enumerable.Range(1, StorageSchema.CurrentVersion), schema.Migrations().Select(m => m.Version));
        Assert.Equal(StorageSchema.CurrentVersion, new SchemaMigrator(Engine, schema, schema.Migrations()).LatestVersion);
        Assert.Equal(0, await schema.ReadVersionAsync(Engine));
    }

    [Fact]
    public async Task A_version_21_database_gets_the_names_its_events_use_and_keeps_them_as_events_arrive()
    {
        var schema = await DatabaseAtVersionAsync(21);
        await Engine.InsertJsonEachRowAsync(schema.Events, TwoEvents, "before-migration");
        await schema.EnsureCreatedAsync(Engine);

        // Built from the events already stored: a metric whose events carry no property is named too.
        var catalog = await TenantCatalogReader.ReadAsync(Engine, schema, "acme");
        Assert.Equal(["Placed Order"], catalog.Metrics);
        Assert.Equal(["category"], catalog.EventProperties("Placed Order"));

        // Kept as events are written, the same event twice (a retried insert) giving one name.
        var later = System.Text.Encoding.UTF8.GetBytes(
            """
            {"tenant":"acme","metric":"Active on Site","profile_id":"p1","ts":"2026-11-22 10:00:00.000","value":null,"properties":{}}
            {"tenant":"acme","metric":"Placed Order","profile_id":"p1","ts":"2026-11-22 11:00:00.000","value":3,"properties":{"category":"sbags","coupon":"sX"}}
            {"tenant":"globex","metric":"Signed Up","profile_id":"p9","ts":"2026-11-22 12:00:00.000","value":null,"properties":{"plan":"sfree"}}

            """);
        await Engine.InsertJsonEachRowAsync(schema.Events, later, "after-migration");
        await Engine.InsertJsonEachRowAsync(schema.Events, later, "after-migration-again");
        catalog = await TenantCatalogReader.ReadAsync(Engine, schema, "acme");
        Assert.Equal(["Active on Site", "Placed Order"], catalog.Metrics.Order(StringComparer.Ordinal));
        Assert.Empty(catalog.EventProperties("Active on Site"));
        Assert.Equal(["category", "coupon"], catalog.EventProperties("Placed Order").Order(StringComparer.Ordinal));
        Assert.Equal(["Signed Up"], (await TenantCatalogReader.ReadAsync(Engine, schema, "globex")).Metrics);
        Assert.Equal(["Active on Site", "Placed Order"], await new SchemaDescriber(Engine, schema).MetricNamesAsync("acme", "", 10, CancellationToken.None));
    }

    [Fact]
    public async Task A_version_1_database_with_data_gets_the_version_2_projections_in_place()
    {
        var schema = new StorageSchema(TestEngines.DatabaseName());
        var migrator = new SchemaMigrator(Engine, schema, schema.Migrations());
        Assert.Equal([1], (await migrator.MigrateAsync(upTo: 1)).Select(m => m.Version));
        await Engine.InsertJsonEachRowAsync(schema.Events, TwoEvents, "before-migration");
        Assert.DoesNotContain("PROJECTION by_time", await CreateQueryAsync(schema, "events"), StringComparison.Ordinal);

        await schema.EnsureCreatedAsync(Engine);

        Assert.Equal(StorageSchema.CurrentVersion, await schema.ReadVersionAsync(Engine));
        Assert.Contains("PROJECTION by_time", await CreateQueryAsync(schema, "events"), StringComparison.Ordinal);
        var traits = await CreateQueryAsync(schema, "traits");
        Assert.Contains("PROJECTION by_update", traits, StringComparison.Ordinal);
        Assert.Contains("PROJECTION by_value", traits, StringComparison.Ordinal);
        Assert.Equal(2L, await Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.Events)}")));
        Assert.Equal(Enumerable.Range(1, StorageSchema.CurrentVersion), await RecordedVersionsAsync(schema));
    }

    [Fact]
    public async Task A_version_6_database_gets_the_phase_1_projections_on_the_parts_it_already_has()
    {
        var schema = await DatabaseAtVersionAsync(6);
        await Engine.InsertJsonEachRowAsync(schema.Events, TwoEvents, "before-migration");
        await new MembershipStore(Engine, schema) { WritesLookup = false }.WriteChangesAsync("acme", "s1", new DateTime(2026, 11, 22, 0, 0, 0, DateTimeKind.Utc), ["p1"], [], null, CancellationToken.None);
        Assert.Equal(["by_time"], await ProjectionsOfActivePartsAsync(schema, "events"));

        await schema.EnsureCreatedAsync(Engine);

        Assert.Equal(StorageSchema.CurrentVersion, await schema.ReadVersionAsync(Engine));
        var events = await CreateQueryAsync(schema, "events");
        Assert.Contains("PROJECTION by_time_256", events, StringComparison.Ordinal);
        Assert.Contains("index_granularity = 256", events, StringComparison.Ordinal);
        Assert.Equal(["by_ingest", "by_time", "by_time_256"], await ProjectionsOfActivePartsAsync(schema, "events"));
        Assert.Contains("PROJECTION by_time_256", await CreateQueryAsync(schema, "traits"), StringComparison.Ordinal);
        Assert.Contains("min_age_to_force_merge_seconds = 3600, min_age_to_force_merge_on_partition_only = 1", events, StringComparison.Ordinal);
        Assert.Contains("INDEX at_idx at TYPE minmax", await CreateQueryAsync(schema, "membership_log"), StringComparison.Ordinal);
        Assert.Equal(2L, await Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.Events)} WHERE metric = 'Placed Order' AND ts >= toDateTime64('2026-11-20 00:00:00', 3, 'UTC')")));
        Assert.Equal(1L, await new MembershipStore(Engine, schema).CountAsync("acme", "s1", CancellationToken.None));
    }

    private async Task<IReadOnlyList<string>> ProjectionsOfActivePartsAsync(TableNames schema, string table) =>
        await Engine.QueryAsync(
            Sql.Of($"SELECT DISTINCT name FROM system.projection_parts WHERE database = {Sql.Param("String", schema.Database)} AND table = {Sql.Param("String", table)} AND active ORDER BY name"),
            row => row.GetString(0));

    [Fact]
    public async Task A_version_2_database_gets_lists_and_the_first_evaluations_of_its_logged_segments()
    {
        var schema = new StorageSchema(TestEngines.DatabaseName());
        Assert.Equal([1, 2], (await new SchemaMigrator(Engine, schema, schema.Migrations()).MigrateAsync(upTo: 2)).Select(m => m.Version));
        var store = new MembershipStore(Engine, schema) { WritesLookup = false };
        var first = new DateTime(2026, 3, 1, 9, 30, 0, DateTimeKind.Utc);
        await store.WriteChangesAsync("acme", "s1", first, ["p1", "p2"], [], null, CancellationToken.None);
        await store.WriteChangesAsync("acme", "s1", first.AddHours(1), [], ["p1"], null, CancellationToken.None);

        await schema.EnsureCreatedAsync(Engine);

        Assert.Equal(first, await store.FirstEvaluatedAtAsync("acme", "s1", CancellationToken.None));
        Assert.Null(await store.FirstEvaluatedAtAsync("acme", "s2", CancellationToken.None));
        Assert.Equal(["p1", "p2"], await store.MembersAtAsync("acme", "s1", first.AddMinutes(59), null, 10, CancellationToken.None));
        Assert.Equal(["p2"], await store.MembersAtAsync("acme", "s1", first.AddHours(1), null, 10, CancellationToken.None));
        Assert.Equal(0L, await Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.ListMembers)}")));
    }

    [Fact]
    public async Task A_version_2_database_with_trait_history_gets_its_current_values_built_from_it()
    {
        var schema = await DatabaseAtVersionAsync(2);
        await Engine.InsertJsonEachRowAsync(
            schema.ProfileUpdates,
            System.Text.Encoding.UTF8.GetBytes(
                """
                {"tenant":"acme","profile_id":"p1","updated_at":"2026-11-01 10:00:00.000","properties":{"city":"sBoston","plan":"sbasic"}}
                {"tenant":"acme","profile_id":"p1","updated_at":"2026-11-02 10:00:00.000","properties":{"city":"sParis"}}
                {"tenant":"acme","profile_id":"p2","updated_at":"2026-11-03 10:00:00.000","properties":{"city":"sBoston"}}

                """),
            "before-migration");

        await schema.EnsureCreatedAsync(Engine);

        Assert.Equal(StorageSchema.CurrentVersion, await schema.ReadVersionAsync(Engine));
        var current = await Engine.QueryAsync(
            Sql.Of($"SELECT profile_id, property, value FROM {Sql.Table(schema.CurrentTraits)} FINAL WHERE tenant = 'acme' ORDER BY profile_id, property"),
            row => (row.GetString(0), row.GetString(1), row.GetString(2)));
        Assert.Equal([("p1", "city", "sParis"), ("p1", "plan", "sbasic"), ("p2", "city", "sBoston")], current);
    }

    [Fact]
    public async Task A_later_migration_alters_a_database_that_holds_data_and_keeps_it()
    {
        var schema = new StorageSchema(TestEngines.DatabaseName());
        await schema.EnsureCreatedAsync(Engine);
        await Engine.InsertJsonEachRowAsync(schema.Events, TwoEvents, "before-migration");
        var events = Sql.Table(schema.Events);
        SchemaMigration addSource = new(
            StorageSchema.CurrentVersion + 1,
            "events carry the source that sent them",
            [
                Sql.Of($"ALTER TABLE {events} ADD COLUMN IF NOT EXISTS source LowCardinality(String) DEFAULT 'unknown'"),
                Sql.Of($"ALTER TABLE {events} ADD INDEX IF NOT EXISTS source_idx source TYPE set(100) GRANULARITY 4"),
            ]);
        var migrator = new SchemaMigrator(Engine, schema, [.. schema.Migrations(), addSource]);
        Assert.Equal([addSource], await migrator.PendingAsync());

        Assert.Equal([addSource], await migrator.MigrateAsync());

        Assert.Equal(StorageSchema.CurrentVersion + 1, await migrator.ReadVersionAsync());
        Assert.Empty(await migrator.PendingAsync());
        Assert.Empty(await migrator.MigrateAsync());
        Assert.Contains("INDEX source_idx", await CreateQueryAsync(schema, "events"), StringComparison.Ordinal);
        var rows = await Engine.QueryAsync(
            Sql.Of($"SELECT profile_id, source, value FROM {events} ORDER BY profile_id"),
            row => (row.GetString(0), row.GetString(1), row.GetNullableDouble(2)));
        Assert.Equal([("p1", "unknown", 42.5), ("p2", "unknown", null)], rows);

        // The rest of the product still works on the altered table, and the current schema sees the newer version.
        await Engine.InsertJsonEachRowAsync(schema.Events, TwoEvents, "after-migration");
        Assert.Equal(4L, await Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {events}")));
        var newer = await Assert.ThrowsAsync<InvalidOperationException>(() => schema.EnsureCreatedAsync(Engine));
        Assert.Contains($"newer than this build's {StorageSchema.CurrentVersion}", newer.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_version_4_database_gets_typed_current_values_computed_for_its_existing_rows()
    {
        var schema = await DatabaseAtVersionAsync(4);
        await Engine.InsertJsonEachRowAsync(
            schema.ProfileUpdates,
            System.Text.Encoding.UTF8.GetBytes(
                """
                {"tenant":"acme","profile_id":"p1","updated_at":"2026-11-01 10:00:00.000","properties":{"signup":"s2026-10-30T23:30:00-05:00","age":"n41","nick":"sBob"}}

                """),
            "before-migration");
        await new CurrentTraitsRefresher(Engine, schema).RefreshAsync("acme");

        await schema.EnsureCreatedAsync(Engine);

        Assert.Equal(StorageSchema.CurrentVersion, await schema.ReadVersionAsync(Engine));
        var typed = await Engine.QueryAsync(
            Sql.Of($"SELECT property, date_value, number_value FROM {Sql.Table(schema.CurrentTraits)} FINAL WHERE tenant = 'acme' ORDER BY property"),
            row => (row.GetString(0), row.GetNullableDateTime(1), row.GetNullableDouble(2)));
        Assert.Equal(
            [("age", null, 41.0), ("nick", null, null), ("signup", new DateTime(2026, 10, 31, 4, 30, 0, DateTimeKind.Utc), null)],
            typed);
    }

    [Fact]
    public async Task A_migration_cut_short_is_not_recorded_and_completes_when_run_again()
    {
        var schema = new StorageSchema(TestEngines.DatabaseName());
        await schema.EnsureCreatedAsync(Engine);
        await Engine.InsertJsonEachRowAsync(schema.Events, TwoEvents, "before-migration");
        var events = Sql.Table(schema.Events);
        var addColumn = Sql.Of($"ALTER TABLE {events} ADD COLUMN IF NOT EXISTS source LowCardinality(String) DEFAULT ''");
        SchemaMigration broken = new(StorageSchema.CurrentVersion + 1, "source column and index", [addColumn, Sql.Of($"ALTER TABLE {events} ADD INDEX IF NOT EXISTS source_idx no_such_column TYPE minmax")]);

        await Assert.ThrowsAsync<ClickHouseException>(() => new SchemaMigrator(Engine, schema, [.. schema.Migrations(), broken]).MigrateAsync());
        Assert.Equal(StorageSchema.CurrentVersion, await schema.ReadVersionAsync(Engine));

        SchemaMigration repaired = broken with { Statements = [addColumn, Sql.Of($"ALTER TABLE {events} ADD INDEX IF NOT EXISTS source_idx source TYPE set(100) GRANULARITY 4")] };
        var migrator = new SchemaMigrator(Engine, schema, [.. schema.Migrations(), repaired]);
        Assert.Equal([repaired], await migrator.MigrateAsync());
        Assert.Equal(StorageSchema.CurrentVersion + 1, await migrator.ReadVersionAsync());
        Assert.Equal(Enumerable.Range(1, StorageSchema.CurrentVersion + 1), await RecordedVersionsAsync(schema));
        Assert.Equal(2L, await Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {events} WHERE source = ''")));
    }

    [Fact]
    public async Task A_database_stamped_only_with_its_final_version_is_up_to_date()
    {
        // How earlier builds recorded versions: every statement run, then a single row for the version reached.
        var schema = new StorageSchema(TestEngines.DatabaseName());
        var migrator = new SchemaMigrator(Engine, schema, schema.Migrations());
        await migrator.MigrateAsync();
        await Engine.ExecuteAsync(Sql.Of($"TRUNCATE TABLE {Sql.Table(schema.SchemaVersions)}"));
        await Engine.ExecuteAsync(Sql.Of($"INSERT INTO {Sql.Table(schema.SchemaVersions)} (version, applied_at) VALUES ({Sql.Param("UInt32", (long)StorageSchema.CurrentVersion)}, now64(3))"));

        Assert.Empty(await migrator.PendingAsync());
        await schema.EnsureCreatedAsync(Engine);
        Assert.Equal([StorageSchema.CurrentVersion], await RecordedVersionsAsync(schema));
    }

    [Fact]
    public async Task A_version_11_database_gets_trait_and_profile_update_projections_in_ingestion_order_that_survive_merges()
    {
        var schema = new StorageSchema(TestEngines.DatabaseName());
        var migrator = new SchemaMigrator(Engine, schema, schema.Migrations());
        await migrator.MigrateAsync(upTo: 11);
        await Engine.ExecuteAsync(Sql.Of(
            $"INSERT INTO {Sql.Table(schema.ProfileUpdates)} (tenant, profile_id, updated_at, properties) SELECT 'acme', concat('p', toString(number)), toDateTime64('2026-11-01 00:00:00', 3, 'UTC'), map('city', concat('s', toString(number % 97))) FROM numbers(60000)"));

        await schema.EnsureCreatedAsync(Engine);

        Assert.Contains("PROJECTION by_ingest", await CreateQueryAsync(schema, "traits"), StringComparison.Ordinal);
        Assert.Contains("PROJECTION by_ingest", await CreateQueryAsync(schema, "profile_updates"), StringComparison.Ordinal);

        // A few rows ingested later, then merged into the big part: by the skip index they would sit in several granules.
        var before = await Engine.QueryScalarAsync<string>(Sql.Of($"SELECT toString(max(ingested_at)) FROM {Sql.Table(schema.ProfileUpdates)}"));
        await Task.Delay(5);
        await Engine.ExecuteAsync(Sql.Of(
            $"INSERT INTO {Sql.Table(schema.ProfileUpdates)} (tenant, profile_id, updated_at, properties) SELECT 'acme', concat('p', toString(number * 20000)), toDateTime64('2026-11-02 00:00:00', 3, 'UTC'), map('city', 'sBoston') FROM numbers(3)"));
        await Engine.ExecuteAsync(Sql.Of($"OPTIMIZE TABLE {Sql.Table(schema.ProfileUpdates)} FINAL"));
        await Engine.ExecuteAsync(Sql.Of($"OPTIMIZE TABLE {Sql.Table(schema.Traits)} FINAL"));

        var after = Sql.Of($"tenant = 'acme' AND ingested_at > toDateTime64({Sql.Param("String", before)}, 6, 'UTC')");
        var traits = await Engine.QueryAsync(Sql.Of($"SELECT property, profile_id FROM {Sql.Table(schema.Traits)} WHERE {after}{CandidateQuery.IngestOrder}"));
        var updates = await Engine.QueryAsync(Sql.Of($"SELECT profile_id FROM {Sql.Table(schema.ProfileUpdates)} WHERE {after}{CandidateQuery.IngestOrder}"));

        Assert.Equal(["p0", "p20000", "p40000"], traits.Read(row => row.GetString(1)).Order(StringComparer.Ordinal));
        Assert.Equal(["p0", "p20000", "p40000"], updates.Read(row => row.GetString(0)).Order(StringComparer.Ordinal));
        // A mark or two of the projection, not the 60,003 rows of the merged part.
        Assert.InRange(traits.Statistics.RowsRead, 3UL, 16_384UL);
        Assert.InRange(updates.Statistics.RowsRead, 3UL, 16_384UL);
    }

    [Fact]
    public async Task A_version_12_database_gets_phase_1_time_projections_with_marks_of_256_rows_in_place_of_1024()
    {
        var schema = await DatabaseAtVersionAsync(12);
        // Ten days of one metric in four parts, an event every 1.44 s: an hour's edge is 2,500 of 600,000 events (ClickHouse
        // reads a projection, even one named, only where it reads fewer marks than the table).
        for (var part = 0; part < 4; part++)
        {
            await Engine.ExecuteAsync(Sql.Of(
                $"INSERT INTO {Sql.Table(schema.Events)} (tenant, metric, profile_id, ts) SELECT 'acme', 'Opened Email', concat('p', toString(number)), toDateTime64('2026-11-01 00:00:00', 3, 'UTC') + toIntervalMillisecond(number * 1440 * 4 + {Sql.Number(part)} * 1440) FROM numbers(150000)"));
        }

        Assert.Equal(["by_ingest", "by_time", TableNames.FineTimeProjection1024], await ProjectionsOfActivePartsAsync(schema, "events"));

        await schema.EnsureCreatedAsync(Engine);

        Assert.Equal(StorageSchema.CurrentVersion, await schema.ReadVersionAsync(Engine));
        Assert.Equal(["by_ingest", "by_time", TableNames.FineTimeProjection], await ProjectionsOfActivePartsAsync(schema, "events"));
        foreach (var table in new[] { "events", "traits" })
        {
            var created = await CreateQueryAsync(schema, table);
            Assert.Contains($"PROJECTION {TableNames.FineTimeProjection} ", created, StringComparison.Ordinal);
            Assert.DoesNotContain($"PROJECTION {TableNames.FineTimeProjection1024} ", created, StringComparison.Ordinal);
        }

        // The edge phase 1 reads: the hour's events, and at most a mark of 256 rows beyond either end of it in each part.
        var edge = await Engine.QueryAsync(Sql.Of(
            $"SELECT count() FROM {Sql.Table(schema.Events)} WHERE tenant = 'acme' AND metric = 'Opened Email' AND ts >= toDateTime64('2026-11-01 10:00:00', 3, 'UTC') AND ts < toDateTime64('2026-11-01 11:00:00', 3, 'UTC') SETTINGS preferred_optimize_projection_name = '{Sql.Table(TableNames.FineTimeProjection)}'"));
        Assert.Equal(2500L, edge.Scalar<long>());
        Assert.InRange(edge.Statistics.RowsRead, 2500UL, 2500UL + (4 * 2 * 256));
    }

    private async Task<string> CreateQueryAsync(TableNames schema, string table) =>
        await Engine.QueryScalarAsync<string>(Sql.Of(
            $"SELECT create_table_query FROM system.tables WHERE database = {Sql.Param("String", schema.Database)} AND name = {Sql.Param("String", table)}"));

    private async Task<IReadOnlyList<int>> RecordedVersionsAsync(TableNames schema) =>
        await Engine.QueryAsync(Sql.Of($"SELECT version FROM {Sql.Table(schema.SchemaVersions)} FINAL ORDER BY version"), row => row.GetInt32(0));
}

public sealed class SchemaMigratorTests
{
    [Fact]
    public void Versions_must_run_from_1_without_gaps()
    {
        var schema = new StorageSchema("migrations");
        SchemaMigration[] gap = [.. schema.Migrations(), new(StorageSchema.CurrentVersion + 2, "skips a version", [])];
        Assert.Contains("versions run 1, 2, 3", Assert.Throws<ArgumentException>(() => new SchemaMigrator(TestEngines.Embedded, schema, gap)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new SchemaMigrator(TestEngines.Embedded, schema, [.. schema.Migrations().Reverse()]));
    }
}
