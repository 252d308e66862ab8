using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Cli;

/// <summary>
/// <c>segmentmcp profiles show --id P</c>: one profile, as MCP's <c>get_profile</c> shows it. <c>segmentmcp profiles
/// erase --file FILE|- [--company ID]</c>: erases the profiles whose ids the file lists (one a line), as requests to be
/// forgotten ask: every event, profile record, list entry and segment membership, with their history
/// (<see cref="ProfileEraser"/>). Every line is checked first: one bad line erases nothing.
/// </summary>
internal static class ProfilesCommand
{
    private const int MaxEvents = 1_000;
    private static readonly Option<string?> Id = Flags.Text("--id", "P", "The profile id, exactly as stored.");
    private static readonly Option<string?> Metric = Flags.Text("--metric", "M", "Only this metric's events among the recent ones (its exact name, e.g. \"Placed Order\").");
    private static readonly Option<int> Events = Flags.Int("--events", "N", "How many of the most recent events to show (default 20).", 20, 0, MaxEvents);
    private static readonly Option<DateTime?> AsOf = Flags.Time("--as-of", "The profile as it was at this time: its property values then and the events up to it (default now).");
    private static readonly Option<bool> Json = Flags.Switch("--json", "Print JSON for scripts instead of text.");
    private static readonly Option<string?> File = Flags.Text("--file", "FILE|-", "The profile ids to erase, one per line (blank lines are skipped; - reads standard input); up to 10,000 are erased together.");
    private static readonly Option<string> Company = Flags.Company("The tenant (default demo).", "demo");

    public static Command Create()
    {
        var profiles = new Command("profiles", "Profiles as people: show one, or erase them on request.");
        profiles.Subcommands.Add(CommandLine.Verb(
            "show",
            "Show one profile: its property values, its most recent events, its activity per metric and the saved segments it is in.",
            [Id, Metric, Events, AsOf, Company, Json, .. EngineSelection.Options],
            ShowAsync));
        profiles.Subcommands.Add(CommandLine.Verb(
            "erase",
            "Erase profiles (ids in a file, one a line) with everything stored about them: events, profile records, list entries, segment memberships and their history. Cannot be undone.",
            [File, ProfileIdFile.Column, Company, .. EngineSelection.Options],
            EraseAsync));
        return profiles;
    }

