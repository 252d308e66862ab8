using System.Data.Common;
using System.Globalization;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage.Server;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>One node of a cluster as <c>system.clusters</c> lists it (host and native TCP port).</summary>
public sealed record ClusterNode(int ShardNumber, int ReplicaNumber, string Host, int Port);

/// <summary>
/// SegmentMcp's tables on a ClickHouse cluster (a <c>remote_servers</c> entry): on every node, shard-local MergeTree
/// tables (<c>events_local</c>, …, with their materialized views, so derived rows stay on the shard of their source
/// row) and Distributed tables under the plain names over them, which every query and insert uses.
/// </summary>
/// <remarks>
/// Sharding is bi-level and decided by the Distributed tables' sharding key: a tenant's group is
/// <see cref="TenantShards"/> consecutive shards starting at <c>cityHash64(tenant) % shards</c>, and within the
/// group a profile's shard is <c>cityHash64(tenant, profile_id) % group size</c>. Every table keyed by profile
/// (events, profile updates, traits, the universe, membership and its log) shards by that key, so all of one profile
/// lives on one shard; the saved segments and their evaluation state shard by tenant (the group's first shard).
/// Without a distributed-DDL coordinator the local tables are created node by node: SegmentMcp connects over HTTP to
/// each node listed in <c>system.clusters</c> (its host, and the HTTP port the node reports when asked through
/// <c>remote()</c> at its native port), with the credentials of the entry point.
/// </remarks>
public sealed partial class ClusterSchema
{
    private readonly string connectionString;
    private readonly EngineLimits limits;

    /// <param name="name">The cluster's name in the server's <c>remote_servers</c>.</param>
    /// <param name="connectionString">The entry point's ClickHouse.Driver connection string (its credentials reach every node).</param>
    /// <param name="limits">The limits every node connection runs under.</param>
    /// <param name="tenantShards">Shards per tenant group (null: as created, or every shard for a new database).</param>
    /// <param name="replicated">Replicated*MergeTree local tables (needs Keeper/ZooKeeper and the shard/replica macros).</param>
    public ClusterSchema(string name, string connectionString, EngineLimits limits, int? tenantShards = null, bool replicated = false)
    {
        Name = Identifiers.RequireName(name, "cluster name");
        if (tenantShards is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(tenantShards), "A tenant group has at least one shard.");
        }

