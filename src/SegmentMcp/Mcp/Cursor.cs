using System.Buffers.Text;
using System.Text.Json;
using ModelContextProtocol;

namespace SegmentMcp.Mcp;

/// <summary>
/// Opaque paging cursors: base64url of a small JSON array tagged with the tool that issued it, so a cursor from one
/// tool is rejected by another. Callers pass <c>next_cursor</c> back unchanged.
/// </summary>
internal static class Cursor
{
    public static string Encode(string kind, params string[] values)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes((string[])[kind, .. values], McpJson.Options);
        return Base64Url.EncodeToString(json);
    }

    /// <summary>The values of a cursor issued by <paramref name="kind"/>; null for no cursor. Bad cursors become tool errors.</summary>
    public static string[]? Decode(string? cursor, string kind, int valueCount)
    {
        if (string.IsNullOrEmpty(cursor))
        {
            return null;
        }

        try
        {
            var values = JsonSerializer.Deserialize<string[]>(Base64Url.DecodeFromChars(cursor), McpJson.Options);
            if (values is { Length: > 0 } && values.Length == valueCount + 1 && values[0] == kind)
            {
                return values[1..];
            }
        }
        catch (Exception exception) when (exception is FormatException or JsonException)
        {
        }

        throw new McpException($"cursor: '{Shorten(cursor)}' is not a cursor of this tool. Pass the next_cursor of the previous {kind} result unchanged, or omit cursor to start from the beginning.");
    }

    /// <summary>A time carried in a cursor, under the same rules as a time argument; anything else is an invalid cursor.</summary>
    public static DateTime Time(string text, string kind) =>
        Core.Dsl.IsoTime.TryParse(text, out var utc) ? utc : throw Invalid(text, kind);

    /// <summary>A page number carried in a cursor: 0 to <paramref name="maxPage"/>; anything else is an invalid cursor.</summary>
    public static int Page(string text, string kind, int maxPage) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var page) && page <= maxPage
            ? page
            : throw Invalid(text, kind);

    private static McpException Invalid(string value, string kind) =>
        new($"cursor: it carries '{ToolSupport.Echo(value)}', which is not valid. Pass the next_cursor of the previous {kind} result unchanged, or omit cursor to start from the beginning.");

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