    private static async Task<int> ShowAsync(ParseResult args, CancellationToken stop)
    {
        var id = args.GetValue(Id);
        if (string.IsNullOrEmpty(id))
        {
            throw new UsageException("give --id P, the profile id to show");
        }

        var metric = args.GetValue(Metric);
        var asOf = args.GetValue(AsOf);
        return await EngineSelection.WithServicesAsync(args, Company, async (services, company) =>
        {
            if (metric is not null)
            {
                var definitions = services.GetRequiredService<DefinitionService>();
                var catalog = await definitions.CatalogAsync(company, fresh: true, stop).ConfigureAwait(false);
                if (!catalog.HasMetric(metric))
                {
                    await Console.Error.WriteLineAsync($"profiles show: no metric '{metric}' in '{company}'.{Suggestions.DidYouMean(metric, catalog.Metrics)}").ConfigureAwait(false);
                    return CommandLine.Failed;
                }
            }

            var profiles = services.GetRequiredService<ProfileReader>();
            var snapshot = await profiles.ReadAsync(company, id, args.GetValue(Events), asOf, stop, metric).ConfigureAwait(false);
            if (!snapshot.Exists && snapshot.Properties.Count == 0)
            {
                await Console.Error.WriteLineAsync($"profiles show: no profile '{id}' in '{company}'.{await UnknownProfileHintAsync(profiles, company, id, stop).ConfigureAwait(false)} Ids are exact and case-sensitive.").ConfigureAwait(false);
                return CommandLine.Failed;
            }

            // Membership is stored as of each segment's last evaluation: there is no past one to show with --as-of.
            var segments = asOf is null ? await services.GetRequiredService<IMembershipReader>().SegmentsOfProfileAsync(company, id, stop).ConfigureAwait(false) : null;
            if (args.GetValue(Json))
            {
                var result = new
                {
                    profile_id = id,
                    properties = snapshot.Properties,
                    recent_events = snapshot.RecentEvents.Select(e => new { metric = e.Metric, at = e.Timestamp, value = e.Value, properties = e.Properties }),
                    segments,
                    activity = snapshot.Activity.Select(a => new { metric = a.Metric, events = a.Events, first = a.First, last = a.Last }),
                    as_of = asOf,
                };
                await Console.Out.WriteLineAsync(JsonSerializer.Serialize(result, SegmentsCommand.SnakeCaseJson)).ConfigureAwait(false);
                return CommandLine.Ok;
            }

            await Console.Out.WriteAsync(ShowText(id, snapshot, segments, asOf)).ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop).ConfigureAwait(false);
    }

    private static string ShowText(string id, ProfileSnapshot snapshot, IReadOnlyList<string>? segments, DateTime? asOf)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{id}{(asOf is { } at ? " as of " + Flags.Iso(at) : string.Empty)}");
        text.AppendLine(snapshot.Properties.Count == 0 ? "  no properties" : "  properties");
        foreach (var (name, value) in snapshot.Properties)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"    {name}: {Shown(value)}");
        }

        if (segments is not null)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  segments: {(segments.Count == 0 ? "none" : string.Join(", ", segments))}");
        }

        if (snapshot.Activity.Count > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {"ACTIVITY",-24}  {"EVENTS",8}  {"FIRST",-24}  LAST");
            foreach (var metric in snapshot.Activity)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  {metric.Metric,-24}  {metric.Events,8:N0}  {Flags.Iso(metric.First),-24}  {Flags.Iso(metric.Last)}");
            }
        }

        if (snapshot.RecentEvents.Count > 0)
        {
            text.AppendLine("  recent events, newest first");
            foreach (var e in snapshot.RecentEvents)
            {
                var details = e.Properties.Select(p => $"{p.Key}: {Shown(p.Value)}").Prepend(e.Value is { } value ? $"value {value.ToString(CultureInfo.InvariantCulture)}" : null).OfType<string>();
                text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"    {Flags.Iso(e.Timestamp)}  {e.Metric}  {string.Join(", ", details)}").TrimEnd());
            }
        }

        return text.ToString();
    }

    private static string Shown(object? value) => value switch
    {
        null => "null",
        string s => JsonSerializer.Serialize(s, SegmentsCommand.SnakeCaseJson),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    /// <summary>
    /// For an id nothing has: an id differing only in case or surrounding space, or the profiles whose property value it
    /// is (people look profiles up by email), as " …" to append to the message; empty when there is neither.
    /// </summary>
    internal static async Task<string> UnknownProfileHintAsync(ProfileReader profiles, string company, string id, CancellationToken stop)
    {
        var similar = await profiles.SimilarIdsAsync(company, id, stop).ConfigureAwait(false);
        if (similar.Count > 0)
        {
            return Suggestions.DidYouMean(id, similar);
        }

        var matches = await profiles.PropertyValueMatchesAsync(company, id, DateTime.UtcNow, stop).ConfigureAwait(false);
        return string.Concat(matches.Select(match => match.Holders.Count switch
        {
            0 => string.Create(CultureInfo.InvariantCulture, $" '{match.Value}' is a value of {match.Property} ({match.ProfilesEver:N0} profiles have had it), not an id."),
            1 => $" '{match.Value}' is the {match.Property} of profile '{match.Holders[0]}': --id {match.Holders[0]}.",
            _ => $" '{match.Value}' is the {match.Property} of profiles {string.Join(", ", match.Holders.Select(holder => $"'{holder}'"))}.",
        }));
    }

    private static async Task<int> EraseAsync(ParseResult args, CancellationToken stop)
    {
        var file = args.GetValue(File) ?? throw new UsageException("give --file FILE (or - for standard input), the profile ids to erase");
        if (await ProfileIdFile.ReadOrReportAsync(file, args.GetValue(ProfileIdFile.Column), "profiles erase", "nothing was erased", stop).ConfigureAwait(false) is not { } ids)
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
