using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Cli;

/// <summary><c>segments versions</c>: a saved segment's versions, newest first (MCP's <c>segment_versions</c>).</summary>
internal static partial class SegmentsCommand
{
    private static readonly Option<int> VersionsLimit = Flags.Int("--limit", "N", "How many versions, newest first (default 20).", 20, 1, 100_000);

    private static Command VersionsVerb() => CommandLine.Verb(
        "versions",
        "A saved segment's versions, newest first: number, when saved, name and English read-back (--json adds each definition); to restore one, save its definition with segments save --id.",
        [Id, VersionsLimit, Company, Json, .. EngineSelection.Options],
        VersionsAsync);

    private static Task<int> VersionsAsync(ParseResult args, CancellationToken stop)
    {
        var id = RequiredId(args);
        var limit = args.GetValue(VersionsLimit);
        return WithServicesAsync(args, async (services, company) =>
        {
            if (await FindAsync(services, company, id, stop).ConfigureAwait(false) is not { } saved)
            {
                return CommandLine.Failed;
            }

            var versions = await services.GetRequiredService<ISegmentStore>().VersionsAsync(company, saved.Id, null, limit, stop).ConfigureAwait(false);
            static string ReadBack(SegmentVersion v) =>
                SegmentDefinitionJson.Parse(v.DefinitionJson).Definition is { } parsed ? DefinitionService.ReadBack(parsed) : v.Name;
            if (args.GetValue(Json))
            {
                var items = new JsonArray([.. versions.Select(v => (JsonNode)new JsonObject
                {
                    ["version"] = v.Version,
                    ["name"] = v.Name,
                    ["description"] = v.Description.Length == 0 ? null : v.Description,
                    ["saved_at"] = Iso(v.CreatedAt),
                    ["read_back"] = ReadBack(v),
                    ["definition"] = JsonNode.Parse(v.DefinitionJson),
                })]);
                var result = new JsonObject { ["segment_id"] = saved.Id, ["current_version"] = saved.Version, ["versions"] = items };
                await Console.Out.WriteLineAsync(result.ToJsonString(JsonOutput)).ConfigureAwait(false);
                return CommandLine.Ok;
            }

            var text = new StringBuilder();
            text.AppendLine(CultureInfo.InvariantCulture, $"{saved.Name}  [{saved.Id}]  version {saved.Version}");
            foreach (var version in versions)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  v{version.Version,-4} {version.CreatedAt:yyyy-MM-dd HH:mm} UTC  {version.Name}");
                text.AppendLine(CultureInfo.InvariantCulture, $"        {ReadBack(version)}");
            }

            if (versions.Count > 0 && versions[^1].Version > 1)
            {
                var older = versions[^1].Version - 1;
                text.AppendLine(CultureInfo.InvariantCulture, $"  ({older} older version{(older == 1 ? string.Empty : "s")}: --limit {saved.Version} lists every one)");
            }

            await Console.Out.WriteAsync(text.ToString()).ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop);
    }
}
