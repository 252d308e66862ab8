using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Cli;

/// <summary><c>segments overlap</c>: saved segments' sizes and how many profiles each pair shares (MCP's <c>segment_overlap</c>).</summary>
internal static partial class SegmentsCommand
{
    private static readonly Option<string[]> OverlapIds = Flags.Repeated(
        "--id", "S", $"A saved segment to compare ({SegmentOverlapResult.MinSegments} to {SegmentOverlapResult.MaxSegments}: give --id once for each).");

    private static Command OverlapVerb() => CommandLine.Verb(
        "overlap",
        "Saved segments' sizes and, for every pair, how many profiles are in both (as of their last evaluations).",
        [OverlapIds, Company, Json, .. EngineSelection.Options],
        OverlapAsync);

    private static Task<int> OverlapAsync(ParseResult args, CancellationToken stop)
    {
        string[] ids = [.. args.ValueOf(OverlapIds).Select(id => string.IsNullOrWhiteSpace(id) ? throw new UsageException("--id: a segment id is not blank") : id.Trim())];
        if (ids.Length is < SegmentOverlapResult.MinSegments or > SegmentOverlapResult.MaxSegments || ids.Distinct(StringComparer.Ordinal).Count() != ids.Length)
        {
            throw new UsageException(
                $"--id: give {SegmentOverlapResult.MinSegments} to {SegmentOverlapResult.MaxSegments} distinct saved segments, --id once for each (got {ids.Length}{(ids.Distinct(StringComparer.Ordinal).Count() != ids.Length ? ", with repeats" : string.Empty)})");
        }

        return WithServicesAsync(args, async (services, company) =>
        {
            var saved = new List<SavedSegment>();
            foreach (var id in ids)
            {
                if (await FindAsync(services, company, id, stop).ConfigureAwait(false) is not { } segment)
                {
                    return CommandLine.Failed;
                }

                saved.Add(segment);
            }

            var overlap = await SegmentOverlapResult.ReadAsync(services.GetRequiredService<IMembershipReader>(), company, ids, stop).ConfigureAwait(false);
            if (args.GetValue(Json))
            {
                await Console.Out.WriteLineAsync(JsonSerializer.Serialize(overlap, SnakeCaseJson)).ConfigureAwait(false);
                return CommandLine.Ok;
            }

            var text = new StringBuilder();
            var idWidth = Math.Max(2, ids.Max(id => id.Length));
            text.AppendLine(CultureInfo.InvariantCulture, $"{"ID".PadRight(idWidth)}  {"MEMBERS",10}  NAME");
            foreach (var segment in saved)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{segment.Id.PadRight(idWidth)}  {overlap.Sizes[segment.Id],10:N0}  {segment.Name}");
            }

            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"{"A".PadRight(idWidth)}  {"B".PadRight(idWidth)}  {"IN BOTH",10}  OF THE SMALLER");
            foreach (var pair in overlap.Pairs)
            {
                var smaller = Math.Min(overlap.Sizes[pair.A], overlap.Sizes[pair.B]);
                var share = smaller == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{100.0 * pair.Both / smaller:0.0}%");
                text.AppendLine(CultureInfo.InvariantCulture, $"{pair.A.PadRight(idWidth)}  {pair.B.PadRight(idWidth)}  {pair.Both,10:N0}  {share}");
            }

            await Console.Out.WriteAsync(text.ToString()).ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop);
    }
}
