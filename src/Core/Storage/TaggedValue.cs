using System.Globalization;

namespace SegmentMcp.Core.Storage;

/// <summary>
/// Reads the type-tagged text that storage keeps for property values (<c>s</c> + text, <c>n</c> + JSON number,
/// <c>b</c> + true/false; empty = removed) back into JSON-friendly .NET values.
/// </summary>
public static class TaggedValue
{
    /// <summary>The value as a string, double or bool; null for an empty (removed) value.</summary>
    public static object? Decode(string? tagged)
    {
        if (string.IsNullOrEmpty(tagged))
        {
            return null;
        }

        var text = tagged[1..];
        return tagged[0] switch
        {
            'n' when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) => number,
            'b' => text == "true",
            _ => text,
        };
    }

    /// <summary>The JSON type name of a tag: string, number or boolean.</summary>
    public static string TypeName(char tag) => tag switch
    {
        'n' => "number",
        'b' => "boolean",
        _ => "string",
    };
}
