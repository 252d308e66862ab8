using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>
/// One step of the storage schema: what it changes, as statements that are each idempotent (<c>IF NOT EXISTS</c> on
/// every CREATE and ALTER … ADD), so a step cut short by a crash can simply run again.
/// </summary>
/// <param name="Version">The schema version this step brings a database to: 1, 2, 3… without gaps.</param>
/// <param name="Description">What the step is for (logs, errors, reviews).</param>
/// <param name="Statements">The DDL, in order.</param>
public sealed record SchemaMigration(int Version, string Description, IReadOnlyList<SqlFragment> Statements);

/// <summary>
/// Brings a database to the latest of an ordered list of <see cref="SchemaMigration"/>s: the applied version is the
/// highest recorded in <see cref="TableNames.SchemaVersions"/> (0 for a new database), and every later migration runs
/// in order, each recorded only once all its statements have succeeded. A database created before versions were
/// recorded one by one (only its final version stamped) is therefore up to date as it is.
/// </summary>
/// <remarks>
/// This is the ordered, append-only form of a schema migration (compare Weasel's <c>SchemaMigration</c>, which derives
/// the deltas by comparing live tables with the configured ones): ClickHouse cannot alter most table properties in
/// place, so each change is written once as its own ALTER statements and never edited afterwards. Two processes
/// migrating at once run the same idempotent statements and record the same versions (the table keeps one row per
/// version).
/// </remarks>
public sealed class SchemaMigrator
{
    private readonly IClickHouseEngine engine;
    private readonly TableNames tables;
    private readonly IReadOnlyList<SchemaMigration> migrations;

    public SchemaMigrator(IClickHouseEngine engine, TableNames tables, IReadOnlyList<SchemaMigration> migrations)
    {
        ArgumentNullException.ThrowIfNull(migrations);
        for (var i = 0; i < migrations.Count; i++)
        {
            if (migrations[i].Version != i + 1)
            {
                throw new ArgumentException(
                    $"Migration {i + 1} of the list has version {migrations[i].Version}; versions run 1, 2, 3… in order without gaps.", nameof(migrations));
            }
        }

        this.engine = engine;
        this.tables = tables;
        this.migrations = migrations;
    }

    /// <summary>The version the last migration brings a database to (0 for an empty list).</summary>
    public int LatestVersion => migrations.Count;

    /// <summary>The highest version recorded in the database; 0 when it has no version table (or no database) yet.</summary>
    public async Task<int> ReadVersionAsync(CancellationToken cancellationToken = default)
    {
        var recorded = await engine.QueryScalarAsync<long>(
            Sql.Of($"SELECT count() FROM system.tables WHERE database = {Sql.Param("String", tables.Database)} AND name = 'schema_versions'"),
            cancellationToken).ConfigureAwait(false);
        return recorded == 0
            ? 0
            : await engine.QueryScalarAsync<int>(Sql.Of($"SELECT max(version) FROM {Sql.Table(tables.SchemaVersions)}"), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The migrations the database has not had yet, in order.</summary>
    public async Task<IReadOnlyList<SchemaMigration>> PendingAsync(CancellationToken cancellationToken = default) =>
        Pending(await ReadVersionAsync(cancellationToken).ConfigureAwait(false), LatestVersion);

    /// <summary>
    /// Applies the pending migrations up to <paramref name="upTo"/> (default: all) and returns them. A database
    /// already there costs two light queries. A database at a version newer than the list is refused: this build
    /// does not know what those versions changed.
    /// </summary>
    public async Task<IReadOnlyList<SchemaMigration>> MigrateAsync(int? upTo = null, CancellationToken cancellationToken = default)
    {
        var target = upTo ?? LatestVersion;
        ArgumentOutOfRangeException.ThrowIfNegative(target, nameof(upTo));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(target, LatestVersion, nameof(upTo));
        var pending = Pending(await ReadVersionAsync(cancellationToken).ConfigureAwait(false), target);
        if (pending.Count == 0)
        {
            return pending;
        }

        await engine.ExecuteAsync(Sql.Of($"CREATE DATABASE IF NOT EXISTS {Sql.Table(tables.Database)}"), cancellationToken).ConfigureAwait(false);
        await engine.ExecuteAsync(
            Sql.Of(
                $"""
                CREATE TABLE IF NOT EXISTS {Sql.Table(tables.SchemaVersions)}
                (
                    version UInt32,
                    applied_at DateTime64(3, 'UTC')
                )
                ENGINE = ReplacingMergeTree
                ORDER BY version
                """),
            cancellationToken).ConfigureAwait(false);
        foreach (var migration in pending)
        {
            foreach (var statement in migration.Statements)
            {
                await engine.ExecuteAsync(statement, cancellationToken).ConfigureAwait(false);
            }

            await engine.ExecuteAsync(
                Sql.Of($"INSERT INTO {Sql.Table(tables.SchemaVersions)} (version, applied_at) VALUES ({Sql.Param("UInt32", (long)migration.Version)}, now64(3))"),
                cancellationToken).ConfigureAwait(false);
        }

        return pending;
    }

    private List<SchemaMigration> Pending(int applied, int target)
    {
        if (applied > LatestVersion)
        {
            throw new InvalidOperationException(
                $"Database '{tables.Database}' has schema version {applied}, newer than this build's {LatestVersion}; upgrade segmentmcp.");
        }

        return [.. migrations.Where(m => m.Version > applied && m.Version <= target)];
    }
}
