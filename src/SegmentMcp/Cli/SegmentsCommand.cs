using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Export;

namespace SegmentMcp.Cli;

/// <summary>
/// <c>segmentmcp segments list|show|preview|save|apply|breakdown|growth|check|versions|delete|export|changes</c>: saved segments from scripts and pipelines, the same store,
/// validation and evaluator as the MCP tools (<c>list_segments</c>, <c>get_segment</c>, <c>preview_segment</c>, <c>create_segment</c>,
/// <c>update_segment</c>, <c>delete_segment</c>, <c>segment_breakdown</c>, <c>segment_growth</c>, <c>check_membership</c>, <c>list_members</c>, <c>members_at</c>, <c>membership_changes</c>). Definitions come from files in
/// the segment language, so they can live in version control; <c>save</c> of an unchanged definition stores no new
/// version. Results go to standard output (<c>--json</c> for scripts), problems to standard error.
/// </summary>
internal static partial class SegmentsCommand
{
    private static readonly Option<string> Company = Flags.Company("The tenant (default demo).", "demo");
    private static readonly Option<string?> Id = Flags.Text("--id", "S", "The segment id (segments list shows them).");
    private static readonly Option<string?> SaveId = Flags.Text("--id", "S", "Save as a new version of this saved segment (default: a new segment, its id made from the name).");
    private static readonly Option<string?> File = Flags.Text("--file", "FILE|-", "The definition: a JSON object {\"name\", \"description\"?, \"condition\"} in the segment language (- reads standard input).");
    private static readonly Option<string?> Search = Flags.Text("--search", "TEXT", "Only the segments whose id, name or description contains TEXT, ignoring case.");
    private static readonly Option<DateTime?> ChangesSince = Flags.Time(
        "--changes-since", "With each segment, how many profiles entered and exited it at or after this time (its evaluations' log).");

    private static readonly Option<bool> Json = Flags.Switch("--json", "Print JSON for scripts instead of text.");
    private static readonly Option<bool> NoEvaluate = Flags.Switch("--no-evaluate", "Save only; the next evaluator tick evaluates it.");
    private static readonly Option<DateTime?> AsOf = Flags.Time("--as-of", "The members at this past time, from the segment's entered/exited log (default: as of its last evaluation).");
    private static readonly Option<string> ChangesFormat = Flags.Text(
        "--format", "csv|ndjson", "csv: profile_id, change, at columns with a header; ndjson: {\"profile_id\", \"change\", \"at\"} a line.", "csv",
        value => value is "csv" or "ndjson" ? null : $"--format must be csv or ndjson, not '{value}'");

    private static readonly Option<DateTime?> Since = Flags.Time("--since", "Changes at or after this time (default: the segment's whole history).");
    private static readonly Option<DateTime?> Until = Flags.Time("--until", "Changes before this time (default now); the properties are read as of it.");
    private static readonly Option<string?> Only = Flags.Text(
        "--only", "entered|exited", "Only the profiles that entered, or only those that exited.",
        value => value is "entered" or "exited" ? null : $"--only must be entered or exited, not '{value}'");

    private static readonly Option<bool> DryRun = Flags.Switch("--dry-run", "Validate every file and print what would be created or changed; store nothing.");

    private static readonly Option<string?> DefinitionsDirectory = Flags.Text("--dir", "DIR", "A directory of definition files (*.json), each matched to the saved segment of the same name.");

