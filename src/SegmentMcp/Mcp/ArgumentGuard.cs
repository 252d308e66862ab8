using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Server;
using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Mcp;

/// <summary>
/// Checks a tool call's arguments against the tool's input schema and the documented size limits before the tool
/// runs: a wrong JSON type, a number that is not a 32-bit whole number, a missing required argument, a string that is
/// not valid Unicode or longer than its limit each become a tool error naming the argument and the rule. This runs
/// before anything else, so an oversized argument costs nothing beyond reading the request, and every error echoes
/// at most <see cref="ToolSupport.EchoLength"/> characters of what was sent.
/// </summary>
internal static class ArgumentGuard
{
    /// <summary>Segment and profile ids.</summary>
    public const int MaxIdLength = 200;

    /// <summary>Times (<c>as_of</c>, <c>since</c>, <c>until</c>).</summary>
    public const int MaxTimeLength = 64;

    public const int MaxCursorLength = 1_000;

    /// <summary>Any other string argument; the same as a string inside a definition.</summary>
    public const int MaxTextLength = 1_000;

    /// <summary>A definition's JSON text.</summary>
    public const int MaxDefinitionLength = 1 << 20;

    public const int MaxArrayItems = 100;

    /// <summary>Arrays with their own limit: the profile ids of one list call.</summary>
    private static readonly Dictionary<string, int> ArrayLimits = new(StringComparer.Ordinal)
    {
        ["profile_ids"] = Core.Storage.ListStore.MaxProfilesPerCall,
    };

    private static readonly Dictionary<string, int> StringLimits = new(StringComparer.Ordinal)
    {
        ["segment_id"] = MaxIdLength,
        ["segment_ids"] = MaxIdLength,
        ["profile_id"] = MaxIdLength,
        ["profile_ids"] = MaxIdLength,
        ["list_id"] = MaxIdLength,
        ["as_of"] = MaxTimeLength,
        ["at"] = MaxTimeLength,
        ["since"] = MaxTimeLength,
        ["until"] = MaxTimeLength,
        ["cursor"] = MaxCursorLength,
    };

    /// <summary>The first problem with the arguments of <paramref name="tool"/>, or null when they are fine.</summary>
    public static string? Check(McpServerTool tool, IDictionary<string, JsonElement>? arguments)
    {
        var schema = tool.ProtocolTool.InputSchema;
        if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (Unknown(tool.ProtocolTool.Name, properties, arguments) is { } unknown)
        {
            return unknown;
        }

        var required = schema.TryGetProperty("required", out var list) && list.ValueKind == JsonValueKind.Array
            ? list.EnumerateArray().Where(r => r.ValueKind == JsonValueKind.String).Select(r => r.GetString()!).ToHashSet(StringComparer.Ordinal)
            : [];
        foreach (var property in properties.EnumerateObject())
        {
            var name = property.Name;
            var present = arguments is not null && arguments.TryGetValue(name, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined);
            if (!present)
            {
                if (required.Contains(name))
                {
                    return $"{name}: required; {Expected(property.Value)}.";
                }

                continue;
            }

            var problem = CheckValue(name, property.Value, arguments![name]);
            if (problem is not null)
            {
                return problem;
            }
        }

        return null;
    }

    /// <summary>
    /// Arguments the tool does not take. They are refused rather than ignored: a model that pages with <c>offset</c>
    /// or passes <c>condition</c> beside <c>definition</c> would otherwise get a plausible answer to a question it
    /// did not ask.
    /// </summary>
    private static string? Unknown(string tool, JsonElement properties, IDictionary<string, JsonElement>? arguments)
    {
        if (arguments is null || arguments.Count == 0)
        {
            return null;
        }

        var known = properties.EnumerateObject().Select(p => p.Name).ToList();
        var unknown = arguments.Keys.Where(name => !known.Contains(name, StringComparer.Ordinal)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count == 0)
        {
            return null;
        }

        var takes = known.Count == 0 ? $"{tool} takes no arguments." : $"{tool} takes {string.Join(", ", known)}.";
        var lines = unknown.Select(name => $"{ToolSupport.Echo(name)}: not an argument of {tool}.{Hint(name, known)}");
        return string.Join("\n", lines) + "\n" + takes;
    }

