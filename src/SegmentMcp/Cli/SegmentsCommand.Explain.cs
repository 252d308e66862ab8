using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Cli;

/// <summary><c>segments explain</c>: the one ClickHouse query a segment compiles to, its parameters and the engine's estimate of the rows it reads (MCP's <c>explain_segment</c>).</summary>
internal static partial class SegmentsCommand
{
    private static readonly Option<string?> ExplainFile = Flags.Text("--file", "FILE|-", "Instead of --id: a definition file to compile; nothing is saved.");

    private static readonly Option<DateTime?> ExplainAsOf = Flags.Time("--as-of", "Compile as of this time (default now): the windows' edges and relative dates then.");

    private static Command ExplainVerb() => CommandLine.Verb(
        "explain",
        "The ClickHouse query a saved segment (or a definition file) compiles to, with its parameters and ClickHouse's estimate of the rows it reads.",
        [Id, ExplainFile, ExplainAsOf, Company, Json, .. EngineSelection.Options],
        ExplainAsync);

    private static async Task<int> ExplainAsync(ParseResult args, CancellationToken stop)
    {
        var (id, file) = SavedOrFile(args, ExplainFile);

        (string Source, JsonElement Definition)? draft = null;
        if (file is not null && (draft = await ReadFileAsync(file, "nothing was compiled", stop).ConfigureAwait(false)) is null)
        {
            return CommandLine.Failed;
        }

        var now = args.GetValue(ExplainAsOf) ?? DateTime.UtcNow;
        return await WithServicesAsync(args, async (services, company) =>
        {
            if (await SavedOrDraftAsync(services, company, id, draft, "nothing was compiled", stop).ConfigureAwait(false) is not var (validated, title, _))
            {
                return CommandLine.Failed;
            }

            var definitions = services.GetRequiredService<DefinitionService>();
            var explain = SqlExplain.Of(definitions.Compile(validated, new CompileOptions(now)));
            long? estimate = null;
            try
            {
                estimate = await definitions.EstimateRowsAsync(validated, now, stop).ConfigureAwait(false);
            }
            catch (ClickHouseException problem)
            {
                // The estimate is a courtesy; the query and its parameters are right without it.
                await Console.Error.WriteLineAsync($"ClickHouse gave no estimate of the rows read: {problem.Message}").ConfigureAwait(false);
            }

            var readBack = DefinitionService.ReadBack(validated.Definition, validated.References);
            if (args.GetValue(Json))
            {
                var result = new JsonObject
                {
                    ["read_back"] = readBack,
                    ["sql"] = explain.Sql,
                    ["parameters"] = new JsonArray([.. explain.Parameters.Select(p => (JsonNode)new JsonObject { ["name"] = p.Name, ["type"] = p.ClickHouseType, ["value"] = p.Value })]),
                    ["estimated_rows_read"] = estimate,
                    ["evaluated_at"] = Iso(now),
                };
                await Console.Out.WriteLineAsync(result.ToJsonString(JsonOutput)).ConfigureAwait(false);
                return CommandLine.Ok;
            }

            var text = new StringBuilder();
            text.AppendLine(title);
            text.AppendLine(CultureInfo.InvariantCulture, $"  {readBack}");
            text.AppendLine(CultureInfo.InvariantCulture, $"  compiled as of {Iso(now)}; ClickHouse estimates {(estimate is { } rows ? rows.ToString("N0", CultureInfo.InvariantCulture) + " rows read" : "nothing (no estimate)")}");
            text.AppendLine();
            text.AppendLine(explain.Sql.TrimEnd());
            text.AppendLine();
            text.AppendLine("parameters:");
            var nameWidth = explain.Parameters.Count == 0 ? 0 : explain.Parameters.Max(p => p.Name.Length);
            foreach (var parameter in explain.Parameters)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  {parameter.Name.PadRight(nameWidth)}  {parameter.ClickHouseType}  {parameter.Value}");
            }

            await Console.Out.WriteAsync(text.ToString()).ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop);
    }
}
