using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Cli;

/// <summary>
/// <c>segmentmcp profiles erase --file FILE|- [--company ID]</c>: erases the profiles whose ids the file lists (one a
/// line), as requests to be forgotten ask: every event, profile record, list entry and segment membership, with their
/// history (<see cref="ProfileEraser"/>). Every line is checked first: one bad line erases nothing.
/// </summary>
internal static class ProfilesCommand
{
    private static readonly Option<string?> File = Flags.Text("--file", "FILE|-", "The profile ids to erase, one per line (blank lines are skipped; - reads standard input); up to 10,000 are erased together.");
    private static readonly Option<string> Company = Flags.Company("The tenant (default demo).", "demo");

    public static Command Create()
    {
        var profiles = new Command("profiles", "Profiles as people: erase them on request.");
        profiles.Subcommands.Add(CommandLine.Verb(
            "erase",
            "Erase profiles (ids in a file, one a line) with everything stored about them: events, profile records, list entries, segment memberships and their history. Cannot be undone.",
            [File, Company, .. EngineSelection.Options],
            EraseAsync));
        return profiles;
    }

    private static async Task<int> EraseAsync(ParseResult args, CancellationToken stop)
    {
        var file = args.GetValue(File) ?? throw new UsageException("give --file FILE (or - for standard input), the profile ids to erase");
        if (await ProfileIdFile.ReadOrReportAsync(file, "profiles erase", "nothing was erased", stop).ConfigureAwait(false) is not { } ids)
        {
            return CommandLine.Failed;
        }

        return await EngineSelection.WithServicesAsync(args, Company, async (services, company) =>
        {
            var eraser = services.GetRequiredService<ProfileEraser>();
            var erased = new List<string>();
            var unknown = new List<string>();
            var segments = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var batch in ids.Chunk(ProfileEraser.MaxProfilesPerCall))
            {
                var report = await eraser.EraseAsync(company, batch, stop).ConfigureAwait(false);
                erased.AddRange(report.Erased);
                unknown.AddRange(report.Unknown);
                foreach (var (segment, count) in report.RemovedFromSegments)
                {
                    segments[segment] = segments.GetValueOrDefault(segment) + count;
                }
            }

            if (unknown.Count > 0)
            {
                // Not an error (an erasure may be asked for twice), but a mistyped id erases no one: say which.
                await Console.Error.WriteLineAsync(string.Create(
                    CultureInfo.InvariantCulture,
                    $"note: {unknown.Count:N0} of the ids ({string.Join(", ", unknown.Take(5))}{(unknown.Count > 5 ? ", …" : string.Empty)}) had nothing stored in '{company}'; ids are exact and case-sensitive")).ConfigureAwait(false);
            }

            var from = segments.Count == 0
                ? "no segment held them"
                : $"removed from {string.Join(", ", segments.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Key} ({s.Value:N0})")))}";
            await Console.Out.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"erased {erased.Count:N0} {(erased.Count == 1 ? "profile" : "profiles")} from '{company}' with their events, profile records, list entries and segment history; {from}")).ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop, queryTimeout: TimeSpan.FromHours(2)).ConfigureAwait(false);
    }
}
