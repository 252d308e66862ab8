using SegmentMcp.Core.Ingest;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Cli;

/// <summary>A file of profile ids, one a line (what <c>lists import</c>, <c>lists export</c> and <c>profiles erase</c> read or write).</summary>
internal static class ProfileIdFile
{
    /// <summary><c>--column NAME</c>: the file is a CSV and NAME the column of its ids.</summary>
    public static readonly System.CommandLine.Option<string?> Column = Flags.Text(
        "--column", "NAME", "The file is a CSV (a header, then rows) and NAME the column holding the profile ids, e.g. Email; without it, a CSV whose header has a profile_id column is read by that column, and any other file as one id a line.");

    /// <summary>
    /// The ids of <c>--file</c> (a path, or - for standard input), or null once each bad line (the first 20) and
    /// "<paramref name="verb"/>: N bad line(s); <paramref name="outcome"/>" are on standard error.
    /// </summary>
    public static async Task<List<string>?> ReadOrReportAsync(string file, string? column, string verb, string outcome, CancellationToken stop)
    {
        if (column is not null && column.Trim().Length == 0)
        {
            throw new UsageException("--column: give the name of the column holding the profile ids");
        }

        var input = StandardInput.Detach();
        if (file != "-" && !File.Exists(file))
        {
            throw new UsageException($"--file: no file at '{file}'");
        }

        var (ids, bad) = await ReadAsync(file == "-" ? input : File.OpenRead(file), column, stop).ConfigureAwait(false);
        if (bad.Count == 0)
        {
            return ids;
        }

        foreach (var line in bad.Take(20))
        {
            await Console.Error.WriteLineAsync(line).ConfigureAwait(false);
        }

        await Console.Error.WriteLineAsync($"segmentmcp {verb}: {bad.Count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} bad line(s); {outcome}").ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// The distinct ids (trimmed, blank lines skipped) and a "line N: reason" for each bad line. A CSV whose header
    /// names a profile_id column (what <c>segments export --format csv</c> writes) gives that column's ids, and with
    /// <paramref name="column"/> any CSV gives that column's.
    /// </summary>
    public static async Task<(List<string> Ids, List<string> Bad)> ReadAsync(Stream stream, string? column, CancellationToken stop)
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
            while (await reader.ReadLineAsync(stop).ConfigureAwait(false) is { } line)
            {
                number++;
                if (lines.Count == 0 && line.Trim().Length > 0 && (column is not null || ProfileIdColumn.IsHeader(line)))
                {
                    content.Position = 0;
                    (lines, bad) = ProfileIdColumn.Read(content, column, stop);
                    break;
                }

                lines.Add((number, line));
            }
        }

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
            else if (text.Length > ListStore.MaxProfileIdLength)
            {
                bad.Add($"line {number}: a profile id is at most {ListStore.MaxProfileIdLength} characters; this one has {text.Length}");
            }
            else if (seen.Add(text))
            {
                ids.Add(text);
            }
        }

        return (ids, bad);
    }
}
