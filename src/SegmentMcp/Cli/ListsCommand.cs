using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Storage;
using SegmentMcp.Export;

namespace SegmentMcp.Cli;

/// <summary>
/// <c>segmentmcp lists import|list|export|delete</c>: static lists from scripts, the same store as the MCP tools
/// (<c>create_list</c>/<c>add_to_list</c>, <c>list_lists</c>, <c>get_list</c>, <c>delete_list</c>). <c>import</c> puts the
/// profile ids of a file (one per line) on list L, creating L when the tenant has no such list; every line is checked
/// before anything is written, so one bad line writes nothing. <c>export</c> writes the ids back in the same shape.
/// </summary>
internal static class ListsCommand
{
    private static readonly Option<string?> Id = Flags.Text("--id", "L", "The list id (segments use it as {\"in_list\": {\"id\": L}}); created when missing.");
    private static readonly Option<string?> File = Flags.Text("--file", "FILE|-", "Profile ids, one per line (blank lines are skipped; - reads standard input).");
    private static readonly Option<string?> ListId = Flags.Text("--id", "L", "The list id (lists list shows them).");
    private static readonly Option<string> Company = Flags.Company("The tenant (default demo).", "demo");
    private static readonly Option<bool> Json = Flags.Switch("--json", "Print JSON for scripts instead of text.");
    private static readonly Option<DateTime?> AsOf = Flags.Time("--as-of", "Who was on the list at this past time (every add and remove is kept; default now).");
    private static readonly JsonSerializerOptions JsonOutput = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = true };

    public static Command Create()
    {
        var lists = new Command("lists", "Static lists of profile ids: import, remove, list, export, delete.");
        lists.Subcommands.Add(CommandLine.Verb(
            "import",
            "Put the profile ids of a file (one per line) on a static list, creating the list when missing.",
            [Id, File, ProfileIdFile.Column, Company, .. EngineSelection.Options],
            ImportAsync));
        lists.Subcommands.Add(CommandLine.Verb(
            "list",
            "List the static lists: id, name, profiles on it, creation time and the saved segments that use it.",
            [Company, Json, .. EngineSelection.Options],
            ListAsync));
        lists.Subcommands.Add(CommandLine.Verb(
            "export",
            "Write the profile ids on a static list now (or --as-of a past time), in id order: one a line (what import reads), or csv/ndjson with profile properties.",
            [ListId, Company, MemberExport.Format, MemberExport.Properties, AsOf, MemberExport.Output, MemberExport.Excel, .. EngineSelection.Options],
            ExportAsync));
        lists.Subcommands.Add(CommandLine.Verb(
            "remove",
            "Take the profile ids of a file (one per line, or a csv's profile_id or --column) off a static list; the list and its history stay.",
            [ListId, File, ProfileIdFile.Column, Company, .. EngineSelection.Options],
            RemoveAsync));
        lists.Subcommands.Add(CommandLine.Verb(
            "delete",
            "Delete a static list with its whole add/remove history (refused while a saved segment uses it).",
            [ListId, Company, .. EngineSelection.Options],
            DeleteAsync));
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
        if (await ProfileIdFile.ReadOrReportAsync(file, args.GetValue(ProfileIdFile.Column), "lists import", "nothing was written", stop).ConfigureAwait(false) is not { } ids)
        {
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

    private static async Task<int> RemoveAsync(ParseResult args, CancellationToken stop)
    {
        var id = RequiredId(args);
        var file = args.GetValue(File) ?? throw new UsageException("give --file FILE (or - for standard input)");
        if (await ProfileIdFile.ReadOrReportAsync(file, args.GetValue(ProfileIdFile.Column), "lists remove", "nothing was removed", stop).ConfigureAwait(false) is not { } ids)
        {
            return CommandLine.Failed;
        }

        return await WithServicesAsync(args, async (services, company) =>
        {
            var lists = services.GetRequiredService<ListStore>();
            if (await FindAsync(lists, company, id, stop).ConfigureAwait(false) is null)
            {
                return CommandLine.Failed;
            }

            // Earlier lists stay answerable: a removal is a row of its own, so members_at before it still has them.
            var removed = 0;
            foreach (var batch in ids.Chunk(ListStore.MaxProfilesPerCall))
            {
                removed += (await lists.RemoveAsync(company, id, batch, stop).ConfigureAwait(false)).Changed;
            }

            var size = (await lists.GetAsync(company, id, stop).ConfigureAwait(false))?.Size ?? 0;
            await Console.Out.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"list {id}: {ids.Count:N0} ids read, {removed:N0} removed, {ids.Count - removed:N0} not on it, {size:N0} on the list")).ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop).ConfigureAwait(false);
    }

    private static Task<int> ListAsync(ParseResult args, CancellationToken stop) =>
        WithServicesAsync(args, async (services, company) =>
        {
            var users = await services.GetRequiredService<DefinitionService>().ListUsersAsync(company, stop).ConfigureAwait(false);
            var all = await services.GetRequiredService<ListStore>().ListAsync(company, stop).ConfigureAwait(false);
            if (args.GetValue(Json))
            {
                var json = new JsonArray([.. all.Select(l => new JsonObject
                {
                    ["list_id"] = l.Id,
                    ["name"] = l.Name,
                    ["size"] = l.Size,
                    ["created_at"] = Iso(l.CreatedAt),
                    ["used_by"] = new JsonArray([.. (users.GetValueOrDefault(l.Id) ?? []).Select(id => JsonValue.Create(id))]),
                })]);
                await Console.Out.WriteLineAsync(json.ToJsonString(JsonOutput)).ConfigureAwait(false);
                return CommandLine.Ok;
            }

            if (all.Count == 0)
            {
                await Console.Out.WriteLineAsync($"'{company}' has no static lists (segmentmcp lists import creates one)").ConfigureAwait(false);
                return CommandLine.Ok;
            }

            foreach (var list in all)
            {
                var usedBy = users.GetValueOrDefault(list.Id) is { Count: > 0 } segments ? $", used by {string.Join(", ", segments)}" : string.Empty;
                await Console.Out.WriteLineAsync(string.Create(
                    CultureInfo.InvariantCulture,
                    $"{list.Id}  \"{list.Name}\"  {list.Size:N0} on it, created {Iso(list.CreatedAt)}{usedBy}")).ConfigureAwait(false);
            }

            return CommandLine.Ok;
        }, stop);

    private static Task<int> ExportAsync(ParseResult args, CancellationToken stop)
    {
        var id = RequiredId(args);
        var format = args.GetValue(MemberExport.Format) ?? "ids";
        var output = MemberExport.OutputFile(args);
        var properties = MemberExport.PropertyNames(args, format);
        var forExcel = MemberExport.ForExcel(args, format);
        return WithServicesAsync(args, async (services, company) =>
        {
            var lists = services.GetRequiredService<ListStore>();
            if (await FindAsync(lists, company, id, stop).ConfigureAwait(false) is not { } list
                || !await MemberExport.KnownPropertiesAsync(services, company, properties, stop).ConfigureAwait(false))
            {
                return CommandLine.Failed;
            }

            // One time for every page, so an add while the export runs neither repeats nor skips anyone.
            var at = args.GetValue(AsOf) ?? DateTime.UtcNow;
            var written = await MemberExport.WriteAsync(
                services, company, output, format, [], properties, at,
                async after => [.. (await lists.MembersAsync(company, list.Id, at, after?.ProfileId, MemberWriter.Page, stop).ConfigureAwait(false)).Select(p => new ExportRow(p, []))],
                stop,
                forExcel).ConfigureAwait(false);
            await Console.Error.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"list {list.Id}: {written:N0} {(written == 1 ? "profile" : "profiles")} at {Iso(at)}{(output is null ? string.Empty : $" written to {output}")}")).ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop);
    }

    private static Task<int> DeleteAsync(ParseResult args, CancellationToken stop)
    {
        var id = RequiredId(args);
        return WithServicesAsync(args, async (services, company) =>
        {
            var users = await services.GetRequiredService<DefinitionService>().UsersOfListAsync(company, id, stop).ConfigureAwait(false);
            if (users.Count > 0)
            {
                await Console.Error.WriteLineAsync($"list {id} is used by {Suggestions.JoinQuoted(users, "and")}; change or delete those segments first. Nothing was deleted.").ConfigureAwait(false);
                return CommandLine.Failed;
            }

            var lists = services.GetRequiredService<ListStore>();
            if (await lists.DeleteAsync(company, id, stop).ConfigureAwait(false))
            {
                await Console.Out.WriteLineAsync($"list {id} deleted with its history").ConfigureAwait(false);
                return CommandLine.Ok;
            }

            // As delete_list: deleting what is not there is no failure, but a mistyped id deserves a hint.
            var known = (await lists.ListAsync(company, stop).ConfigureAwait(false)).Select(l => (l.Id, l.Name));
            await Console.Out.WriteLineAsync($"list {id}: not found in '{company}', nothing deleted.{Suggestions.DidYouMeanNamed(id, known)}").ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop);
    }

    private static string RequiredId(ParseResult args)
    {
        var id = args.GetValue(ListId) ?? throw new UsageException("give --id L, a static list's id (lists list shows them)");
        return string.IsNullOrWhiteSpace(id) ? throw new UsageException("--id: a list id is not blank") : id;
    }

    /// <summary>The list, or null after saying on standard error that there is none (with the closest ids).</summary>
    private static async Task<StaticList?> FindAsync(ListStore lists, string company, string id, CancellationToken stop)
    {
        if (await lists.GetAsync(company, id, stop).ConfigureAwait(false) is { } list)
        {
            return list;
        }

        var known = (await lists.ListAsync(company, stop).ConfigureAwait(false)).Select(l => (l.Id, l.Name));
        await Console.Error.WriteLineAsync($"no list '{id}' in '{company}'.{Suggestions.DidYouMeanNamed(id, known)} segmentmcp lists list shows the static lists.").ConfigureAwait(false);
        return null;
    }

    private static Task<int> WithServicesAsync(ParseResult args, Func<ServiceProvider, string, Task<int>> run, CancellationToken stop) =>
        EngineSelection.WithServicesAsync(args, Company, run, stop);

    private static string Iso(DateTime time) => Flags.Iso(time);
}
