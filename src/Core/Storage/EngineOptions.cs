namespace SegmentMcp.Core.Storage;

/// <summary>Limits every query runs under, on either engine; enforced by ClickHouse itself.</summary>
public sealed record EngineLimits
{
    /// <summary>ClickHouse's max_execution_time: the engine stops a query that runs longer.</summary>
    public TimeSpan QueryTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>ClickHouse's max_memory_usage per query, in bytes (0 = the engine's default).</summary>
    public long MaxMemoryUsageBytes { get; init; } = 8L * 1024 * 1024 * 1024;

    /// <summary>More settings for every query (a cluster's, see <see cref="ClusterSchema.QuerySettings"/>).</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>Settings both adapters apply to every query.</summary>
    internal IEnumerable<KeyValuePair<string, string>> ToSettings()
    {
        yield return new("max_execution_time", ((long)Math.Ceiling(QueryTimeout.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (MaxMemoryUsageBytes > 0)
        {
            yield return new("max_memory_usage", MaxMemoryUsageBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        yield return new("session_timezone", "UTC");
        yield return new("output_format_json_quote_64bit_integers", "0");
        yield return new("insert_deduplicate", "1");
        foreach (var setting in Settings)
        {
            yield return setting;
        }
    }
}
