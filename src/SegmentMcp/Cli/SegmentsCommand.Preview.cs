using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Cli;

/// <summary><c>segments preview</c>: a definition file checked against the data, nothing stored (MCP's <c>preview_segment</c>).</summary>
internal static partial class SegmentsCommand
{
    private static readonly Option<DateTime?> PreviewAsOf = Flags.Time("--as-of", "Evaluate at this time (default now): who the definition would have matched then.");

    private static readonly Option<int> PreviewLimit = Flags.Int("--limit", "N", "How many of the members to list, in profile id order (default 10; 0 for the count alone).", 10, 0, 1_000);

    private static readonly Option<string?> CompareTo = Flags.Text(
        "--compare-to", "S", "Also compare with saved segment S's definition at the same time: how many both match, and who would enter and exit if S took this definition.");

    private static async Task<int> PreviewAsync(ParseResult args, CancellationToken stop)
    {
        var file = args.GetValue(File) ?? throw new UsageException("give --file FILE (or - for standard input), the definition to preview");
        if (await ReadFileAsync(file, "nothing was previewed", stop).ConfigureAwait(false) is not var (source, definition))
        {
            return CommandLine.Failed;
        }

        var now = args.GetValue(PreviewAsOf) ?? DateTime.UtcNow;
        var limit = args.GetValue(PreviewLimit);
        return await WithServicesAsync(args, async (services, company) =>
        {
            var definitions = services.GetRequiredService<DefinitionService>();
            if (await ValidateAsync(definitions, company, definition, null, source, "nothing was previewed", stop, nameIfMissing: SegmentDefinitionJson.DraftName).ConfigureAwait(false) is not { } validated)
            {
                return CommandLine.Failed;
            }

            ValidatedDefinition? compared = null;
            if (args.GetValue(CompareTo) is { } compareTo)
            {
                if (await FindAsync(services, company, compareTo, stop).ConfigureAwait(false) is not { } saved)
                {
                    return CommandLine.Failed;
                }

                using var document = JsonDocument.Parse(saved.DefinitionJson);
                compared = await ValidateAsync(definitions, company, document.RootElement, saved.Id, $"segment {saved.Id}", "nothing was compared", stop).ConfigureAwait(false);
                if (compared is null)
                {
                    return CommandLine.Failed;
                }
            }

            await WarnValueNotesAsync(definitions, validated, source, stop).ConfigureAwait(false);
            var (count, members) = await definitions.PreviewAsync(validated, now, null, Math.Max(limit, 1), stop).ConfigureAwait(false);
            var comparison = compared is null ? null : await definitions.CompareAsync(validated, count, args.GetValue(CompareTo)!, compared, now, stop).ConfigureAwait(false);
            members = [.. members.Take(limit)];
            var counts = count == 0 ? await definitions.ConditionCountsAsync(validated, now, stop).ConfigureAwait(false) : [];
            var readBack = DefinitionService.ReadBack(validated.Definition, validated.References);
            if (args.GetValue(Json))
            {
                var result = new JsonObject
                {
                    ["read_back"] = readBack,
                    ["count"] = count,
                    ["members"] = new JsonArray([.. members.Select(m => (JsonNode)m)]),
                    ["evaluated_at"] = Iso(now),
                };
                if (counts.Count > 0)
                {
                    result["condition_counts"] = new JsonArray([.. counts.Select(c => (JsonNode)new JsonObject { ["path"] = c.Path, ["read_back"] = c.ReadBack, ["count"] = c.Count })]);
                }

                if (comparison is not null)
                {
                    result["compared_to"] = new JsonObject
                    {
                        ["segment_id"] = comparison.SegmentId,
                        ["matches"] = comparison.SavedMatches,
                        ["in_both"] = comparison.InBoth,
                        ["would_enter"] = comparison.WouldEnter,
                        ["would_exit"] = comparison.WouldExit,
                        ["would_enter_examples"] = new JsonArray([.. comparison.WouldEnterExamples.Select(m => (JsonNode)m)]),
                        ["would_exit_examples"] = new JsonArray([.. comparison.WouldExitExamples.Select(m => (JsonNode)m)]),
                    };
                }

                await Console.Out.WriteLineAsync(result.ToJsonString(JsonOutput)).ConfigureAwait(false);
                return CommandLine.Ok;
            }

            var text = new StringBuilder();
            text.AppendLine(readBack);
            text.Append(CultureInfo.InvariantCulture, $"  {Members(count)} at {Iso(now)} (nothing saved)");
            text.AppendLine(members.Count == 0 ? string.Empty : $"; the first {members.Count.ToString("N0", CultureInfo.InvariantCulture)}: {string.Join(", ", members)}");
            if (counts.Count > 0)
            {
                // Each condition alone shows which one empties the conjunction.
                text.AppendLine("  no profile meets all the conditions together; each alone:");
                foreach (var condition in counts)
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"    {condition.Path}: {Members(condition.Count)} ({condition.ReadBack})");
                }
            }

            if (comparison is not null)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  against segment {comparison.SegmentId}, whose definition matches {Members(comparison.SavedMatches)} at the same time: {comparison.InBoth:N0} in both, {comparison.WouldEnter:N0} would enter{Examples(comparison.WouldEnterExamples, comparison.WouldEnter)}, {comparison.WouldExit:N0} would exit{Examples(comparison.WouldExitExamples, comparison.WouldExit)}");
            }

            await Console.Out.WriteAsync(text.ToString()).ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop);
    }

    private static string Examples(IReadOnlyList<string> ids, long count) => ids.Count == 0 ? string.Empty : $" ({string.Join(", ", ids)}{(count > ids.Count ? ", …" : string.Empty)})";
}
