using System.Globalization;
using System.Text.Json;
using ModelContextProtocol;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Mcp;

/// <summary>Argument checks shared by the tools; every failure is an <see cref="McpException"/> naming the argument.</summary>
internal static class ToolSupport
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    /// <summary>How much of a caller's text an error repeats back.</summary>
    public const int EchoLength = 80;

    /// <summary>At most <see cref="EchoLength"/> characters of <paramref name="text"/> for an error message (never splitting a surrogate pair).</summary>
    public static string Echo(string text)
    {
        if (text.Length <= EchoLength)
        {
            return text;
        }

        var cut = EchoLength - 1;
        if (char.IsHighSurrogate(text[cut - 1]))
        {
            cut--;
        }

        return text[..cut] + "…";
    }

    public static int Limit(int? limit) => Limit(limit, DefaultLimit, MaxLimit);

    /// <summary>A limit argument of a tool with its own default and maximum.</summary>
    public static int Limit(int? limit, int defaultLimit, int maxLimit)
    {
        if (limit is null)
        {
            return defaultLimit;
        }

        return limit >= 1 && limit <= maxLimit
            ? limit.Value
            : throw new McpException($"limit: {limit} is out of range; give 1 to {maxLimit} (default {defaultLimit}).");
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

        // Relative words ("yesterday", "7 days ago") are the model's to resolve: the server's clock is what it needs.
        var now = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        throw new McpException($"{argument}: '{Echo(value)}' is not an ISO-8601 time from 1900 to 2299; write e.g. 2026-11-20T10:00:00Z or 2026-11-20 (the server's time now is {now}).");
    }

    public static string Required(string? value, string argument) =>
        string.IsNullOrWhiteSpace(value) ? throw new McpException($"{argument}: required; give a non-empty string.")
        : value.Length > ArgumentGuard.MaxIdLength ? throw new McpException($"{argument}: at most {ArgumentGuard.MaxIdLength} characters (got {value.Length}: '{Echo(value)}').")
        : value;

    public static string Iso(DateTime time) => time.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>"Unknown segment" with the tenant's segments whose id or name is like the one given.</summary>
    public static McpException UnknownSegment(string segmentId, IEnumerable<(string Id, string Name)> known, string argument = "segment_id") =>
        new($"{argument}: no segment '{Echo(segmentId)}' in this workspace.{Suggestions.DidYouMeanNamed(segmentId, known)} Call list_segments to see the saved segments.");

    /// <summary>
    /// What an id no data has probably meant, as sentences to append to the error or note: ids that differ only in case
    /// or white space, else the property value it is (an email address names its profile; a city says how to list who
    /// lives there).
    /// </summary>
    public static async Task<string> UnknownProfileHintAsync(ProfileReader profiles, string tool, string tenant, string profileId, DateTime now, CancellationToken cancellationToken)
    {
        var similar = await profiles.SimilarIdsAsync(tenant, profileId, cancellationToken).ConfigureAwait(false);
        if (similar.Count > 0)
        {
            return Suggestions.DidYouMean(profileId, similar);
        }

        var matches = await profiles.PropertyValueMatchesAsync(tenant, profileId, now, cancellationToken).ConfigureAwait(false);
        return string.Concat(matches.Select(match => " " + Describe(match, tool)));
    }

    private static string Describe(PropertyValueMatch match, string tool)
    {
        var value = $"'{Echo(match.Value)}'";
        if (match.Holders.Count == 1)
        {
            return $"{value} is the {match.Property} of profile '{match.Holders[0]}': call {tool} with \"profile_id\": {JsonSerializer.Serialize(match.Holders[0])}.";
        }

        if (match.Holders.Count > 1)
        {
            return $"{value} is the {match.Property} of profiles {string.Join(", ", match.Holders.Select(id => $"'{id}'"))}.";
        }

        var condition = JsonSerializer.Serialize(new Dictionary<string, object> { ["property"] = new Dictionary<string, string> { ["name"] = match.Property, ["op"] = "eq", ["value"] = match.Value } });
        return $"{value} is a value of {match.Property} ({match.ProfilesEver.ToString("N0", CultureInfo.InvariantCulture)} profiles have had it), not an id: preview_segment with the condition {condition} lists who has it.";
    }

    /// <summary>The saved segment, or a tool error naming the closest ids.</summary>
    public static async Task<SavedSegment> RequireSegmentAsync(ISegmentStore store, string tenant, string? segmentId, CancellationToken cancellationToken, string argument = "segment_id")
    {
        Required(segmentId, argument);
        var saved = await store.GetAsync(tenant, segmentId!, cancellationToken).ConfigureAwait(false);
        if (saved is not null)
        {
            return saved;
        }

        var all = await store.ListAsync(tenant, cancellationToken).ConfigureAwait(false);
        throw UnknownSegment(segmentId!, all.Select(s => (s.Id, s.Name)), argument);
    }
}
