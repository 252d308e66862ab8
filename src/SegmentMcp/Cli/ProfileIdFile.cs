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

        var (ids, bad) = await ProfileIdColumn.ReadIdsAsync(file == "-" ? input : File.OpenRead(file), column, stop).ConfigureAwait(false);
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
}
