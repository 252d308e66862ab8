using System.ComponentModel;
using System.Text.Json.Nodes;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace SegmentMcp.Mcp.Conformance;

/// <summary>The resources the conformance suite reads and subscribes to (see <see cref="ConformanceFixtures"/>).</summary>
[McpServerResourceType]
internal sealed class ConformanceResources
{
    [McpServerResource(UriTemplate = "test://static-text", Name = "test_static_text", MimeType = "text/plain")]
    [Description("Conformance fixture: a static text resource.")]
    public static string StaticText() => "This is the content of the static text resource.";

    [McpServerResource(UriTemplate = "test://static-binary", Name = "test_static_binary", MimeType = "image/png")]
    [Description("Conformance fixture: a static binary resource (a 1x1 PNG).")]
    public static BlobResourceContents StaticBinary() => BlobResourceContents.FromBytes(ConformanceFixtures.Png, "test://static-binary", "image/png");

    [McpServerResource(UriTemplate = "test://template/{id}/data", Name = "test_template", MimeType = "application/json")]
    [Description("Conformance fixture: a resource template whose content names its {id}.")]
    public static TextResourceContents Template([Description("Any id.")] string id) => new()
    {
        Uri = $"test://template/{id}/data",
        MimeType = "application/json",
        Text = new JsonObject { ["id"] = id, ["templateTest"] = true, ["data"] = $"Data for ID: {id}" }.ToJsonString(),
    };

    [McpServerResource(UriTemplate = "test://watched-resource", Name = "test_watched_resource", MimeType = "text/plain")]
    [Description("Conformance fixture: a resource clients subscribe to (it never changes).")]
    public static string Watched() => "Watched resource content.";
}
