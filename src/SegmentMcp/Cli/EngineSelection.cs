using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Storage.Chdb;
using SegmentMcp.Core.Storage.Server;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Cli;

/// <summary>
/// Which engine a verb runs on: <c>--clickhouse CONN</c> (or SEGMENTMCP_CLICKHOUSE) for a ClickHouse server,
/// otherwise the embedded engine in <c>--data DIR</c> (or SEGMENTMCP_DATA, default ~/.local/share/segmentmcp).
/// With <c>--cluster NAME</c> (or SEGMENTMCP_CLUSTER) the server is the entry point of that cluster and the tables
/// are sharded over it (<see cref="ClusterSchema"/>).
/// </summary>
internal sealed record EngineSelection(string? ConnectionString, string DataPath, string Database, EngineLimits Limits)
{
    /// <summary>The cluster's name in the server's remote_servers, or null for one engine.</summary>
    public string? ClusterName { get; init; }

    /// <summary>Shards per tenant group (null: as created, every shard for a new database).</summary>
    public int? TenantShards { get; init; }

    /// <summary>Replicated*MergeTree shard-local tables.</summary>
    public bool Replicated { get; init; }

    public const string DefaultDatabase = "segmentmcp";

    public static readonly Option<string?> Data = Flags.Text(
        "--data", "DIR", "The embedded engine's data directory (env SEGMENTMCP_DATA; default ~/.local/share/segmentmcp).");

    public static readonly Option<string?> ClickHouse = Flags.Text(
        "--clickhouse", "CONN", "A ClickHouse server instead: \"Host=…;Port=8123;Username=…;Password=…\" or http://user:password@host:8123 (env SEGMENTMCP_CLICKHOUSE).");

    public static readonly Option<string> DatabaseFlag = Flags.Text(
        "--database", "NAME", "The database that holds the tables.", DefaultDatabase, CheckDatabase);

    public static readonly Option<int> QueryTimeout = Flags.Int(
        "--query-timeout", "SECONDS", "How long one query may run, enforced by ClickHouse (ingest, demo and quickstart: default 2 hours).", 60, 1, 86_400);

    /// <summary>The statement limit of the verbs that load data: an insert on a busy machine is slow, not stuck.</summary>
    public static readonly TimeSpan BulkLoadQueryTimeout = TimeSpan.FromHours(2);

    public static readonly Option<string?> Cluster = Flags.Text(
        "--cluster", "NAME", "With --clickhouse: shard the tables over this cluster of the server's remote_servers (env SEGMENTMCP_CLUSTER).", CheckClusterName);

    public static readonly Option<int?> TenantShardsFlag = Flags.OptionalInt(
        "--tenant-shards", "N", "With --cluster: shards in one tenant's group (default every shard; fixed when the tables are created).", 1, 10_000);

    public static readonly Option<bool> ReplicatedFlag = Flags.Switch(
        "--replicated", "With --cluster: ReplicatedMergeTree shard tables over the {shard}/{replica} macros (needs Keeper).");

    /// <summary>The engine flags, declared once: every verb that reads data adds them all.</summary>
    public static IReadOnlyList<Option> Options { get; } = [Data, ClickHouse, DatabaseFlag, QueryTimeout, Cluster, TenantShardsFlag, ReplicatedFlag];

