using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using ModelContextProtocol;

namespace SegmentMcp.Mcp;

/// <summary>
/// How tool results are written: snake_case field names (the contract of the tool table), ISO-8601 UTC times, and text
/// as it is (quotes, apostrophes and non-ASCII letters not written as \u escapes: the reader is a model or a person,
/// never an HTML page, and "São Paulo" costs fewer tokens than its escapes).
/// </summary>
internal static class McpJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(McpJsonUtilities.DefaultOptions)
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            DictionaryKeyPolicy = null,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
