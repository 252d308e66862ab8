using System.Globalization;
using SegmentMcp.Cli;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Benchmarks;

/// <summary>A mistake on the benchmark's command line: the message names the flag; the run exits with 2.</summary>
internal sealed class BenchUsageException(string message) : Exception(message);

/// <summary>
/// A benchmark's flags, <c>--name value</c> or <c>--name=value</c>. Each benchmark reads the flags it knows and then
/// calls <see cref="RejectUnread"/>, so a misspelt flag is an error rather than a silently different run.
/// </summary>
internal sealed class BenchArguments
{
    private readonly Dictionary<string, string> given = new(StringComparer.Ordinal);
    private readonly HashSet<string> read = new(StringComparer.Ordinal);

    public BenchArguments(IReadOnlyList<string> args)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var flag = args[i];
            if (flag.Length <= 2 || !flag.StartsWith("--", StringComparison.Ordinal))
            {
                throw new BenchUsageException($"unexpected argument '{flag}' (flags start with --)");
            }

            var equals = flag.IndexOf('=', StringComparison.Ordinal);
            if (equals > 2)
            {
                given[flag[2..equals]] = flag[(equals + 1)..];
            }
            else if (i + 1 < args.Count)
            {
                given[flag[2..]] = args[++i];
            }
            else
            {
                throw new BenchUsageException($"{flag} needs a value");
            }
        }
    }

    public string? Text(string name)
    {
        read.Add(name);
        return given.GetValueOrDefault(name);
    }

    public int Number(string name, int fallback, int min, int max)
    {
        var text = Text(name);
        return text is null ? fallback
            : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max ? value
            : throw new BenchUsageException($"--{name} must be a whole number from {min} to {max}, not '{text}'");
    }

    /// <summary>A UTC time in ISO 8601 (<c>2026-12-04T16:00:00Z</c>; an offset is converted, none means UTC).</summary>
    public DateTime? Time(string name)
    {
        var text = Text(name);
        return text is null ? null
            : DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value) ? value.UtcDateTime
            : throw new BenchUsageException($"--{name} must be a time in ISO 8601 such as 2026-12-04T16:00:00Z, not '{text}'");
    }

    /// <summary>A comma-separated list of positive whole numbers.</summary>
    public IReadOnlyList<int> Numbers(string name, IReadOnlyList<int> fallback)
    {
        var text = Text(name);
        if (text is null)
        {
            return fallback;
        }

        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return parts.Length > 0 && parts.All(p => int.TryParse(p, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0)
            ? [.. parts.Select(p => int.Parse(p, CultureInfo.InvariantCulture))]
            : throw new BenchUsageException($"--{name} must be comma-separated positive whole numbers, not '{text}'");
    }

    /// <summary>
    /// The engine flags of the product's verbs: <c>--data DIR</c> (env SEGMENTMCP_DATA) or <c>--clickhouse CONN</c>
    /// (env SEGMENTMCP_CLICKHOUSE) with <c>--cluster NAME</c> (env SEGMENTMCP_CLUSTER), <c>--database NAME</c>,
    /// <c>--query-timeout SECONDS</c>. A benchmark of the
    /// embedded engine itself takes only <c>--data</c> and <c>--query-timeout</c>.
    /// </summary>
    public EngineSelection Engine(bool embeddedOnly = false)
    {
        var connection = Text("clickhouse");
        var data = Text("data");
        if (connection is not null && data is not null)
        {
            throw new BenchUsageException("--data and --clickhouse both name an engine: give one");
        }

        if (embeddedOnly && connection is not null)
        {
            throw new BenchUsageException("this benchmark measures the embedded engine: use --data, not --clickhouse");
        }

        var database = embeddedOnly ? EngineSelection.DefaultDatabase : Text("database") ?? EngineSelection.DefaultDatabase;
        try
        {
            Identifiers.RequireName(database, "database name");
        }
        catch (ArgumentException exception)
        {
            throw new BenchUsageException("--database: " + exception.Message.Split(" (Parameter", 2)[0]);
        }

        var server = embeddedOnly ? null : connection ?? Environment("SEGMENTMCP_CLICKHOUSE");
        var cluster = embeddedOnly ? null : Text("cluster") ?? Environment("SEGMENTMCP_CLUSTER");
        if (cluster is not null && (server is null || !Identifiers.IsName(cluster)))
        {
            throw new BenchUsageException("--cluster NAME needs --clickhouse CONN and a name of letters, digits and underscores");
        }

        var limits = new EngineLimits
        {
            QueryTimeout = TimeSpan.FromSeconds(Number("query-timeout", 60, 1, 86_400)),
            Settings = cluster is null ? new Dictionary<string, string>() : ClusterSchema.QuerySettings,
        };
        return new EngineSelection(server, data ?? Environment("SEGMENTMCP_DATA") ?? EngineSelection.DefaultDataPath(), database, limits)
        {
            ClusterName = cluster,
        };
    }

    /// <summary>Call after reading every flag the benchmark knows: anything left over is a mistake.</summary>
    public void RejectUnread()
    {
        var unread = given.Keys.Where(name => !read.Contains(name)).Order(StringComparer.Ordinal).ToList();
        if (unread.Count > 0)
        {
            throw new BenchUsageException($"unknown flag{(unread.Count > 1 ? "s" : string.Empty)}: {string.Join(", ", unread.Select(u => "--" + u))}");
        }
    }

    private static string? Environment(string name) => System.Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;
}