    /// <summary>
    /// Opens the engine the flags select, runs <paramref name="run"/> with the product's services over it for the tenant
    /// of <paramref name="company"/>, and closes the engine: the frame of every verb that reads or writes one tenant.
    /// </summary>
    public static async Task<int> WithServicesAsync(
        ParseResult args, Option<string> company, Func<ServiceProvider, string, Task<int>> run, CancellationToken stop, TimeSpan? queryTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        var tenant = args.GetValue(company) ?? "demo";
        var selection = FromArguments(args, queryTimeout);

        var (engine, schema) = await selection.OpenAsync(stop).ConfigureAwait(false);
        await using (engine.ConfigureAwait(false))
        {
            await using var services = SegmentServices.Build(engine, schema);
            return await run(services, tenant).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The engine the flags select. A verb whose statements are long by nature (a bulk load's inserts on a busy machine,
    /// a mutation rewriting the history) gives its own <paramref name="defaultQueryTimeout"/>; --query-timeout given on
    /// the command line still wins.
    /// </summary>
    public static EngineSelection FromArguments(ParseResult args, TimeSpan? defaultQueryTimeout)
    {
        var selection = FromArguments(args);
        return defaultQueryTimeout is { } longer && args.GetResult(QueryTimeout) is null or { Implicit: true }
            ? selection with { Limits = selection.Limits with { QueryTimeout = longer } }
            : selection;
    }

    public static EngineSelection FromArguments(ParseResult args)
    {
        var connectionFlag = args.GetValue(ClickHouse);
        var dataFlag = args.GetValue(Data);
        if (connectionFlag is not null && dataFlag is not null)
        {
            throw new UsageException("--data and --clickhouse both name an engine: give one");
        }

        var connection = connectionFlag ?? NullIfEmpty(Environment.GetEnvironmentVariable("SEGMENTMCP_CLICKHOUSE"));
        if (connection is not null)
        {
            try
            {
                connection = ServerConnectionString.Normalize(connection);
            }
            catch (FormatException malformed)
            {
                throw new UsageException($"{(connectionFlag is null ? "SEGMENTMCP_CLICKHOUSE" : "--clickhouse")}: {malformed.Message}");
            }
        }

        var data = dataFlag ?? NullIfEmpty(Environment.GetEnvironmentVariable("SEGMENTMCP_DATA")) ?? DefaultDataPath();
        var cluster = args.GetValue(Cluster) ?? NullIfEmpty(Environment.GetEnvironmentVariable("SEGMENTMCP_CLUSTER"));
        if (cluster is not null && CheckClusterName(cluster) is { } problem)
        {
            throw new UsageException(problem);
        }

        var tenantShards = args.GetValue(TenantShardsFlag);
        var replicated = args.GetValue(ReplicatedFlag);
        if (cluster is null && (tenantShards is not null || replicated))
        {
            throw new UsageException($"{(replicated ? "--replicated" : "--tenant-shards")} needs --cluster NAME");
        }

        if (cluster is not null && connection is null)
        {
            throw new UsageException("--cluster needs --clickhouse CONN (the entry point of the cluster)");
        }

        var limits = new EngineLimits
        {
            QueryTimeout = TimeSpan.FromSeconds(args.GetValue(QueryTimeout)),
            Settings = cluster is null ? new Dictionary<string, string>() : ClusterSchema.QuerySettings,
        };
        return new EngineSelection(connection, data, args.ValueOf(DatabaseFlag), limits)
        {
            ClusterName = cluster,
            TenantShards = tenantShards,
            Replicated = replicated,
        };
    }

    public static string DefaultDataPath()
    {
        var dataHome = Environment.GetEnvironmentVariable("XDG_DATA_HOME");
        if (string.IsNullOrEmpty(dataHome))
        {
            dataHome = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share");
        }

        return Path.Combine(dataHome, "segmentmcp");
    }

    public string Describe() =>
        ConnectionString is null ? $"embedded engine at {Path.GetFullPath(DataPath)}"
        : ClusterName is null ? "ClickHouse server"
        : $"ClickHouse cluster '{ClusterName}'";

    /// <summary>
    /// The arguments another verb needs to reach the same data, for the hints a verb prints: the data directory when it
    /// is not the default, the database when not the default, a placeholder for a server's connection string (it may
    /// hold a password, so it is never echoed) and the cluster.
    /// </summary>
    public IReadOnlyList<string> ReachArguments()
    {
        var arguments = new List<string>();
        if (ConnectionString is not null)
        {
            arguments.AddRange(["--clickhouse", "CONN"]);
            if (ClusterName is not null)
            {
                arguments.AddRange(["--cluster", ClusterName]);
            }
        }
        else if (Path.GetFullPath(DataPath) is var full && full != Path.GetFullPath(DefaultDataPath()))
        {
            arguments.AddRange(["--data", full]);
        }

        if (Database != DefaultDatabase)
        {
            arguments.AddRange(["--database", Database]);
        }

        return arguments;
    }

    /// <summary>The schema the verb works on: on a cluster, Distributed tables over shard-local ones.</summary>
    public StorageSchema Schema() => new(Database)
    {
        Cluster = ClusterName is null ? null : new ClusterSchema(ClusterName, ConnectionString!, Limits, TenantShards, Replicated),
    };

    /// <summary>Opens the engine and makes sure the schema exists.</summary>
    public async Task<(IClickHouseEngine Engine, StorageSchema Schema)> OpenAsync(CancellationToken cancellationToken)
    {
        IClickHouseEngine engine = ConnectionString is null
            ? ChdbEngine.Open(DataPath, Limits)
            : new ClickHouseServerEngine(ConnectionString, Limits);
        var schema = Schema();
        await schema.EnsureCreatedAsync(engine, cancellationToken).ConfigureAwait(false);
        return (engine, schema);
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static string? CheckClusterName(string name) =>
        Identifiers.IsName(name) ? null : $"--cluster: '{name}' is not a cluster name SegmentMcp accepts (letters, digits and underscores)";

    private static string? CheckDatabase(string database)
    {
        try
        {
            Identifiers.RequireName(database, "database name");
            return null;
        }
        catch (ArgumentException exception)
        {
            return "--database: " + exception.Message.Split(" (Parameter", 2)[0];
        }
    }
}
