using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Cli;

/// <summary><c>segments breakdown</c>: a saved segment's members by profile property (MCP's <c>segment_breakdown</c>).</summary>
internal static partial class SegmentsCommand
{
    private static readonly Option<string?> BreakdownProperties = Flags.Text(
        "--properties", "NAME,…", $"1 to {SegmentBreakdown.MaxProperties} profile properties to break the members down by, e.g. city,plan,age.");

    private static readonly Option<string?> BreakdownEvents = Flags.Text(
        "--events", "METRIC:PROPERTY[:DAYS],…", $"Up to {SegmentBreakdown.MaxEvents} event properties to break the members down by, each a metric, its events' property and the last days to read (default {SegmentBreakdown.DefaultLastDays}), e.g. \"Placed Order:category:90\".");

    private static readonly Option<int> BreakdownTop = Flags.Int(
        "--top", "N", $"How many of each property's most common values to print (default {SegmentBreakdown.DefaultTop}).", SegmentBreakdown.DefaultTop, 1, SegmentBreakdown.MaxTop);

    private static readonly Option<string?> BreakdownFile = Flags.Text("--file", "FILE|-", "Instead of --id: a definition file to evaluate now (or --as-of) and break down; nothing is saved.");

    private static readonly Option<DateTime?> BreakdownAsOf = Flags.Time("--as-of", "With --file: evaluate the definition, and read the values, at this time (default now).");

    internal static readonly JsonSerializerOptions SnakeCaseJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static Command BreakdownVerb() => CommandLine.Verb(
        "breakdown",
        "Break a saved segment's members (or a definition file's, nothing saved) down by profile properties and event properties: the most common values with counts and shares, and for numbers their spread.",
        [Id, BreakdownFile, BreakdownAsOf, BreakdownProperties, BreakdownEvents, BreakdownTop, Company, Json, .. EngineSelection.Options],
        BreakdownAsync);

    private static async Task<int> BreakdownAsync(ParseResult args, CancellationToken stop)
    {
        var file = args.GetValue(BreakdownFile);
        var id = args.GetValue(Id);
        if ((id is null) == (file is null))
        {
            throw new UsageException("give --id S (a saved segment) or --file FILE (a definition to evaluate, - for standard input), one of the two");
        }

        if (id is not null)
        {
            id = RequiredId(args);
        }
        if (file is null && args.GetValue(BreakdownAsOf) is not null)
        {
            throw new UsageException("--as-of: only with --file; a saved segment is broken down as of its last evaluation");
        }

        string[] properties = [.. (args.GetValue(BreakdownProperties) ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal)];
        var events = EventRequests(args.GetValue(BreakdownEvents));
        if (properties.Length > SegmentBreakdown.MaxProperties || (properties.Length == 0 && events.Count == 0))
        {
            throw new UsageException($"--properties: give 1 to {SegmentBreakdown.MaxProperties} profile property names, comma-separated (e.g. city,plan), or --events");
        }

        (string Source, JsonElement Definition)? draft = null;
        if (file is not null && (draft = await ReadFileAsync(file, "nothing was broken down", stop).ConfigureAwait(false)) is null)
        {
            return CommandLine.Failed;
        }

        var top = args.GetValue(BreakdownTop);
        return await WithServicesAsync(args, async (services, company) =>
        {
            if (!await MemberExport.KnownPropertiesAsync(services, company, properties, stop).ConfigureAwait(false)
                || !await KnownEventsAsync(services.GetRequiredService<DefinitionService>(), company, events, stop).ConfigureAwait(false))
            {
                return CommandLine.Failed;
            }

            var request = new BreakdownRequest(properties, events, top);

            SegmentBreakdown breakdown;
            string title;
            if (draft is var (source, definition))
            {
                var definitions = services.GetRequiredService<DefinitionService>();
                if (await ValidateAsync(definitions, company, definition, null, source, "nothing was broken down", stop, nameIfMissing: SegmentDefinitionJson.DraftName).ConfigureAwait(false) is not { } validated)
                {
                    return CommandLine.Failed;
                }

                await WarnValueNotesAsync(definitions, validated, source, stop).ConfigureAwait(false);
                breakdown = await SegmentBreakdown.ReadAsync(definitions, validated, request, args.GetValue(BreakdownAsOf) ?? DateTime.UtcNow, stop).ConfigureAwait(false);
                title = $"{validated.Definition.Name}  (not saved)  {Members(breakdown.Members)} at {Iso(breakdown.EvaluatedAt!.Value)}";
            }
            else if (await FindAsync(services, company, id!, stop).ConfigureAwait(false) is { } saved)
            {
                breakdown = await SegmentBreakdown.ReadAsync(services.GetRequiredService<IMembershipReader>(), company, saved, request, stop).ConfigureAwait(false);
                title = $"{saved.Name}  [{saved.Id}]  {Members(breakdown.Members)}{(breakdown.EvaluatedAt is { } at ? " as of " + Iso(at) : " (not evaluated yet)")}";
            }
            else
            {
                return CommandLine.Failed;
            }

            await Console.Out.WriteAsync(args.GetValue(Json)
                ? JsonSerializer.Serialize(breakdown, SnakeCaseJson) + Environment.NewLine
                : BreakdownText(title, breakdown)).ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop).ConfigureAwait(false);
    }

    private static string BreakdownText(string title, SegmentBreakdown breakdown)
    {
        var text = new StringBuilder();
        text.AppendLine(title);
        foreach (var property in breakdown.Properties)
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"{property.Property}: {property.WithValue:N0} with a value, {property.DistinctValues:N0} distinct");
            if (property.Numbers is { } n)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  numbers ({n.Count:N0}): min {n.Min:G6}, p25 {n.P25:G6}, median {n.Median:G6}, p75 {n.P75:G6}, max {n.Max:G6}, mean {n.Mean:G6}");
            }