        this.connectionString = connectionString;
        this.limits = limits;
        TenantShards = tenantShards;
        Replicated = replicated;
    }

    public string Name { get; }

    /// <summary>The shards of one tenant's group as requested (null: as the tables were created, default every shard).</summary>
    public int? TenantShards { get; }

    public bool Replicated { get; }

    /// <summary>
    /// The settings every query on the cluster runs with (see the README's "Scaling out"): inserts into a Distributed
    /// table return only once every shard has its rows (so a re-run deduplicates and a read sees them), the entry
    /// point reads its own shard without a network hop, and an IN or JOIN subquery over a Distributed table inside a
    /// distributed query runs as a distributed query itself (the same rows as on one engine, whichever way the tables
    /// involved are sharded).
    /// </summary>
    public static IReadOnlyDictionary<string, string> QuerySettings { get; } = new Dictionary<string, string>
    {
        ["distributed_foreground_insert"] = "1",
        ["prefer_localhost_replica"] = "1",
        ["distributed_product_mode"] = "allow",
        ["optimize_skip_unused_shards"] = "1",
    };

    /// <summary>
    /// The sharding key of every table keyed by profile: the tenant's group of <paramref name="tenantShards"/>
    /// consecutive shards (of <paramref name="shards"/>, wrapping) starts at <c>cityHash64(tenant) % shards</c>, and
    /// the profile's place in it is <c>cityHash64(tenant, profile_id) % tenantShards</c>.
    /// </summary>
    public static SqlFragment ProfileShardingKey(int shards, int tenantShards) =>
        Sql.Of($"(cityHash64(tenant) % {Sql.Number(shards)} + cityHash64(tenant, profile_id) % {Sql.Number(tenantShards)}) % {Sql.Number(shards)}");

    /// <summary>The sharding key of the tables keyed by tenant only (segments, evaluation state): the group's first shard.</summary>
    public static SqlFragment TenantShardingKey(int shards) => Sql.Of($"cityHash64(tenant) % {Sql.Number(shards)}");

    /// <summary>The Distributed table over one shard-local table (the plain name without the local suffix).</summary>
    public SqlFragment DistributedTable(string database, string localTable, bool keyedByProfile, int shards, int tenantShards)
    {
        if (!localTable.EndsWith(TableNames.LocalSuffix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{localTable}' is not a shard-local table.", nameof(localTable));
        }

        var name = localTable[..^TableNames.LocalSuffix.Length];
        var key = keyedByProfile ? ProfileShardingKey(shards, tenantShards) : TenantShardingKey(shards);
        return Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(database)}.{Sql.Table(name)} AS {Sql.Table(database)}.{Sql.Table(localTable)}
            ENGINE = Distributed('{Sql.Table(Name)}', '{Sql.Table(database)}', '{Sql.Table(localTable)}', {key})
            COMMENT 'segmentmcp layout: shards={Sql.Number(shards)} tenant_shards={Sql.Number(tenantShards)}'
            """);
    }

    /// <summary>The nodes of the cluster, every replica of every shard, in shard order.</summary>
    public async Task<IReadOnlyList<ClusterNode>> ReadNodesAsync(IClickHouseEngine engine, CancellationToken cancellationToken = default)
    {
        var rows = await engine.QueryAsync(
            Sql.Of($"SELECT shard_num, replica_num, host_address, port, shard_weight FROM system.clusters WHERE cluster = {Sql.Param("String", Name)} ORDER BY shard_num, replica_num"),
            row => (Node: new ClusterNode(row.GetInt32(0), row.GetInt32(1), row.GetString(2), row.GetInt32(3)), Weight: row.GetInt64(4)),
            cancellationToken).ConfigureAwait(false);
        if (rows.Count == 0)
        {
            var known = await engine.QueryAsync(Sql.Of($"SELECT DISTINCT cluster FROM system.clusters ORDER BY cluster"), row => row.GetString(0), cancellationToken).ConfigureAwait(false);
            throw new InvalidOperationException(
                $"Cluster '{Name}' is not in the server's remote_servers (system.clusters lists: {(known.Count == 0 ? "none" : string.Join(", ", known))}).");
        }

        // The sharding key maps key % shards to the shards in order only when every shard weighs the same.
        if (rows.Any(r => r.Weight != 1))
        {
            throw new InvalidOperationException($"Cluster '{Name}' gives its shards weights other than 1; SegmentMcp shards evenly: set every <weight> to 1.");
        }

        return [.. rows.Select(r => r.Node)];
    }

    /// <summary>
    /// Creates (or migrates) the shard-local tables on every node and the Distributed tables over them, also on every
    /// node, so any node can be the entry point. Refuses a database created for another number of shards or another
    /// tenant group size: its rows would not be where the sharding key looks for them.
    /// </summary>
    /// <returns>The migrations that some node had not had yet.</returns>
    public async Task<IReadOnlyList<SchemaMigration>> EnsureCreatedAsync(IClickHouseEngine engine, string database, CancellationToken cancellationToken = default)
    {
        var nodes = await ReadNodesAsync(engine, cancellationToken).ConfigureAwait(false);
        var shards = nodes.Select(n => n.ShardNumber).Distinct().Count();
        var tenantShards = await ResolveTenantShardsAsync(engine, database, shards, cancellationToken).ConfigureAwait(false);
        var applied = new SortedDictionary<int, SchemaMigration>();
        await ForEachNodeAsync(
            engine,
            nodes,
            async (node, token) =>
            {
                var local = new StorageSchema(database, shardLocal: true, Replicated);
                foreach (var migration in await new SchemaMigrator(node, local, local.Migrations()).MigrateAsync(cancellationToken: token).ConfigureAwait(false))
                {
                    applied[migration.Version] = migration;
                }

                var tables = await node.QueryAsync(
                    Sql.Of(
                        $"""
                        SELECT t.name, countIf(c.name = 'profile_id') > 0
                        FROM system.tables AS t LEFT JOIN system.columns AS c ON c.database = t.database AND c.table = t.name
                        WHERE t.database = {Sql.Param("String", database)} AND endsWith(t.name, {Sql.Param("String", TableNames.LocalSuffix)}) AND t.engine LIKE '%MergeTree'
                        GROUP BY t.name ORDER BY t.name
                        """),
                    row => (Name: row.GetString(0), ByProfile: row.GetBoolean(1)),
                    token).ConfigureAwait(false);
                foreach (var (name, byProfile) in tables)
                {
                    await node.ExecuteAsync(DistributedTable(database, name, byProfile, shards, tenantShards), token).ConfigureAwait(false);
                }

                // A Distributed table created before version 5 lacks the typed columns its shard tables gained.
                var currentTraits = new TableNames(database).CurrentTraits;
                await node.ExecuteAsync(Sql.Of($"ALTER TABLE {Sql.Table(currentTraits)} {CurrentValueSql.Definitions}"), token).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
        return [.. applied.Values];
    }

    /// <summary>Runs <paramref name="action"/> on every node of the cluster (connected directly, one after another).</summary>
    public async Task ForEachNodeAsync(IClickHouseEngine engine, Func<IClickHouseEngine, CancellationToken, Task> action, CancellationToken cancellationToken = default) =>
        await ForEachNodeAsync(engine, await ReadNodesAsync(engine, cancellationToken).ConfigureAwait(false), action, cancellationToken).ConfigureAwait(false);

    /// <summary>Opens a direct connection to one node (the caller disposes it).</summary>
    public async Task<ClickHouseServerEngine> ConnectAsync(IClickHouseEngine engine, ClusterNode node, CancellationToken cancellationToken = default)
    {
        var builder = new DbConnectionStringBuilder { ConnectionString = connectionString };
        var user = builder.TryGetValue("Username", out var u) ? Convert.ToString(u, CultureInfo.InvariantCulture) ?? "default" : "default";
        var password = builder.TryGetValue("Password", out var p) ? Convert.ToString(p, CultureInfo.InvariantCulture) ?? string.Empty : string.Empty;
        var address = $"{(node.Host.Contains(':', StringComparison.Ordinal) ? $"[{node.Host}]" : node.Host)}:{node.Port.ToString(CultureInfo.InvariantCulture)}";

        // system.clusters names the native port; the node itself tells which HTTP port it serves.
        var httpPort = await engine.QueryScalarAsync<long>(
            Sql.Of($"SELECT getServerPort('http_port') FROM remote({Sql.Param("String", address)}, system.one, {Sql.Param("String", user)}, {Sql.Param("String", password)})"),
            cancellationToken).ConfigureAwait(false);
        builder["Host"] = node.Host;
        builder["Port"] = httpPort.ToString(CultureInfo.InvariantCulture);
        return new ClickHouseServerEngine(builder.ConnectionString, limits);
    }

    private async Task ForEachNodeAsync(
        IClickHouseEngine engine, IReadOnlyList<ClusterNode> nodes, Func<IClickHouseEngine, CancellationToken, Task> action, CancellationToken cancellationToken)
    {
        foreach (var node in nodes)
        {
            var connection = await ConnectAsync(engine, node, cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                await action(connection, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<int> ResolveTenantShardsAsync(IClickHouseEngine engine, string database, int shards, CancellationToken cancellationToken)
    {
        var comments = await engine.QueryAsync(
            Sql.Of($"SELECT comment FROM system.tables WHERE database = {Sql.Param("String", database)} AND name = 'events' AND engine = 'Distributed'"),
            row => row.GetString(0),
            cancellationToken).ConfigureAwait(false);
        if (comments.Count == 0)
        {
            var requested = TenantShards ?? shards;
            return requested <= shards
                ? requested
                : throw new InvalidOperationException($"--tenant-shards {requested} is more than cluster '{Name}''s {shards} shards.");
        }

        var layout = LayoutPattern().Match(comments[0]);
        if (!layout.Success)
        {
            throw new InvalidOperationException($"Database '{database}' has Distributed tables that SegmentMcp did not create (no layout in their comment).");
        }

        var createdShards = int.Parse(layout.Groups[1].Value, CultureInfo.InvariantCulture);
        var createdTenantShards = int.Parse(layout.Groups[2].Value, CultureInfo.InvariantCulture);
        if (createdShards != shards)
        {
            throw new InvalidOperationException(
                $"Database '{database}' was sharded over {createdShards} shards and cluster '{Name}' now has {shards}: rows would not be where the sharding key looks; load into a new database.");
        }

        if (TenantShards is { } wanted && wanted != createdTenantShards)
        {
            throw new InvalidOperationException(
                $"Database '{database}' was created with --tenant-shards {createdTenantShards}; it cannot change to {wanted} without moving rows (load into a new database).");
        }

        return createdTenantShards;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"shards=(\d+) tenant_shards=(\d+)")]
    private static partial System.Text.RegularExpressions.Regex LayoutPattern();
}
