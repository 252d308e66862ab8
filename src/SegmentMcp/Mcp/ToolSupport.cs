using System.Globalization;
using ModelContextProtocol;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;

namespace SegmentMcp.Mcp;

/// <summary>Argument checks shared by the tools; every failure is an <see cref="McpException"/> naming the argument.</summary>
internal static class ToolSupport
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static int Limit(int? limit)
    {
        if (limit is null)
        {
            return DefaultLimit;
        }

        return limit is >= 1 and <= MaxLimit
            ? limit.Value
            : throw new McpException($"limit: {limit} is out of range; give 1 to {MaxLimit} (default {DefaultLimit}).");
    }

    /// <summary>An ISO-8601 time argument (UTC when no offset is given); null when absent.</summary>
    public static DateTime? Time(string? value, string argument)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (IsoTime.TryParse(value.Trim(), out var utc))
        {
            return utc;
        }

        throw new McpException($"{argument}: '{value}' is not an ISO-8601 time; write e.g. 2026-11-20T10:00:00Z or 2026-11-20.");
    }

    public static string Required(string? value, string argument) =>
        string.IsNullOrWhiteSpace(value) ? throw new McpException($"{argument}: required; give a non-empty string.") : value;

    public static string Iso(DateTime time) => time.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>"Unknown segment" with the closest ids of the tenant.</summary>
    public static McpException UnknownSegment(string segmentId, IEnumerable<string> known) =>
        new($"segment_id: no segment '{segmentId}' in this workspace.{Suggestions.DidYouMean(segmentId, known)} Call list_segments to see the saved segments.");

    /// <summary>The saved segment, or a tool error naming the closest ids.</summary>
    public static async Task<SavedSegment> RequireSegmentAsync(ISegmentStore store, string tenant, string? segmentId, CancellationToken cancellationToken)
    {
        Required(segmentId, "segment_id");
        var saved = await store.GetAsync(tenant, segmentId!, cancellationToken).ConfigureAwait(false);
        if (saved is not null)
        {
            return saved;
        }

        var all = await store.ListAsync(tenant, cancellationToken).ConfigureAwait(false);
        throw UnknownSegment(segmentId!, all.Select(s => s.Id));
    }
}
