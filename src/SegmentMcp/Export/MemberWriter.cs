using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SegmentMcp.Export;

/// <summary>One exported row: a profile and the columns before its properties (a change and its time, say).</summary>
internal sealed record ExportRow(string ProfileId, IReadOnlyList<object?> Leading);

/// <summary>
/// Rows in the formats <c>segments export</c> and <c>segments changes</c> write, page after page: a profile id column,
/// the leading columns, then the profile properties asked for, read for each page in one statement.
/// </summary>
internal static class MemberWriter
{
    /// <summary>Rows read per statement: a page of a 404,445-member segment reads its buckets once.</summary>
    public const int Page = 50_000;

    /// <summary>
    /// Writes pages until one is short; <paramref name="page"/> takes the last row written (null first) and returns at
    /// most <see cref="Page"/> rows after it. Returns the rows written.
    /// </summary>
    public static async Task<long> WriteAsync(
        Stream stream,
        string format,
        IReadOnlyList<string> leading,
        IReadOnlyList<string> properties,
        Func<ExportRow?, Task<IReadOnlyList<ExportRow>>> page,
        Func<IReadOnlyList<string>, Task<IReadOnlyDictionary<string, IReadOnlyDictionary<string, object?>>>> propertiesOf,
        CancellationToken stop,
        bool forExcel = false)
    {
        // Excel opens a CSV without a byte-order mark in the system's legacy code page (München as MÃ¼nchen).
        var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: forExcel), 1 << 16) { NewLine = "\n" };
        await using (writer.ConfigureAwait(false))
        {
            string[] columns = ["profile_id", .. leading, .. properties];
            if (format == "csv")
            {
                await writer.WriteLineAsync(string.Join(',', columns.Select(CsvField))).ConfigureAwait(false);
            }

            var noValues = new Dictionary<string, object?>(StringComparer.Ordinal);
            var count = 0L;
            ExportRow? after = null;
            while (true)
            {
                var rows = await page(after).ConfigureAwait(false);
                var values = properties.Count == 0 || rows.Count == 0
                    ? new Dictionary<string, IReadOnlyDictionary<string, object?>>(StringComparer.Ordinal)
                    : await propertiesOf([.. rows.Select(r => r.ProfileId).Distinct(StringComparer.Ordinal)]).ConfigureAwait(false);
                foreach (var row in rows)
                {
                    var known = values.GetValueOrDefault(row.ProfileId) ?? noValues;
                    object?[] fields = [row.ProfileId, .. row.Leading, .. properties.Select(p => known.GetValueOrDefault(p))];
                    await writer.WriteLineAsync(Line(format, columns, fields)).ConfigureAwait(false);
                }

                count += rows.Count;
                if (rows.Count < Page)
                {
                    return count;
                }

                after = rows[^1];
                stop.ThrowIfCancellationRequested();
            }
        }
    }

    /// <summary>
    /// One row's line: the profile id alone (<c>ids</c>); CSV fields quoted (quotes doubled) where they hold a comma,
    /// quote or line break, a missing value empty; an NDJSON object with the values' JSON types, a missing value null.
    /// </summary>
    internal static string Line(string format, IReadOnlyList<string> columns, IReadOnlyList<object?> fields)
    {
        switch (format)
        {
            case "csv":
                return string.Join(',', fields.Select(field => CsvField(Text(field))));
            case "ndjson":
                var line = new JsonObject();
                for (var i = 0; i < columns.Count; i++)
                {
                    line[columns[i]] = fields[i] switch
                    {
                        string text => JsonValue.Create(text),
                        double number => JsonValue.Create(number),
                        bool flag => JsonValue.Create(flag),
                        _ => null,
                    };
                }

                return line.ToJsonString(Compact);
            default:
                return (string)fields[0]!;
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
