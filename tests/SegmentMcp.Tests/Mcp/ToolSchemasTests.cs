using System.Text.Json;
using System.Text.Json.Nodes;
using SegmentMcp.Mcp;
using SegmentMcp.Mcp.Tools;

namespace SegmentMcp.Tests.Mcp;

public sealed class ToolSchemasTests
{
    [Fact]
    public void Optional_arguments_keep_one_type_and_lose_their_null_default()
    {
        var schema = JsonDocument.Parse("""
            {"type": "object",
             "properties": {
               "segment_id": {"type": "string", "description": "required"},
               "limit": {"description": "optional", "type": ["integer", "null"], "default": null},
               "first": {"type": ["null", "string"]},
               "page": {"type": ["integer", "null"], "default": 100},
               "properties": {"type": ["array", "null"], "items": {"type": ["string", "null"]}, "default": null},
               "either": {"type": ["string", "number"]},
               "three": {"type": ["string", "number", "null"]},
               "definition": {"description": "no type"},
               "draft": {"description": "no type, optional", "default": null},
               "maybe": {"type": ["string", "number", "null"], "default": null}
             },
             "required": ["segment_id"]}
            """).RootElement;

        var rewritten = JsonNode.Parse(ToolSchemas.WithSingleTypes(schema).GetRawText())!;

        var expected = JsonNode.Parse("""
            {"type": "object",
             "properties": {
               "segment_id": {"type": "string", "description": "required"},
               "limit": {"description": "optional", "type": "integer"},
               "first": {"type": "string"},
               "page": {"type": "integer", "default": 100},
               "properties": {"type": "array", "items": {"type": "string"}},
               "either": {"type": ["string", "number"]},
               "three": {"type": ["string", "number", "null"]},
               "definition": {"description": "no type"},
               "draft": {"description": "no type, optional"},
               "maybe": {"type": ["string", "number", "null"], "default": null}
             },
             "required": ["segment_id"]}
            """);
        Assert.True(JsonNode.DeepEquals(expected, rewritten), rewritten.ToJsonString());
    }

    [Fact]
    public void A_schema_without_properties_is_returned_as_it_is()
    {
        var schema = JsonDocument.Parse("""{"type": "object"}""").RootElement;
        Assert.Equal("""{"type": "object"}""", ToolSchemas.WithSingleTypes(schema).GetRawText());
    }

    [Fact]
    public void The_tool_names_come_from_the_attributes_of_the_given_classes_only()
    {
        var names = ToolSchemas.NamesOf([typeof(PreviewTools), typeof(SchemaTools)]);
        Assert.Contains("preview_segment", names);
        Assert.Contains("describe_schema", names);
        Assert.DoesNotContain("create_segment", names);
    }
}
