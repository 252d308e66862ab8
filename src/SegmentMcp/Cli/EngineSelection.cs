using System.CommandLine;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Storage.Chdb;
using SegmentMcp.Core.Storage.Server;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Cli;

/// <summary>
/// Which engine a verb runs on: <c>--clickhouse CONN</c> (or SEGMENTMCP_CLICKHOUSE) for a ClickHouse server,
/// otherwise the embedded engine in <c>--data DIR</c> (or SEGMENTMCP_DATA, default ~/.local/share/segmentmcp).
/// </summary>
internal sealed record EngineSelection(string? ConnectionString, string DataPath, string Database, EngineLimits Limits)
{
    public const string DefaultDatabase = "segmentmcp";

    public static readonly Option<string?> Data = Flags.Text(
        "--data", "DIR", "The embedded engine's data directory (env SEGMENTMCP_DATA; default ~/.local/share/segmentmcp).");

    public static readonly Option<string?> ClickHouse = Flags.Text(
        "--clickhouse", "CONN", "A ClickHouse server instead: \"Host=…;Port=8123;Username=…;Password=…\" (env SEGMENTMCP_CLICKHOUSE).");

    public static readonly Option<string> DatabaseFlag = Flags.Text(
        "--database", "NAME", "The database that holds the tables.", DefaultDatabase, CheckDatabase);

    public static readonly Option<int> QueryTimeout = Flags.Int(
        "--query-timeout", "SECONDS", "How long one query may run, enforced by ClickHouse.", 60, 1, 86_400);

    /// <summary>The engine flags, declared once: every verb that reads data adds them all.</summary>
    public static IReadOnlyList<Option> Options { get; } = [Data, ClickHouse, DatabaseFlag, QueryTimeout];

    public static EngineSelection FromArguments(ParseResult args)
    {
        var connectionFlag = args.GetValue(ClickHouse);
        var dataFlag = args.GetValue(Data);
        if (connectionFlag is not null && dataFlag is not null)
        {
            throw new UsageException("--data and --clickhouse both name an engine: give one");
        }

        var connection = connectionFlag ?? NullIfEmpty(Environment.GetEnvironmentVariable("SEGMENTMCP_CLICKHOUSE"));
        var data = dataFlag ?? NullIfEmpty(Environment.GetEnvironmentVariable("SEGMENTMCP_DATA")) ?? DefaultDataPath();
        var limits = new EngineLimits { QueryTimeout = TimeSpan.FromSeconds(args.GetValue(QueryTimeout)) };
        return new EngineSelection(connection, data, args.ValueOf(DatabaseFlag), limits);
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

    public string Describe() => ConnectionString is null ? $"embedded engine at {Path.GetFullPath(DataPath)}" : "ClickHouse server";

    /// <summary>Opens the engine and makes sure the schema exists.</summary>
    public async Task<(IClickHouseEngine Engine, StorageSchema Schema)> OpenAsync(CancellationToken cancellationToken)
    {
        IClickHouseEngine engine = ConnectionString is null
            ? ChdbEngine.Open(DataPath, Limits)
            : new ClickHouseServerEngine(ConnectionString, Limits);
        var schema = new StorageSchema(Database);
        await schema.EnsureCreatedAsync(engine, cancellationToken).ConfigureAwait(false);
        return (engine, schema);
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

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