    private static readonly JsonSerializerOptions JsonOutput = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = true };

    public static Command Create()
    {
        var segments = new Command("segments", "Saved segments: list, show, preview or save from a file, break down, growth, check a profile, versions, delete, export members and changes, watch changes as they are recorded.");
        segments.Subcommands.Add(CommandLine.Verb("list", "List the saved segments: id, name, members, version, last evaluation.", [Search, ChangesSince, Company, Json, .. EngineSelection.Options], ListAsync));
        segments.Subcommands.Add(CommandLine.Verb("show", "Show a saved segment: its definition, English read-back, size and version.", [Id, Company, Json, .. EngineSelection.Options], ShowAsync));
        segments.Subcommands.Add(CommandLine.Verb(
            "save",
            "Save a segment from a definition file (new, or a new version with --id) and evaluate it; an unchanged definition stores nothing.",
            [File, SaveId, Company, NoEvaluate, Json, .. EngineSelection.Options],
            SaveAsync));
        segments.Subcommands.Add(CommandLine.Verb(
            "preview",
            "Check a definition file against the data without saving it: its English read-back, how many profiles it matches now (or --as-of) and the first of them.",
            [File, PreviewAsOf, PreviewLimit, CompareTo, Company, Json, .. EngineSelection.Options],
            PreviewAsync));
        segments.Subcommands.Add(CommandLine.Verb(
            "apply",
            "Save every definition file of a directory, each as the saved segment of its name (created when none has it); unchanged ones store nothing, one bad file stores nothing.",
            [DefinitionsDirectory, DryRun, Company, NoEvaluate, .. EngineSelection.Options],
            ApplyAsync));
        segments.Subcommands.Add(BreakdownVerb());
        segments.Subcommands.Add(GrowthVerb());
        segments.Subcommands.Add(OverlapVerb());
        segments.Subcommands.Add(CheckVerb());
        segments.Subcommands.Add(ExplainVerb());
        segments.Subcommands.Add(VersionsVerb());
        segments.Subcommands.Add(WatchVerb());
        segments.Subcommands.Add(CommandLine.Verb("delete", "Delete a saved segment with its members and history (refused while another segment uses it).", [Id, Company, .. EngineSelection.Options], DeleteAsync));
        segments.Subcommands.Add(CommandLine.Verb(
            "export",
            "Write a saved segment's members (as of its last evaluation, or --as-of a past time), in profile id order.",
            [Id, Company, MemberExport.Format, MemberExport.Properties, AsOf, MemberExport.Output, MemberExport.Excel, .. EngineSelection.Options],
            ExportAsync));
        segments.Subcommands.Add(CommandLine.Verb(
            "changes",
            "Write who entered and who exited a saved segment (from its log, oldest first), with their profile properties if asked.",
            [Id, Company, ChangesFormat, Since, Until, Only, MemberExport.Properties, MemberExport.Output, MemberExport.Excel, .. EngineSelection.Options],
            ChangesAsync));
        return segments;
    }

    private static Task<int> ListAsync(ParseResult args, CancellationToken stop) =>
        WithServicesAsync(args, async (services, company) =>
        {
            var search = args.GetValue(Search)?.Trim();
            var all = (await services.GetRequiredService<ISegmentStore>().ListAsync(company, stop).ConfigureAwait(false))
                .Where(s => string.IsNullOrEmpty(search) || s.Mentions(search))
                .OrderBy(s => s.Id, StringComparer.Ordinal).ToList();
            var activity = args.GetValue(ChangesSince) is { } since
                ? await SegmentActivity.SinceAsync(services.GetRequiredService<IMembershipReader>(), company, [.. all.Select(s => s.Id)], since, stop).ConfigureAwait(false)
                : null;
            if (args.GetValue(Json))
            {
                var array = new JsonArray([.. all.Select(s =>
                {
                    var item = new JsonObject
                    {
                        ["id"] = s.Id,
                        ["name"] = s.Name,
                        ["description"] = s.Description,
                        ["size"] = s.Size,
                        ["version"] = s.Version,
                        ["evaluated_at"] = s.EvaluatedAt is { } at ? Iso(at) : null,
                    };
                    if (activity?[s.Id] is { } moved)
                    {
                        item["entered"] = moved.Entered;
                        item["exited"] = moved.Exited;
                    }

                    return (JsonNode)item;
                })]);
                await Console.Out.WriteLineAsync(array.ToJsonString(JsonOutput)).ConfigureAwait(false);
                return CommandLine.Ok;
            }

            if (all.Count == 0)
            {
                await Console.Out.WriteLineAsync(string.IsNullOrEmpty(search)
                    ? $"no saved segments in '{company}' (segments save --file FILE saves one)"
                    : $"no saved segment of '{company}' mentions '{search}' in its id, name or description").ConfigureAwait(false);
                return CommandLine.Ok;
            }

            var idWidth = Math.Max(2, all.Max(s => s.Id.Length));
            var nameWidth = Math.Min(40, Math.Max(4, all.Max(s => s.Name.Length)));
            await Console.Out.WriteLineAsync($"{"ID".PadRight(idWidth)}  {"NAME".PadRight(nameWidth)}  {"MEMBERS",10}{(activity is null ? string.Empty : $"  {"ENTERED",10}  {"EXITED",10}")}  {"VERSION",7}  EVALUATED (UTC)").ConfigureAwait(false);
            foreach (var s in all)
            {
                var name = s.Name.Length > nameWidth ? s.Name[..(nameWidth - 1)] + "…" : s.Name;
                var size = s.Size is { } n ? n.ToString("N0", CultureInfo.InvariantCulture) : "-";
                var at = s.EvaluatedAt is { } t ? t.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "not yet";
                var moved = activity?[s.Id] is { } m ? string.Create(CultureInfo.InvariantCulture, $"  {m.Entered,10:N0}  {m.Exited,10:N0}") : string.Empty;
                await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{s.Id.PadRight(idWidth)}  {name.PadRight(nameWidth)}  {size,10}{moved}  {s.Version,7}  {at}")).ConfigureAwait(false);
            }

            return CommandLine.Ok;
        }, stop);

    private static Task<int> ShowAsync(ParseResult args, CancellationToken stop)
    {
        var id = RequiredId(args);
        return WithServicesAsync(args, async (services, company) =>
        {
            if (await FindAsync(services, company, id, stop).ConfigureAwait(false) is not { } saved)
            {
                return CommandLine.Failed;
            }

            var definition = JsonNode.Parse(saved.DefinitionJson)!.AsObject();
            var parsed = SegmentDefinitionJson.Parse(saved.DefinitionJson).Definition;
            var readBack = parsed is null ? saved.Name : DefinitionService.ReadBack(parsed);
            if (parsed is not null)
            {
                await WarnValueNotesAsync(services.GetRequiredService<DefinitionService>(), ValidatedDefinition.Unchecked(company, parsed), $"segment {saved.Id}", stop).ConfigureAwait(false);
            }

            if (args.GetValue(Json))
            {
                var result = new JsonObject
                {
                    ["id"] = saved.Id,
                    ["name"] = saved.Name,
                    ["description"] = saved.Description,
                    ["definition"] = definition,
                    ["version"] = saved.Version,
                    ["size"] = saved.Size,
                    ["evaluated_at"] = saved.EvaluatedAt is { } at ? Iso(at) : null,
                    ["read_back"] = readBack,
                };
                await Console.Out.WriteLineAsync(result.ToJsonString(JsonOutput)).ConfigureAwait(false);
                return CommandLine.Ok;
            }

            var text = new StringBuilder();
            text.AppendLine(CultureInfo.InvariantCulture, $"{saved.Name}  [{saved.Id}]  version {saved.Version}");
            if (!string.IsNullOrEmpty(saved.Description))
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  {saved.Description}");
            }

            text.AppendLine(CultureInfo.InvariantCulture, $"  {readBack}");
            text.AppendLine(saved.EvaluatedAt is { } when
                ? string.Create(CultureInfo.InvariantCulture, $"  {Members(saved.Size ?? 0)} as of {Iso(when)}")
                : "  not evaluated yet (segmentmcp evaluate runs a tick)");
            text.AppendLine(definition.ToJsonString(JsonOutput));
            await Console.Out.WriteAsync(text.ToString()).ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop);
    }

    /// <summary>
    /// Says on standard error which compared values no data holds (a slip of spelling or case that would leave the
    /// segment empty) and which comparisons read numbers or dates from a property holding none; the definition is
    /// saved all the same, since the data may come to hold them.
    /// </summary>
    private static async Task WarnValueNotesAsync(DefinitionService definitions, ValidatedDefinition validated, string source, CancellationToken stop)
    {
        IReadOnlyList<ValueNote> notes;
        try
        {
            notes = await definitions.ValueNotesAsync(validated, DateTime.UtcNow, stop).ConfigureAwait(false);
        }
        catch (ClickHouseException)
        {
            return;
        }

        foreach (var note in notes)
        {
            await Console.Error.WriteLineAsync($"{source}: warning: {note.Path}: {note.Message}").ConfigureAwait(false);
        }
    }

    /// <summary>"1 member", "2,048 members".</summary>
    internal static string Members(long count) =>
        string.Create(CultureInfo.InvariantCulture, $"{count:N0} member{(count == 1 ? string.Empty : "s")}");

    private static async Task<int> SaveAsync(ParseResult args, CancellationToken stop)
    {
        var file = args.GetValue(File) ?? throw new UsageException("give --file FILE (or - for standard input), the definition to save");
        var id = args.GetValue(SaveId);
        if (id is not null && string.IsNullOrWhiteSpace(id))
        {
            throw new UsageException("--id: a segment id is not blank");
        }

        // The file is read and parsed before the engine opens: a mistake in it costs nothing and stores nothing.
        if (await ReadFileAsync(file, "nothing was saved", stop).ConfigureAwait(false) is not var (source, definition))
        {
            return CommandLine.Failed;
        }

        return await WithServicesAsync(args, async (services, company) =>
        {
            var store = services.GetRequiredService<ISegmentStore>();
            var definitions = services.GetRequiredService<DefinitionService>();
            SavedSegment? current = null;
            if (id is not null && (current = await FindAsync(services, company, id, stop).ConfigureAwait(false)) is null)
            {
                await Console.Error.WriteLineAsync("--id names a saved segment to change; omit it to save a new segment (its id is made from the name).").ConfigureAwait(false);
                return CommandLine.Failed;
            }

            if (await ValidateAsync(definitions, company, definition, id, source, "nothing was saved", stop).ConfigureAwait(false) is not { } validated)
            {
                return CommandLine.Failed;
            }

            await WarnValueNotesAsync(definitions, validated, source, stop).ConfigureAwait(false);
            var parsed = validated.Definition;
            var json = SegmentDefinitionJson.Write(parsed);
            var unchanged = current is not null && current.DefinitionJson == json;
            if (id is null)
            {
                // A second segment of one name is allowed, but usually meant as a new version of the first.
                var namesakes = (await store.ListAsync(company, stop).ConfigureAwait(false))
                    .Where(s => string.Equals(s.Name.Trim(), parsed.Name.Trim(), StringComparison.OrdinalIgnoreCase)).Select(s => s.Id).ToList();
                if (namesakes.Count > 0)
                {
                    await Console.Error.WriteLineAsync($"{source}: warning: {Suggestions.JoinQuoted(namesakes, "and")} {(namesakes.Count == 1 ? "has" : "have")} this name too; this saves another segment (segments save --id S saves a new version of S, segments apply matches files to segments by name)").ConfigureAwait(false);
                }
            }

            var saved = unchanged
                ? current!
                : await store.SaveAsync(company, id, parsed.Name, parsed.Description, json, stop).ConfigureAwait(false);
            if (!unchanged && !args.GetValue(NoEvaluate))
            {
                try
                {
                    await services.GetRequiredService<ISegmentEvaluator>().TickAsync(company, null, null, stop).ConfigureAwait(false);
                }
                catch (TickFailedException failed)
                {
                    // The definition is stored; only its evaluation (or another segment's in the same tick) failed.
                    await Console.Error.WriteLineAsync($"segment {saved.Id} version {saved.Version} is saved, but the evaluation failed ({failed.Message}); segmentmcp evaluate, or the server's next tick, retries it").ConfigureAwait(false);
                    return CommandLine.Failed;
                }

                saved = await store.GetAsync(company, saved.Id, stop).ConfigureAwait(false) ?? saved;
            }

            var readBack = DefinitionService.ReadBack(parsed);
            if (args.GetValue(Json))
            {
                var result = new JsonObject
                {
                    ["segment_id"] = saved.Id,
                    ["version"] = saved.Version,
                    ["changed"] = !unchanged,
                    ["size"] = saved.Size,
                    ["evaluated_at"] = saved.EvaluatedAt is { } at ? Iso(at) : null,
                    ["read_back"] = readBack,
                };
                await Console.Out.WriteLineAsync(result.ToJsonString(JsonOutput)).ConfigureAwait(false);
                return CommandLine.Ok;
            }

            var what = unchanged ? "unchanged" : current is null ? "created" : "saved";
            var size = saved.EvaluatedAt is { } evaluated
                ? string.Create(CultureInfo.InvariantCulture, $"{Members(saved.Size ?? 0)} as of {Iso(evaluated)}")
                : "not evaluated yet";
            await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"segment {saved.Id} version {saved.Version} ({what}): {size}")).ConfigureAwait(false);
            await Console.Out.WriteLineAsync($"  {readBack}").ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop).ConfigureAwait(false);
    }

    private static Task<int> DeleteAsync(ParseResult args, CancellationToken stop)
    {
        var id = RequiredId(args);
        return WithServicesAsync(args, async (services, company) =>
        {
            var store = services.GetRequiredService<ISegmentStore>();
            var users = await services.GetRequiredService<DefinitionService>().UsersOfAsync(company, id, stop).ConfigureAwait(false);
            if (users.Count > 0)
            {
                await Console.Error.WriteLineAsync($"segment {id} is used by {Suggestions.JoinQuoted(users, "and")}; change or delete those segments first. Nothing was deleted.").ConfigureAwait(false);
                return CommandLine.Failed;
            }

            if (await store.DeleteAsync(company, id, stop).ConfigureAwait(false))
            {
                await Console.Out.WriteLineAsync($"segment {id} deleted (its members and history are removed by the next evaluator tick)").ConfigureAwait(false);
                return CommandLine.Ok;
            }

            // As delete_segment: deleting what is not there is no failure, but a mistyped id deserves a hint.
            var known = (await store.ListAsync(company, stop).ConfigureAwait(false)).Select(s => (s.Id, s.Name));
            await Console.Out.WriteLineAsync($"segment {id}: not found in '{company}', nothing deleted.{Suggestions.DidYouMeanNamed(id, known)}").ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop);
    }

    private static Task<int> ExportAsync(ParseResult args, CancellationToken stop)
    {
        var id = RequiredId(args);
        var format = args.GetValue(MemberExport.Format) ?? "ids";
        var asOf = args.GetValue(AsOf);
        var output = MemberExport.OutputFile(args);
        var properties = MemberExport.PropertyNames(args, format);
        var forExcel = MemberExport.ForExcel(args, format);
        return WithServicesAsync(args, async (services, company) =>
        {
            if (await FindAsync(services, company, id, stop).ConfigureAwait(false) is not { } saved
                || !await MemberExport.KnownPropertiesAsync(services, company, properties, stop).ConfigureAwait(false))
            {
                return CommandLine.Failed;
            }

            Func<string?, Task<IReadOnlyList<string>>> members;
            if (asOf is { } at)
            {
                var history = services.GetRequiredService<IMembershipHistory>();
                var first = await history.FirstEvaluatedAtAsync(company, saved.Id, stop).ConfigureAwait(false);
                if (first is null || at < first)
                {
                    await Console.Error.WriteLineAsync(first is null
                        ? $"segment {saved.Id} has not been evaluated yet, so it has no history (segmentmcp evaluate runs a tick)"
                        : $"--as-of {Iso(at)} is before the segment's first evaluation at {Iso(first.Value)}; its history starts there").ConfigureAwait(false);
                    return CommandLine.Failed;
                }

                members = after => history.MembersAtAsync(company, saved.Id, at, after, MemberWriter.Page, stop);
            }
            else
            {
                if (saved.EvaluatedAt is null)
                {
                    await Console.Error.WriteLineAsync($"segment {saved.Id} has not been evaluated yet (segmentmcp evaluate runs a tick)").ConfigureAwait(false);
                    return CommandLine.Failed;
                }

                var membership = services.GetRequiredService<IMembershipReader>();
                members = after => membership.MembersAsync(company, saved.Id, after, MemberWriter.Page, stop);
            }

            var written = await MemberExport.WriteAsync(
                services, company, output, format, [], properties, asOf ?? saved.EvaluatedAt!.Value,
                async after => [.. (await members(after?.ProfileId).ConfigureAwait(false)).Select(m => new ExportRow(m, []))],
                stop,
                forExcel).ConfigureAwait(false);
            var when = asOf is { } time ? $"at {Iso(time)}" : $"as of {Iso(saved.EvaluatedAt!.Value)}";
            await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"segment {saved.Id}: {Members(written)} {when}{(output is null ? string.Empty : $" written to {output}")}")).ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop);
    }

    private static Task<int> ChangesAsync(ParseResult args, CancellationToken stop)
    {
        var id = RequiredId(args);
        var format = args.GetValue(ChangesFormat) ?? "csv";
        var since = args.GetValue(Since);
        var until = args.GetValue(Until);
        if (since is not null && until is not null && since >= until)
        {
            throw new UsageException("--since must be earlier than --until");
        }

        var only = args.GetValue(Only);
        var output = MemberExport.OutputFile(args);
        var properties = MemberExport.PropertyNames(args, format);
        var forExcel = MemberExport.ForExcel(args, format);
        return WithServicesAsync(args, async (services, company) =>
        {
            if (await FindAsync(services, company, id, stop).ConfigureAwait(false) is not { } saved
                || !await MemberExport.KnownPropertiesAsync(services, company, properties, stop).ConfigureAwait(false))
            {
                return CommandLine.Failed;
            }

            var membership = services.GetRequiredService<IMembershipReader>();
            var valuesAt = until ?? DateTime.UtcNow;
            var changes = new ChangeRows(membership, company, saved.Id, since, until, only, stop);
            await MemberExport.WriteAsync(services, company, output, format, ChangeRows.Columns, properties, valuesAt, changes.NextAsync, stop, forExcel).ConfigureAwait(false);
            var range = $"{(since is { } from ? $"from {Iso(from)} " : string.Empty)}until {(until is { } to ? Iso(to) : "now")}";
            await Console.Error.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"segment {saved.Id}: {changes.Entered:N0} entered, {changes.Exited:N0} exited {range}{(output is null ? string.Empty : $" written to {output}")}")).ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop);
    }

    /// <summary>
    /// ": N → M members, E would enter, X would exit" for a new definition of <paramref name="current"/>, both evaluated
    /// at <paramref name="now"/>; empty when the saved definition no longer evaluates (its own problem, reported elsewhere).
    /// </summary>
    private static async Task<string> ChangeInMembersAsync(DefinitionService definitions, string company, ValidatedDefinition next, SavedSegment current, DateTime now, CancellationToken stop)
    {
        ValidatedDefinition saved;
        try
        {
            saved = await definitions.ValidateSavedAsync(company, current, stop).ConfigureAwait(false);
        }
        catch (DefinitionException)
        {
            return string.Empty;
        }

        var count = await definitions.CountAsync(next, now, stop).ConfigureAwait(false);
        var change = await definitions.CompareAsync(next, count, current.Id, saved, now, stop).ConfigureAwait(false);
        return string.Create(CultureInfo.InvariantCulture, $": {change.SavedMatches:N0} → {Members(count)} now, {change.WouldEnter:N0} would enter, {change.WouldExit:N0} would exit");
    }

    /// <summary>
    /// The definition of <c>--file</c> (a path, or - for standard input) with the name to report it by, or null once
    /// what is wrong with it is on standard error, ending with <paramref name="outcome"/>.
    /// </summary>
    private static async Task<(string Source, JsonElement Definition)?> ReadFileAsync(string file, string outcome, CancellationToken stop)
    {
        var input = StandardInput.Detach();
        if (file != "-" && !System.IO.File.Exists(file))
        {
            throw new UsageException($"--file: no file at '{file}'");
        }

        var source = file == "-" ? "standard input" : file;
        await using var stream = file == "-" ? input : System.IO.File.OpenRead(file);
        var (definition, problem) = await ReadDefinitionAsync(stream, stop).ConfigureAwait(false);
        if (problem is null)
        {
            return (source, definition);
        }

        await Console.Error.WriteLineAsync($"{source}: {problem}; {outcome}").ConfigureAwait(false);
        return null;
    }

    /// <summary>The validated definition, or null once each of its problems is on standard error with its path.</summary>
    private static async Task<ValidatedDefinition?> ValidateAsync(
        DefinitionService definitions, string company, JsonElement definition, string? ownId, string source, string outcome, CancellationToken stop, string? nameIfMissing = null)
    {
        try
        {
            return await definitions.ValidateAsync(company, definition, ownId, stop, nameIfMissing).ConfigureAwait(false);
        }
        catch (DefinitionException invalid)
        {
            foreach (var error in invalid.Errors)
            {
                await Console.Error.WriteLineAsync($"{source}: {error}").ConfigureAwait(false);
            }

            await Console.Error.WriteLineAsync($"{source}: {invalid.Errors.Count} problem(s); {outcome}").ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>A definition's JSON object, or what is wrong with the text ("line L, column C: not valid JSON (…)").</summary>
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static async Task<(JsonElement Definition, string? Problem)> ReadDefinitionAsync(Stream stream, CancellationToken stop)
    {
        string text;
        try
        {
            // A byte-order mark decides the encoding (editors on Windows may save UTF-16); without one it must be UTF-8.
            using var reader = new StreamReader(stream, StrictUtf8, detectEncodingFromByteOrderMarks: true);
            text = await reader.ReadToEndAsync(stop).ConfigureAwait(false);
        }
        catch (DecoderFallbackException)
        {
            return (default, "not UTF-8 text (and no byte-order mark naming another encoding); save the file as UTF-8");
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            var definition = document.RootElement.Clone();
            return definition.ValueKind == JsonValueKind.Object
                ? (definition, null)
                : (default, $"a definition is a JSON object {{\"name\", \"description\"?, \"condition\"}}, not {definition.ValueKind.ToString().ToLowerInvariant()}");
        }
        catch (JsonException invalid)
        {
            return (default, string.Create(CultureInfo.InvariantCulture, $"line {invalid.LineNumber + 1}, column {invalid.BytePositionInLine + 1}: not valid JSON ({Reason(invalid)})"));
        }
    }

    private static async Task<int> ApplyAsync(ParseResult args, CancellationToken stop)
    {
        var directory = args.GetValue(DefinitionsDirectory) ?? throw new UsageException("give --dir DIR, a directory of definition files (*.json)");
        if (!Directory.Exists(directory))
        {
            throw new UsageException($"--dir: no directory at '{directory}'");
        }

        // Every file is read, parsed and (below) validated before anything is stored: one bad file stores nothing.
        var files = Directory.GetFiles(directory, "*.json").Order(StringComparer.Ordinal).ToList();
        var problems = new List<string>();
        var read = new List<(string File, JsonElement Definition, string Name)>();
        foreach (var file in files)
        {
            await using var stream = System.IO.File.OpenRead(file);
            var (definition, problem) = await ReadDefinitionAsync(stream, stop).ConfigureAwait(false);
            if (problem is not null)
            {
                problems.Add($"{file}: {problem}");
                continue;
            }

            var name = definition.TryGetProperty("name", out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : string.Empty;
            read.Add((file, definition, name));
        }

        foreach (var twice in read.Where(r => r.Name.Length > 0).GroupBy(r => r.Name, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            problems.Add($"{string.Join(" and ", twice.Select(r => r.File))}: both are named '{twice.Key}'; a name is one segment");
        }

        return await WithServicesAsync(args, async (services, company) =>
        {
            var store = services.GetRequiredService<ISegmentStore>();
            var definitions = services.GetRequiredService<DefinitionService>();
            var byName = (await store.ListAsync(company, stop).ConfigureAwait(false)).ToLookup(saved => saved.Name, StringComparer.Ordinal);
            var plan = new List<(string File, SavedSegment? Current, ValidatedDefinition Validated)>();
            foreach (var (file, definition, name) in read)
            {
                var matches = byName[name].ToList();
                if (matches.Count > 1)
                {
                    problems.Add($"{file}: {matches.Count} saved segments are named '{name}' ({Suggestions.JoinQuoted([.. matches.Select(m => m.Id)], "and")}); rename or delete all but one first");
                    continue;
                }

                var current = matches.SingleOrDefault();
                try
                {
                    plan.Add((file, current, await definitions.ValidateAsync(company, definition, current?.Id, stop).ConfigureAwait(false)));
                }
                catch (DefinitionException invalid)
                {
                    problems.AddRange(invalid.Errors.Select(error => $"{file}: {error}"));
                }
            }

            if (problems.Count > 0)
            {
                foreach (var problem in problems)
                {
                    await Console.Error.WriteLineAsync(problem).ConfigureAwait(false);
                }

                await Console.Error.WriteLineAsync($"{problems.Count} problem(s) in {directory}; nothing was saved").ConfigureAwait(false);
                return CommandLine.Failed;
            }

            foreach (var (file, _, validated) in plan)
            {
                await WarnValueNotesAsync(definitions, validated, file, stop).ConfigureAwait(false);
            }

            if (args.GetValue(DryRun))
            {
                // What apply would do, file by file, from the same comparison; nothing is stored or evaluated.
                // Each created or changed definition is also evaluated now, so a reviewer sees its effect on members.
                var would = plan.Select(p => (p.File, p.Current, p.Validated, What: p.Current is null ? "create" : p.Current.DefinitionJson == SegmentDefinitionJson.Write(p.Validated.Definition) ? "unchanged" : "change")).ToList();
                var now = DateTime.UtcNow;
                foreach (var (file, current, validated, what) in would)
                {
                    var effect = what switch
                    {
                        "create" => Members(await definitions.CountAsync(validated, now, stop).ConfigureAwait(false)),
                        "change" => await ChangeInMembersAsync(definitions, company, validated, current!, now, stop).ConfigureAwait(false),
                        _ => string.Empty,
                    };
                    await Console.Out.WriteLineAsync(what switch
                    {
                        "create" => $"{file}: would create a segment of {effect}",
                        "change" => string.Create(CultureInfo.InvariantCulture, $"{file}: would save segment {current!.Id} version {current.Version + 1}{effect}"),
                        _ => $"{file}: segment {current!.Id} unchanged",
                    }).ConfigureAwait(false);
                }

                await Console.Out.WriteLineAsync(string.Create(
                    CultureInfo.InvariantCulture,
                    $"dry run: {would.Count(w => w.What == "create")} to create, {would.Count(w => w.What == "change")} to change, {would.Count(w => w.What == "unchanged")} unchanged; nothing was saved")).ConfigureAwait(false);
                return CommandLine.Ok;
            }

            var results = new List<(string File, SavedSegment Saved, string What)>();
            foreach (var (file, current, validated) in plan)
            {
                var json = SegmentDefinitionJson.Write(validated.Definition);
                if (current is not null && current.DefinitionJson == json)
                {
                    results.Add((file, current, "unchanged"));
                    continue;
                }

                var saved = await store.SaveAsync(company, current?.Id, validated.Definition.Name, validated.Definition.Description, json, stop).ConfigureAwait(false);
                results.Add((file, saved, current is null ? "created" : "saved"));
            }

            if (results.Any(r => r.What != "unchanged") && !args.GetValue(NoEvaluate))
            {
                try
                {
                    await services.GetRequiredService<ISegmentEvaluator>().TickAsync(company, null, null, stop).ConfigureAwait(false);
                }
                catch (TickFailedException failed)
                {
                    await Console.Error.WriteLineAsync($"the definitions are saved, but the evaluation failed ({failed.Message}); segmentmcp evaluate, or the server's next tick, retries it").ConfigureAwait(false);
                    return CommandLine.Failed;
                }
            }

            var sizes = (await store.ListAsync(company, stop).ConfigureAwait(false)).ToDictionary(saved => saved.Id, StringComparer.Ordinal);
            foreach (var (file, saved, what) in results)
            {
                var now = sizes.GetValueOrDefault(saved.Id) ?? saved;
                var size = now.EvaluatedAt is { } at ? string.Create(CultureInfo.InvariantCulture, $"{Members(now.Size ?? 0)} as of {Iso(at)}") : "not evaluated yet";
                await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{file}: segment {saved.Id} version {saved.Version} ({what}): {size}")).ConfigureAwait(false);
            }

            await Console.Out.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"{results.Count(r => r.What == "created")} created, {results.Count(r => r.What == "saved")} changed, {results.Count(r => r.What == "unchanged")} unchanged; saved segments without a file are left as they are")).ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop).ConfigureAwait(false);
    }

    /// <summary>System.Text.Json's reason without the position it appends, which the caller words itself.</summary>
    private static string Reason(JsonException invalid)
    {
        var message = invalid.Message;
        var position = message.IndexOf(" Path:", StringComparison.Ordinal);
        return (position > 0 ? message[..position] : message).TrimEnd('.', ' ');
    }

    private static string RequiredId(ParseResult args)
    {
        var id = args.GetValue(Id) ?? throw new UsageException("give --id S, a saved segment's id (segments list shows them)");
        return string.IsNullOrWhiteSpace(id) ? throw new UsageException("--id: a segment id is not blank") : id;
    }

    /// <summary>The saved segment, or null after saying on standard error that there is none (with the closest ids).</summary>
    private static async Task<SavedSegment?> FindAsync(ServiceProvider services, string company, string id, CancellationToken stop)
    {
        var store = services.GetRequiredService<ISegmentStore>();
        if (await store.GetAsync(company, id, stop).ConfigureAwait(false) is { } saved)
        {
            return saved;
        }

        var known = (await store.ListAsync(company, stop).ConfigureAwait(false)).Select(s => (s.Id, s.Name));
        await Console.Error.WriteLineAsync($"no segment '{id}' in '{company}'.{Suggestions.DidYouMeanNamed(id, known)} segmentmcp segments list shows the saved segments.").ConfigureAwait(false);
        return null;
    }

    private static Task<int> WithServicesAsync(ParseResult args, Func<ServiceProvider, string, Task<int>> run, CancellationToken stop) =>
        EngineSelection.WithServicesAsync(args, Company, run, stop);

    private static string Iso(DateTime time) => Flags.Iso(time);
}
