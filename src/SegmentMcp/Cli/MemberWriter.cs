using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SegmentMcp.Cli;

/// <summary>Members in the formats <c>segments export</c> writes, page after page (each page in profile id order after the last).</summary>
internal static class MemberWriter
{
    public static async Task<long> WriteAsync(
        Stream stream,
        string format,
        IReadOnlyList<string> properties,
        Func<string?, Task<IReadOnlyList<string>>> page,
        Func<IReadOnlyList<string>, Task<IReadOnlyDictionary<string, IReadOnlyDictionary<string, object?>>>> propertiesOf,
        CancellationToken stop)
    {
        var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 16) { NewLine = "\n" };
        await using (writer.ConfigureAwait(false))
        {
            if (format == "csv")
            {
                await writer.WriteLineAsync(string.Join(',', new[] { "profile_id" }.Concat(properties).Select(CsvField))).ConfigureAwait(false);
            }

            var noValues = new Dictionary<string, object?>(StringComparer.Ordinal);
            var count = 0L;
            string? after = null;
            while (true)
            {
                var members = await page(after).ConfigureAwait(false);
                var values = properties.Count == 0 || members.Count == 0
                    ? new Dictionary<string, IReadOnlyDictionary<string, object?>>(StringComparer.Ordinal)
                    : await propertiesOf(members).ConfigureAwait(false);
                foreach (var member in members)
                {
                    await writer.WriteLineAsync(Line(format, member, properties, values.GetValueOrDefault(member) ?? noValues)).ConfigureAwait(false);
                }

                count += members.Count;
                if (members.Count < SegmentsCommand.ExportPage)
                {
                    return count;
                }

                after = members[^1];
                stop.ThrowIfCancellationRequested();
            }
        }
    }

    /// <summary>
    /// One member's line: the id alone (<c>ids</c>); CSV fields quoted (quotes doubled) where they hold a comma, quote or
    /// line break, a missing value empty; an NDJSON object with the values' JSON types, a missing value null.
    /// </summary>
    internal static string Line(string format, string profileId, IReadOnlyList<string> properties, IReadOnlyDictionary<string, object?> values)
    {
        switch (format)
        {
            case "csv":
                return string.Join(',', properties.Select(p => CsvField(Text(values.GetValueOrDefault(p)))).Prepend(CsvField(profileId)));
            case "ndjson":
                var line = new JsonObject { ["profile_id"] = profileId };
                foreach (var property in properties)
                {
                    line[property] = values.GetValueOrDefault(property) switch
                    {
                        string text => JsonValue.Create(text),
                        double number => JsonValue.Create(number),
                        bool flag => JsonValue.Create(flag),
                        _ => null,
                    };
                }

                return line.ToJsonString(Compact);
            default:
                return profileId;
        }
    }

    private static readonly JsonSerializerOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Text(object? value) => value switch
    {
        null => string.Empty,
        double number => number.ToString("R", CultureInfo.InvariantCulture),
        bool flag => flag ? "true" : "false",
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty,
    };

    private static string CsvField(string text) =>
        text.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? $"\"{text.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : text;
}
