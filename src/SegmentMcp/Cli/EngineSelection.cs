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

    public static EngineSelection FromArguments(CliArguments args)
    {
        var connection = args.Get("clickhouse") ?? NullIfEmpty(Environment.GetEnvironmentVariable("SEGMENTMCP_CLICKHOUSE"));
        var data = args.Get("data") ?? NullIfEmpty(Environment.GetEnvironmentVariable("SEGMENTMCP_DATA")) ?? DefaultDataPath();
        if (args.Get("clickhouse") is not null && args.Get("data") is not null)
        {
            throw new UsageException("--data and --clickhouse both name an engine: give one");
        }

        var database = args.Get("database") ?? DefaultDatabase;
        try
        {
            Identifiers.RequireName(database, "database name");
        }
        catch (ArgumentException exception)
        {
            throw new UsageException("--database: " + exception.Message.Split(" (Parameter", 2)[0]);
        }

        var timeoutSeconds = args.GetInt("query-timeout", 60, 1, 86_400);
        var limits = new EngineLimits { QueryTimeout = TimeSpan.FromSeconds(timeoutSeconds) };
        return new EngineSelection(connection, data, database, limits);
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
}