    private static readonly string[] DefinitionFields = ["name", "description", "condition"];

    private static readonly string[] TenantWords = ["tenant", "tenant_id", "company", "company_id", "workspace"];

    private static readonly string[] PagingWords = ["offset", "page", "page_token", "next_cursor", "skip", "start"];

    private static string Hint(string name, List<string> known)
    {
        if (known.Contains("definition") && DefinitionFields.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            return " A definition's fields go inside 'definition': {\"definition\": {\"name\": …, \"condition\": …}}.";
        }

        if (!known.Contains("definition") && (known.Contains("segment_id") || known.Contains("segment_ids"))
            && (name.Equals("definition", StringComparison.OrdinalIgnoreCase) || name.Equals("condition", StringComparison.OrdinalIgnoreCase)))
        {
            return " This tool reads saved segments only: preview_segment evaluates a draft definition (its count, members and their properties), segment_breakdown breaks one down, and create_segment saves it.";
        }

        if (TenantWords.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            return " The workspace is fixed by the server (its --company, or the HTTP key), never by an argument.";
        }

        if (known.Contains("cursor") && PagingWords.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            return " To page, pass the previous result's next_cursor as 'cursor'.";
        }

        var near = known.Where(k => k.Contains(name, StringComparison.OrdinalIgnoreCase) || name.Contains(k, StringComparison.OrdinalIgnoreCase)
            || string.Equals(Singular(k), Singular(name), StringComparison.OrdinalIgnoreCase)
            || Suggestions.Distance(name.ToUpperInvariant(), k.ToUpperInvariant()) <= Math.Max(1, name.Length / 3));
        return Suggestions.DidYouMean(name, near);
    }

    /// <summary>
    /// The SDK cannot bind a string that is not valid UTF-16 (it fails before any tool filter runs, as an opaque
    /// internal error), so the raw request is scrubbed first: the first such argument is reported and every such
    /// argument is replaced by null so that binding succeeds and the call can end in a named tool error.
    /// </summary>
    public static string? ScrubInvalidText(JsonObject arguments)
    {
        string? first = null;
        foreach (var name in arguments.Select(a => a.Key).ToList())
        {
            string? path;
            try
            {
                path = InvalidText(arguments[name], name);
            }
            catch (InvalidOperationException)
            {
                path = name;
            }

            if (path is not null)
            {
                first ??= $"{path}: not valid Unicode text (a lone UTF-16 surrogate escape such as \\ud800 without its pair).";
                arguments[name] = null;
            }
        }

        return first;
    }

