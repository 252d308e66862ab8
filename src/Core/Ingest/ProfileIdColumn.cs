using System.Text;
using System.Text.Json;

namespace SegmentMcp.Core.Ingest;

/// <summary>
/// The profile ids of a CSV file whose header names a <c>profile_id</c> column (what <c>segments export --format
/// csv</c> writes) or another column the caller names, for the verbs that read a file of ids (<c>lists import</c>,
/// <c>profiles erase</c>).
/// </summary>
public static class ProfileIdColumn
{
    /// <summary>
    /// Whether <paramref name="firstLine"/> (the file's first line that is not blank) is a CSV header with a
    /// <c>profile_id</c> column: one of its comma-, semicolon- or tab-separated cells is that name, ignoring case,
    /// quotes and surrounding spaces.
    /// </summary>
    public static bool IsHeader(string firstLine) =>
        firstLine.Split([',', ';', '\t']).Any(cell => cell.Trim().Trim('"').Trim().Equals("profile_id", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Each record's <c>profile_id</c> with the line it starts on, in file order, and "line N: reason" for every
    /// record that cannot be read (a row with too few values, a quote never closed, …), as ingest reports them.
    /// </summary>
    /// <param name="column">The column holding the ids, when it is not called profile_id (an export's "Email").</param>
    public static (List<(long Line, string Id)> Ids, List<string> Bad) Read(Stream csv, string? column = null, CancellationToken cancellationToken = default)
    {
        using var translated = new MemoryStream();
        var columns = column is null ? null : new FieldMap([("profile_id", column)]);
        var header = new CsvTranslator(IngestKind.Profiles, withProperties: false, columns).Translate(csv, translated, cancellationToken: cancellationToken);
        if (header is { } problem)
        {
            return ([], [$"line {problem.Line}: {problem.Reason}"]);
        }

        var ids = new List<(long, string)>();
        var bad = new List<string>();
        var line = 0L;
        foreach (var text in Encoding.UTF8.GetString(translated.GetBuffer(), 0, (int)translated.Length).Split('\n'))
        {
            line++;
            if (text.Length == 0)
            {
                continue;
            }

            if (text[0] == (char)CsvTranslator.BadRecordMark)
            {
                bad.Add($"line {line}: {text[1..]}");
                continue;
            }

            using var record = JsonDocument.Parse(text);
            var id = record.RootElement.GetProperty("profile_id").GetString()!;
            if (id.Length == 0)
            {
                bad.Add($"line {line}: the profile_id value is empty");
                continue;
            }

            ids.Add((line, id));
        }

        return (ids, bad);
    }

    /// <summary>
    /// The distinct ids of a file of profile ids (trimmed, blank lines skipped) and a "line N: reason" for each bad
    /// line. A CSV whose header names a profile_id column (what <c>segments export --format csv</c> writes) gives that
    /// column's ids, and with <paramref name="column"/> any CSV gives that column's; any other file is one id a line.
    /// </summary>
    public static async Task<(List<string> Ids, List<string> Bad)> ReadIdsAsync(Stream stream, string? column, CancellationToken stop)
    {
        using var content = new MemoryStream();
        using (stream)
        {
            await stream.CopyToAsync(content, stop).ConfigureAwait(false);
        }

        var lines = new List<(long Number, string Text)>();
        var bad = new List<string>();
        content.Position = 0;
        using (var reader = new StreamReader(content, leaveOpen: true))
        {
            var number = 0;
            var first = true;
            while (await reader.ReadLineAsync(stop).ConfigureAwait(false) is { } line)
            {
                number++;
                if (first && line.Trim().Length > 0)
                {
                    first = false;
                    if (column is not null || IsHeader(line))
                    {
                        content.Position = 0;
                        (lines, bad) = Read(content, column, stop);
                        return Distinct(lines, bad);
                    }
                }

                lines.Add((number, line));
            }
        }

        if (CsvHeader(lines) is { } header)
        {
            return ([], [header]);
        }

        return Distinct(lines, bad);
    }

    /// <summary>
    /// A CSV read as one id a line would make every row, header included, an id that no profile has: the first
    /// non-blank line holding a comma, semicolon or tab when every other line holds one too is taken for a header,
    /// reported with its columns.
    /// </summary>
    private static string? CsvHeader(List<(long Number, string Text)> lines)
    {
        var rows = lines.Where(l => l.Text.Trim().Length > 0).ToList();
        if (rows.Count < 2)
        {
            return null;
        }

        foreach (var separator in new[] { ',', ';', '\t' })
        {
            if (rows.All(r => r.Text.Contains(separator, StringComparison.Ordinal)))
            {
                var columns = rows[0].Text.Split(separator).Select(c => c.Trim().Trim('"').Trim());
                return $"line {rows[0].Number}: this looks like a CSV header (columns {string.Join(", ", columns)}) and no column is profile_id, so every row would be read as one id; name the column that holds the profile ids (--column NAME)";
            }
        }

        return null;
    }

    private static (List<string> Ids, List<string> Bad) Distinct(List<(long Number, string Text)> lines, List<string> bad)
    {

        var ids = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (number, line) in lines)
        {
            var text = line.Trim();
            if (text.Length == 0)
            {
                continue;
            }

            // Bytes that are not UTF-8 decode to U+FFFD: stored, the id would match no profile ever ingested.
            if (text.Contains('\uFFFD', StringComparison.Ordinal))
            {
                bad.Add($"line {number}: not UTF-8 text (save the file as UTF-8, or UTF-16 with its byte-order mark)");
            }
            else if (text.Length > Storage.ListStore.MaxProfileIdLength)
            {
                bad.Add($"line {number}: a profile id is at most {Storage.ListStore.MaxProfileIdLength} characters; this one has {text.Length}");
            }
            else if (seen.Add(text))
            {
                ids.Add(text);
            }
        }

        return (ids, bad);
    }
}
