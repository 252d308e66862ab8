using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Server;

namespace SegmentMcp.Mcp;

/// <summary>
/// Describes each optional tool argument by its one JSON type. The SDK describes a C# nullable parameter as
/// <c>{"type": ["integer", "null"], "default": null}</c>; clients that build forms or convert typed-in values by a
/// property's single <c>type</c> (the MCP Inspector's form and its <c>--tool-arg</c>, schema converters for model APIs
/// without type unions) then send <c>limit=3</c> as the text "3", which the argument check refuses. An optional
/// argument is already marked by its absence from <c>required</c>, and null is still accepted and means absent
/// (<see cref="ArgumentGuard"/>), so dropping the <c>"null"</c> member narrows nothing a client may send.
/// </summary>
internal static class ToolSchemas
{
    /// <summary>Rewrites the input schema of every tool whose name is in <paramref name="toolNames"/>.</summary>
    public static void UseSingleTypes(IEnumerable<McpServerTool> tools, IReadOnlySet<string> toolNames)
    {
        foreach (var tool in tools.Where(t => toolNames.Contains(t.ProtocolTool.Name)))
        {
            tool.ProtocolTool.InputSchema = WithSingleTypes(tool.ProtocolTool.InputSchema);
        }
    }

    /// <summary>
    /// Arguments the tools read as raw JSON (to name each mistake's place themselves) described by the shape they
    /// take, so a client or a model sees their type like any other argument's.
    /// </summary>
    private static readonly Dictionary<(string Tool, string Argument), string> RawArgumentShapes = new()
    {
        [("segment_breakdown", "events")] = """
            {"type": "array", "maxItems": 5, "items": {"type": "object", "additionalProperties": false, "required": ["metric", "property"],
              "properties": {"metric": {"type": "string"}, "property": {"type": "string"}, "last_days": {"type": "integer", "minimum": 1, "maximum": 3650}}}}
            """,
        [("import_file", "columns")] = """
            {"type": "object", "additionalProperties": false,
              "properties": {"profile_id": {"type": "string"}, "company_id": {"type": "string"}, "metric": {"type": "string"}, "timestamp": {"type": "string"}, "value": {"type": "string"}, "updated_at": {"type": "string"}}}
            """,
    };

    /// <summary>
    /// Gives each raw JSON argument of <see cref="RawArgumentShapes"/> its shape, keeping its description.
    /// </summary>
    public static void DescribeRawArguments(IEnumerable<McpServerTool> tools)
    {
        foreach (var tool in tools)
        {
            if (JsonNode.Parse(tool.ProtocolTool.InputSchema.GetRawText()) is not JsonObject schema || schema["properties"] is not JsonObject properties)
            {
                continue;
            }

            var changed = false;
            foreach (var ((toolName, argument), shape) in RawArgumentShapes)
            {
                if (toolName == tool.ProtocolTool.Name && properties[argument] is JsonObject current)
                {
                    var described = JsonNode.Parse(shape)!.AsObject();
                    if (current["description"] is { } description)
                    {
                        described["description"] = description.DeepClone();
                    }

                    properties[argument] = described;
                    changed = true;
                }
            }

            if (changed)
            {
                tool.ProtocolTool.InputSchema = JsonSerializer.SerializeToElement(schema, McpJson.Options.GetTypeInfo(typeof(JsonObject)));
            }
        }
    }

    /// <summary>The names given by the <see cref="McpServerToolAttribute"/> of the methods of <paramref name="toolTypes"/>.</summary>
    public static IReadOnlySet<string> NamesOf(IEnumerable<Type> toolTypes) => toolTypes
        .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
        .Select(m => m.GetCustomAttribute<McpServerToolAttribute>()?.Name)
        .OfType<string>()
        .ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// <paramref name="inputSchema"/> with every <c>[T, "null"]</c> type of an argument, or of an array argument's
    /// items, replaced by <c>T</c>, and the <c>null</c> default of an argument that cannot be null removed; anything
    /// else is left as it is.
    /// </summary>
    public static JsonElement WithSingleTypes(JsonElement inputSchema)
    {
        if (JsonNode.Parse(inputSchema.GetRawText()) is not JsonObject schema || schema["properties"] is not JsonObject properties)
        {
            return inputSchema;
        }

        foreach (var (_, property) in properties)
        {
            if (property is JsonObject argument)
            {
                UseSingleType(argument);
                if (argument["items"] is JsonObject items)
                {
                    UseSingleType(items);
                }

                // A null default on an argument that cannot be null says nothing a missing "required" entry does not.
                if (argument["type"] is not JsonArray && argument.TryGetPropertyValue("default", out var defaultValue) && defaultValue is null)
                {
                    argument.Remove("default");
                }
            }
        }

        return JsonSerializer.SerializeToElement(schema, McpJson.Options.GetTypeInfo(typeof(JsonObject)));
    }

    private static void UseSingleType(JsonObject schema)
    {
        if (schema["type"] is not JsonArray { Count: 2 } types)
        {
            return;
        }

        var names = types.Select(t => t is JsonValue value && value.TryGetValue<string>(out var name) ? name : null).ToList();
        var single = names.IndexOf("null") switch
        {
            0 => names[1],
            1 => names[0],
            _ => null,
        };
        if (single is null or "null")
        {
            return;
        }

        schema["type"] = single;
    }
}