            var rows = property.TopValues.Select(v => (Label: Label(v.Value), v.Count)).ToList();
            if (property.Other > 0)
            {
                rows.Add(("(other values)", property.Other));
            }

            if (property.WithoutValue > 0)
            {
                rows.Add(("(no value)", property.WithoutValue));
            }

            var width = rows.Count == 0 ? 0 : Math.Min(40, rows.Max(r => r.Label.Length));
            foreach (var (label, count) in rows)
            {
                var shown = label.Length > width ? label[..(width - 1)] + "…" : label;
                var share = breakdown.Members == 0 ? 0 : 100.0 * count / breakdown.Members;
                text.AppendLine(CultureInfo.InvariantCulture, $"  {shown.PadRight(width)}  {count,10:N0}  {share,5:0.0}%");
            }
        }

        foreach (var events in breakdown.Events ?? [])
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"{events.Metric} · {events.Property}, last {events.LastDays} days: {events.Events:N0} events of {events.Profiles:N0} members, {events.DistinctValues:N0} distinct values");
            if (events.Numbers is { } n)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  numbers ({n.Events:N0} events): sum {n.Sum:G10}, min {n.Min:G6}, p25 {n.P25:G6}, median {n.Median:G6}, p75 {n.P75:G6}, max {n.Max:G6}, mean {n.Mean:G6}; per member who had any ({n.Profiles:N0}) {n.MeanPerProfile:G6}");
            }

            var rows = events.TopValues.Select(v => (Label: Label(v.Value), v.Events, v.Profiles)).ToList();
            var width = rows.Count == 0 ? 0 : Math.Min(40, rows.Max(r => r.Label.Length));
            foreach (var (label, count, profiles) in rows)
            {
                var shown = label.Length > width ? label[..(width - 1)] + "…" : label;
                var share = breakdown.Members == 0 ? 0 : 100.0 * profiles / breakdown.Members;
                text.AppendLine(CultureInfo.InvariantCulture, $"  {shown.PadRight(width)}  {profiles,10:N0} members  {share,5:0.0}%  {count,10:N0} events");
            }

            if (events.WithoutEvents > 0)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  (no such event: {events.WithoutEvents:N0} members, {(breakdown.Members == 0 ? 0 : 100.0 * events.WithoutEvents / breakdown.Members):0.0}%)");
            }
        }

        return text.ToString();
    }

    /// <summary>--events read: "METRIC:PROPERTY[:DAYS]" items, comma-separated.</summary>
    private static List<EventBreakdownRequest> EventRequests(string? text)
    {
        var items = (text ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (items.Length > SegmentBreakdown.MaxEvents)
        {
            throw new UsageException($"--events: at most {SegmentBreakdown.MaxEvents} event properties (got {items.Length})");
        }

        return [.. items.Select(item =>
        {
            var parts = item.Split(':', StringSplitOptions.TrimEntries);
            var days = SegmentBreakdown.DefaultLastDays;
            return parts.Length is 2 or 3 && parts[0].Length > 0 && parts[1].Length > 0
                && (parts.Length == 2 || (int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out days) && days is >= 1 and <= SegmentBreakdown.MaxLastDays))
                ? new EventBreakdownRequest(parts[0], parts[1], days)
                : throw new UsageException($"--events: '{item}' is not METRIC:PROPERTY or METRIC:PROPERTY:DAYS (days 1 to {SegmentBreakdown.MaxLastDays}), e.g. \"Placed Order:category:90\"");
        })];
    }

    /// <summary>Whether every event property asked for exists; says which does not on standard error.</summary>
    private static async Task<bool> KnownEventsAsync(DefinitionService definitions, string company, List<EventBreakdownRequest> events, CancellationToken stop)
    {
        if (events.Count == 0)
        {
            return true;
        }

        var catalog = await definitions.CatalogAsync(company, fresh: true, stop).ConfigureAwait(false);
        var problems = events.Select(e => SegmentBreakdown.UnknownName(e, catalog)).Where(p => p is not null).ToList();
        foreach (var problem in problems)
        {
            await Console.Error.WriteLineAsync($"--events: {problem}").ConfigureAwait(false);
        }

        return problems.Count == 0;
    }

    private static string Label(object? value) => value switch
    {
        string text => text,
        bool flag => flag ? "true" : "false",
        double number => number.ToString("G", CultureInfo.InvariantCulture),
        _ => string.Empty,
    };
}
