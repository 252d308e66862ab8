using System.Text.Json.Nodes;
using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Mcp;

/// <summary>
/// The JSON Schema of the segment language served as <c>segmentmcp://dsl/schema</c>, built from the DSL's own keyword
/// lists (<see cref="DslNames"/>) and limits (<see cref="SegmentDefinitionJson"/>). Issue 3 asks the DSL to publish
/// its schema; when it does, this serves that one instead.
/// </summary>
internal static class DslSchema
{
    public static string Text { get; } = Build().ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });

    private static JsonObject Build()
    {
        static JsonArray Names(IEnumerable<string> names) => [.. names.Select(n => (JsonNode)n)];
        var scalar = new JsonObject { ["type"] = new JsonArray("string", "number", "boolean") };
        var filter = new JsonObject
        {
            ["type"] = "object",
            ["required"] = new JsonArray("name", "op"),
            ["additionalProperties"] = false,
            ["properties"] = new JsonObject
            {
                ["name"] = new JsonObject { ["type"] = "string", ["maxLength"] = SegmentDefinitionJson.MaxStringLength, ["description"] = "Property name; in event where filters \"$value\" is the event's numeric value." },
                ["op"] = new JsonObject { ["enum"] = Names(DslNames.FilterOperators) },
                ["value"] = new JsonObject
                {
                    ["description"] = "Scalar; an array for in/not_in (at most 1000) and between ([lo, hi]); a whole number of days for in_last_days, more_than_days_ago, in_next_days, anniversary_in_next_days; an ISO date for before/after; absent for is_set/is_not_set.",
                    ["anyOf"] = new JsonArray(scalar.DeepClone(), new JsonObject { ["type"] = "array", ["items"] = scalar.DeepClone(), ["maxItems"] = SegmentDefinitionJson.MaxListLength }),
                },
            },
        };
        var window = new JsonObject
        {
            ["type"] = "object",
            ["description"] = "Exactly one of: last_days N, last_hours N, between_days_ago [A, B] (A < B), since T, before T, or from T1 + to T2. No window = all time.",
            ["additionalProperties"] = false,
            ["properties"] = new JsonObject
            {
                ["last_days"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["maximum"] = SegmentDefinitionJson.MaxDays },
                ["last_hours"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["maximum"] = SegmentDefinitionJson.MaxHours },
                ["between_days_ago"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["type"] = "integer", ["minimum"] = 0 }, ["minItems"] = 2, ["maxItems"] = 2 },
                ["since"] = new JsonObject { ["type"] = "string", ["format"] = "date-time" },
                ["before"] = new JsonObject { ["type"] = "string", ["format"] = "date-time" },
                ["from"] = new JsonObject { ["type"] = "string", ["format"] = "date-time" },
                ["to"] = new JsonObject { ["type"] = "string", ["format"] = "date-time" },
            },
        };
        var measure = new JsonObject
        {
            ["description"] = "\"count\" (default) or one of {\"sum\"|\"avg\"|\"min\"|\"max\"|\"distinct\": P}, P an event property or \"$value\".",
            ["anyOf"] = new JsonArray(
                new JsonObject { ["const"] = "count" },
                new JsonObject { ["type"] = "object", ["minProperties"] = 1, ["maxProperties"] = 1, ["propertyNames"] = new JsonObject { ["enum"] = Names(DslNames.MeasureKinds.Where(k => k != "count")) }, ["additionalProperties"] = new JsonObject { ["type"] = "string" } }),
        };
        var condition = new JsonObject
        {
            ["description"] = "Exactly one of all, any, not, property, event, segment.",
            ["oneOf"] = new JsonArray(
                Single("all", new JsonObject { ["type"] = "array", ["minItems"] = 1, ["items"] = new JsonObject { ["$ref"] = "#/$defs/condition" } }),
                Single("any", new JsonObject { ["type"] = "array", ["minItems"] = 1, ["items"] = new JsonObject { ["$ref"] = "#/$defs/condition" } }),
                Single("not", new JsonObject { ["$ref"] = "#/$defs/condition" }),
                Single("property", new JsonObject { ["$ref"] = "#/$defs/filter" }),
                Single("event", new JsonObject
                {
                    ["type"] = "object",
                    ["required"] = new JsonArray("metric", "op", "value"),
                    ["additionalProperties"] = false,
                    ["properties"] = new JsonObject
                    {
                        ["metric"] = new JsonObject { ["type"] = "string", ["description"] = "Event name, exactly as describe_schema lists it." },
                        ["where"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["$ref"] = "#/$defs/filter" } },
                        ["window"] = new JsonObject { ["$ref"] = "#/$defs/window" },
                        ["measure"] = new JsonObject { ["$ref"] = "#/$defs/measure" },
                        ["op"] = new JsonObject { ["enum"] = Names(DslNames.Comparisons) },
                        ["value"] = new JsonObject { ["type"] = "number" },
                    },
                }),
                Single("segment", new JsonObject
                {
                    ["type"] = "object",
                    ["required"] = new JsonArray("id"),
                    ["additionalProperties"] = false,
                    ["properties"] = new JsonObject { ["id"] = new JsonObject { ["type"] = "string" }, ["member"] = new JsonObject { ["type"] = "boolean", ["default"] = true } },
                })),
        };
        return new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$id"] = "segmentmcp://dsl/schema",
            ["title"] = "SegmentMcp segment definition",
            ["description"] = $"A segment: a name and one condition tree (depth ≤ {SegmentDefinitionJson.MaxDepth}, ≤ {SegmentDefinitionJson.MaxLeaves} leaves). Comparisons on unset properties are false; event conditions aggregate the profile's events of a metric in a window.",
            ["type"] = "object",
            ["required"] = new JsonArray("name", "condition"),
            ["additionalProperties"] = false,
            ["properties"] = new JsonObject
            {
                ["name"] = new JsonObject { ["type"] = "string", ["minLength"] = 1, ["maxLength"] = SegmentDefinitionJson.MaxStringLength },
                ["description"] = new JsonObject { ["type"] = "string" },
                ["condition"] = new JsonObject { ["$ref"] = "#/$defs/condition" },
            },
            ["$defs"] = new JsonObject { ["condition"] = condition, ["filter"] = filter, ["window"] = window, ["measure"] = measure },
        };
    }

    private static JsonObject Single(string key, JsonNode body) => new()
    {
        ["type"] = "object",
        ["required"] = new JsonArray(key),
        ["additionalProperties"] = false,
        ["properties"] = new JsonObject { [key] = body },
    };
}
