using System.Buffers.Text;
using System.Text;
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

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";

    public static string Utf8(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);
}