    private static string? InvalidText(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject members:
                foreach (var (key, value) in members)
                {
                    if (InvalidText(value, $"{path}.{ToolSupport.Echo(key)}") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case JsonArray items:
                for (var i = 0; i < items.Count; i++)
                {
                    if (InvalidText(items[i], $"{path}[{i}]") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case JsonValue value when value.TryGetValue<JsonElement>(out var element):
                return InvalidText(element) is { } inner ? path + inner : null;
            default:
                return null;
        }
    }

    private static string? CheckValue(string name, JsonElement schema, JsonElement value)
    {
        var types = Types(schema);
        if (types.Contains("integer"))
        {
            return value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out _)
                ? null
                : $"{name}: must be a whole number{Range(name)} (got {Describe(value)}).";
        }

        if (types.Contains("string"))
        {
            return value.ValueKind == JsonValueKind.String
                ? CheckString(name, value, StringLimits.GetValueOrDefault(name, MaxTextLength))
                : $"{name}: must be a string (got {Describe(value)}).";
        }

        if (types.Contains("boolean"))
        {
            return value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : $"{name}: must be true or false (got {Describe(value)}).";
        }

        if (types.Contains("array"))
        {
            if (value.ValueKind != JsonValueKind.Array)
            {
                var asArray = schema.TryGetProperty("items", out var itemSchema) && Types(itemSchema).Contains("string") && value.ValueKind == JsonValueKind.String
                    ? AsArray(value.GetString()!)
                    : string.Empty;
                return $"{name}: must be an array (got {Describe(value)}).{asArray}";
            }

            var maxItems = ArrayLimits.GetValueOrDefault(name, MaxArrayItems);
            if (value.GetArrayLength() > maxItems)
            {
                return $"{name}: at most {maxItems.ToString("N0", CultureInfo.InvariantCulture)} items (got {value.GetArrayLength().ToString("N0", CultureInfo.InvariantCulture)}).";
            }

            // An array of objects (segment_breakdown's events) is checked by its tool, field by field, as free-form JSON is here.
            var objects = schema.TryGetProperty("items", out var items) && Types(items).Contains("object");
            var index = 0;
            foreach (var item in value.EnumerateArray().Where(_ => !objects))
            {
                var problem = item.ValueKind == JsonValueKind.String
                    ? CheckString($"{name}[{index}]", item, StringLimits.GetValueOrDefault(name, MaxTextLength))
                    : $"{name}[{index}]: must be a string (got {Describe(item)}).";
                if (problem is not null)
                {
                    return problem;
                }

                index++;
            }

            if (!objects)
            {
                return null;
            }
        }

        // Free-form JSON (a definition): bounded in size, and every string in it must be valid Unicode.
        var raw = value.GetRawText();
        if (raw.Length > MaxDefinitionLength)
        {
            return $"{name}: at most {MaxDefinitionLength.ToString("N0", CultureInfo.InvariantCulture)} characters of JSON (got {raw.Length.ToString("N0", CultureInfo.InvariantCulture)}).";
        }

        return InvalidText(value) is { } path ? $"{name}{path}: not valid Unicode text (a lone UTF-16 surrogate escape such as \\ud800 without its pair)." : null;
    }

    private static string? CheckString(string name, JsonElement value, int limit)
    {
        string text;
        try
        {
            text = value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return $"{name}: not valid Unicode text (a lone UTF-16 surrogate escape such as \\ud800 without its pair).";
        }

        return text.Length > limit
            ? $"{name}: at most {limit.ToString("N0", CultureInfo.InvariantCulture)} characters (got {text.Length.ToString("N0", CultureInfo.InvariantCulture)}: '{ToolSupport.Echo(text)}')."
            : null;
    }

    /// <summary>The JSON path (relative) of the first string or property name that is not valid UTF-16, or null.</summary>
    private static string? InvalidText(JsonElement value, string path = "")
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                try
                {
                    _ = value.GetString();
                    return null;
                }
                catch (InvalidOperationException)
                {
                    return path;
                }

            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in value.EnumerateArray())
                {
                    if (InvalidText(item, $"{path}[{index++}]") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return path;
                    }

                    if (InvalidText(property.Value, $"{path}.{ToolSupport.Echo(name)}") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    private static HashSet<string> Types(JsonElement schema)
    {
        var types = new HashSet<string>(StringComparer.Ordinal);
        if (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("type", out var type))
        {
            if (type.ValueKind == JsonValueKind.String)
            {
                types.Add(type.GetString()!);
            }
            else if (type.ValueKind == JsonValueKind.Array)
            {
                types.UnionWith(type.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => t.GetString()!));
            }
        }

        return types;
    }

    private static string Expected(JsonElement schema)
    {
        var types = Types(schema);
        return types.Contains("string") ? "give a non-empty string"
            : types.Contains("integer") ? "give a whole number"
            : types.Contains("array") ? "give an array"
            : "give a value as described in the tool's input schema";
    }

    private static string Range(string name) => name == "limit" ? $" from 1 to {ToolSupport.MaxLimit}" : string.Empty;

    /// <summary>"property" for "properties", "segment_id" for "segment_ids": an argument named in the other number.</summary>
    private static string Singular(string name) =>
        name.EndsWith("ies", StringComparison.OrdinalIgnoreCase) ? name[..^3] + "y"
        : name.EndsWith('s') || name.EndsWith('S') ? name[..^1]
        : name;

    /// <summary>" Write ["city", "plan"]." for a list of names given as one string ("city" or "city,plan").</summary>
    private static string AsArray(string text)
    {
        var parts = ToolSupport.Echo(text).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return parts.Length == 0 ? string.Empty : $" Write [{string.Join(", ", parts.Select(p => JsonSerializer.Serialize(p)))}].";
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => $"{ToolSupport.Echo(value.GetRawText())}",
        JsonValueKind.True or JsonValueKind.False => $"{value.GetRawText()}",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };
}
