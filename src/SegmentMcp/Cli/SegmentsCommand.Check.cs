using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Cli;

/// <summary><c>segments check</c>: whether one profile is in a segment and why, condition by condition (MCP's <c>check_membership</c>).</summary>
internal static partial class SegmentsCommand
{
    private static readonly Option<string?> CheckProfile = Flags.Text("--profile", "P", "The profile id to check, exactly as stored.");

    private static readonly Option<string?> CheckFile = Flags.Text("--file", "FILE|-", "Instead of --id: a definition file to check the profile against; nothing is saved.");

    private static readonly Option<DateTime?> CheckAsOf = Flags.Time("--as-of", "Check at this time (default now): whether the profile was (or will be) in the segment then.");

    internal static readonly JsonSerializerOptions CompactJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static Command CheckVerb() => CommandLine.Verb(
        "check",
        "Whether one profile is in a saved segment (or matches a definition file) now or --as-of, and why: every condition with its read-back, whether it held, and what the profile's data showed.",
        [Id, CheckFile, CheckProfile, CheckAsOf, Company, Json, .. EngineSelection.Options],
        CheckAsync);

    private static async Task<int> CheckAsync(ParseResult args, CancellationToken stop)
    {
        var (id, file) = SavedOrFile(args, CheckFile);

        var profileId = args.GetValue(CheckProfile);
        if (string.IsNullOrEmpty(profileId))
        {
            throw new UsageException("give --profile P, the profile id to check");
        }

        (string Source, JsonElement Definition)? draft = null;
        if (file is not null && (draft = await ReadFileAsync(file, "nothing was checked", stop).ConfigureAwait(false)) is null)
        {
            return CommandLine.Failed;
        }

        var now = args.GetValue(CheckAsOf) ?? DateTime.UtcNow;
        return await WithServicesAsync(args, async (services, company) =>
        {
            var definitions = services.GetRequiredService<DefinitionService>();
            if (await SavedOrDraftAsync(services, company, id, draft, "nothing was checked", stop).ConfigureAwait(false) is not var (validated, title, checkedSegment))
            {
                return CommandLine.Failed;
            }

            var profiles = services.GetRequiredService<ProfileReader>();
            var known = await profiles.ExistsAsync(company, profileId, stop).ConfigureAwait(false);
            var check = services.GetRequiredService<MembershipCheck>();
            var (member, conditions) = await check.CheckAsync(validated, profileId, now, stop).ConfigureAwait(false);
            var stored = checkedSegment is null ? null : await check.StoredAsync(company, checkedSegment, profileId, stop).ConfigureAwait(false);
            if (args.GetValue(CheckAsOf) is null && stored is { } kept && MembershipCheck.StoredDiffers(member, kept, "segmentmcp evaluate") is { } pending)
            {
                await Console.Error.WriteLineAsync("note: " + pending).ConfigureAwait(false);
            }

            if (!known)
            {
                // Not an error: the answer holds for someone with no data (a negated condition does). But say so.
                await Console.Error.WriteLineAsync(
                    $"note: no event or profile record in '{company}' has the id '{profileId}', so this is the answer for a profile with no data at all.{await ProfilesCommand.UnknownProfileHintAsync(profiles, company, profileId, stop).ConfigureAwait(false)}").ConfigureAwait(false);
            }

            if (args.GetValue(Json))
            {
                var result = new JsonObject
                {
                    ["profile_id"] = profileId,
                    ["member"] = member,
                    ["conditions"] = JsonSerializer.SerializeToNode(conditions, SnakeCaseJson),
                    ["evaluated_at"] = Iso(now),
                };
                if (stored is { } storedMembership)
                {
                    result["stored_member"] = storedMembership.Member;
                    result["stored_evaluated_at"] = Iso(storedMembership.EvaluatedAt);
                }

                await Console.Out.WriteLineAsync(result.ToJsonString(JsonOutput)).ConfigureAwait(false);
                return CommandLine.Ok;
            }

            await Console.Out.WriteAsync(CheckText(profileId, member, title, now, conditions)).ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop).ConfigureAwait(false);
    }

    /// <summary>The verdict, then each condition indented by its depth: held or not, its read-back, then its evidence.</summary>
    private static string CheckText(string profileId, bool member, string title, DateTime now, IReadOnlyList<ConditionCheck> conditions)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"{profileId} is {(member ? "in" : "not in")} {title} at {Iso(now)}");
        foreach (var condition in conditions)
        {
            var indent = new string(' ', 2 * (1 + condition.Path.Count(c => c == '.')));
            text.AppendLine(CultureInfo.InvariantCulture, $"{indent}{(condition.Matched ? "holds" : "fails")}  {condition.Path}: {condition.ReadBack}");
            var evidence = condition.Evidence.Where(e => e.Key != "note").Select(e => $"{e.Key} {EvidenceValue(e.Value)}").ToList();
            if (evidence.Count > 0)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{indent}       {string.Join(", ", evidence)}");
            }

            if (condition.Evidence.TryGetValue("note", out var note) && note is string said)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{indent}       ({said})");
            }
        }

        return text.ToString();
    }

    private static string EvidenceValue(object? value) => value switch
    {
        null => "none",
        DateTime time => Iso(time),
        string s => JsonSerializer.Serialize(s, JsonOutput),
        bool b => b ? "true" : "false",
        IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
        _ => JsonSerializer.Serialize(value, CompactJson),
    };

    /// <summary>
    /// The saved segment <paramref name="id"/>, or the definition file <paramref name="draft"/> validated (its problems
    /// on standard error, ending with <paramref name="nothingDone"/>), with a title naming it; null when either failed.
    /// </summary>
    private static async Task<(ValidatedDefinition Validated, string Title, SavedSegment? Saved)?> SavedOrDraftAsync(
        ServiceProvider services, string company, string? id, (string Source, JsonElement Definition)? draft, string nothingDone, CancellationToken stop)
    {
        var definitions = services.GetRequiredService<DefinitionService>();
        if (draft is var (source, definition))
        {
            return await ValidateAsync(definitions, company, definition, null, source, nothingDone, stop, nameIfMissing: SegmentDefinitionJson.DraftName).ConfigureAwait(false) is { } validated
                ? (validated, $"{validated.Definition.Name} (not saved)", null)
                : null;
        }

        return await FindAsync(services, company, id!, stop).ConfigureAwait(false) is { } saved
            ? (await definitions.ValidateSavedAsync(company, saved, stop).ConfigureAwait(false), $"{saved.Name} [{saved.Id}]", saved)
            : null;
    }

    /// <summary>The saved segment's id (<c>--id</c>) or the definition file (<paramref name="file"/>): exactly one of the two.</summary>
    private static (string? Id, string? File) SavedOrFile(ParseResult args, Option<string?> file)
    {
        var path = args.GetValue(file);
        return (args.GetValue(Id) is null) == (path is null)
            ? throw new UsageException("give --id S (a saved segment) or --file FILE (a definition, - for standard input), one of the two")
            : (path is null ? RequiredId(args) : null, path);
    }
}
