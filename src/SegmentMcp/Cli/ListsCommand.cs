using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Cli;

/// <summary>
/// <c>segmentmcp lists import --id L --file FILE|- [--company ID] (--data DIR | --clickhouse CONN)</c>: puts the profile
/// ids of a file (one per line) on static list L, creating L when the tenant has no such list. Every line is checked
/// before anything is written: one bad line writes nothing.
/// </summary>
internal static class ListsCommand
{
    private static readonly Option<string?> Id = Flags.Text("--id", "L", "The list id (segments use it as {\"in_list\": {\"id\": L}}); created when missing.");
    private static readonly Option<string?> File = Flags.Text("--file", "FILE|-", "Profile ids, one per line (blank lines are skipped; - reads standard input).");
    private static readonly Option<string> Company = Flags.Company("The tenant (default demo).", "demo");

    public static Command Create()
    {
        var lists = new Command("lists", "Static lists of profile ids.");
        lists.Subcommands.Add(CommandLine.Verb(
            "import",
            "Put the profile ids of a file (one per line) on a static list, creating the list when missing.",
            [Id, File, Company, .. EngineSelection.Options],
            ImportAsync));
        return lists;
    }

    private static async Task<int> ImportAsync(ParseResult args, CancellationToken stop)
    {
        var id = args.GetValue(Id) ?? throw new UsageException("give --id L, the list to import into");
        var file = args.GetValue(File) ?? throw new UsageException("give --file FILE (or - for standard input)");
        if (string.IsNullOrWhiteSpace(id) || id.Length > 200)
        {
            throw new UsageException("--id: a list id is 1 to 200 characters");
        }

        var company = args.GetValue(Company) ?? "demo";
        var selection = EngineSelection.FromArguments(args);
        var input = StandardInput.Detach();
        if (file != "-" && !System.IO.File.Exists(file))
        {
            throw new UsageException($"--file: no file at '{file}'");
        }

        var (ids, bad) = await ReadAsync(file == "-" ? input : System.IO.File.OpenRead(file), stop).ConfigureAwait(false);
        if (bad.Count > 0)
        {
            foreach (var line in bad.Take(20))
            {
                await Console.Error.WriteLineAsync(line).ConfigureAwait(false);
            }

            await Console.Error.WriteLineAsync($"segmentmcp lists import: {bad.Count.ToString("N0", CultureInfo.InvariantCulture)} bad line(s); nothing was written").ConfigureAwait(false);
            return CommandLine.Failed;
        }

        var (engine, schema) = await selection.OpenAsync(stop).ConfigureAwait(false);
        await using (engine.ConfigureAwait(false))
        {
            await using var services = SegmentServices.Build(engine, schema);
            var lists = services.GetRequiredService<ListStore>();
            var created = await lists.EnsureAsync(company, id, stop).ConfigureAwait(false);
            var added = 0;
            foreach (var batch in ids.Chunk(ListStore.MaxProfilesPerCall))
            {
                added += (await lists.AddAsync(company, id, batch, stop).ConfigureAwait(false)).Changed;
            }

            var size = (await lists.GetAsync(company, id, stop).ConfigureAwait(false))?.Size ?? 0;
            var profiles = services.GetRequiredService<ProfileReader>();
            var withoutData = new List<string>();
            foreach (var batch in ids.Chunk(ListStore.MaxProfilesPerCall))
            {
                withoutData.AddRange(await profiles.WithoutDataAsync(company, batch, stop).ConfigureAwait(false));
            }

            if (withoutData.Count > 0)
            {
                // Kept: a list may name people before their first event. But a slip (another prefix, another case) would
                // leave a list that matches no one, so say it.
                await Console.Error.WriteLineAsync(string.Create(
                    CultureInfo.InvariantCulture,
                    $"warning: {withoutData.Count:N0} of the ids ({string.Join(", ", withoutData.Take(5))}{(withoutData.Count > 5 ? ", …" : string.Empty)}) {(withoutData.Count == 1 ? "has" : "have")} no events or profile records in '{company}' yet; they are on the list and count once data with those ids arrives")).ConfigureAwait(false);
            }

            await Console.Out.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"list {id}{(created ? " (created)" : string.Empty)}: {ids.Count:N0} ids read, {added:N0} added, {ids.Count - added:N0} already on it, {size:N0} on the list")).ConfigureAwait(false);
            return CommandLine.Ok;
        }
    }

    /// <summary>The distinct ids (trimmed, blank lines skipped) and a "line N: reason" for each bad line.</summary>
    private static async Task<(List<string> Ids, List<string> Bad)> ReadAsync(Stream stream, CancellationToken stop)
    {
        var ids = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var bad = new List<string>();
        using var reader = new StreamReader(stream);
        var number = 0;
        while (await reader.ReadLineAsync(stop).ConfigureAwait(false) is { } line)
        {
            number++;
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
