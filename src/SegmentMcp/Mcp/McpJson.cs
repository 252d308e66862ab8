using System.Text.Json;
using System.Text.Json.Serialization;
using ModelContextProtocol;

namespace SegmentMcp.Mcp;

/// <summary>How tool results are written: snake_case field names (the contract of the tool table), ISO-8601 UTC times.</summary>
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
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
