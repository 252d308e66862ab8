using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Cli;

/// <summary><c>segments growth</c>: a saved segment's size day by day from its log (MCP's <c>segment_growth</c>).</summary>
internal static partial class SegmentsCommand
{
    private static readonly Option<int> GrowthDays = Flags.Int(
        "--days", "N", $"How many days back, ending with the day of the last evaluation (default {SegmentGrowth.DefaultDays}).", SegmentGrowth.DefaultDays, 1, SegmentGrowth.MaxDays);

    private static Command GrowthVerb() => CommandLine.Verb(
        "growth",
        "A saved segment's size at the end of each of the last days (UTC), with how many entered and exited each day, from its log.",
        [Id, GrowthDays, Company, Json, .. EngineSelection.Options],
        GrowthAsync);

    private static Task<int> GrowthAsync(ParseResult args, CancellationToken stop)
    {
        var id = RequiredId(args);
        var days = args.GetValue(GrowthDays);
        return WithServicesAsync(args, async (services, company) =>
        {
            if (await FindAsync(services, company, id, stop).ConfigureAwait(false) is not { } saved)
            {
                return CommandLine.Failed;
            }

            var growth = await SegmentGrowth.ReadAsync(
                services.GetRequiredService<IMembershipReader>(), services.GetRequiredService<IMembershipHistory>(), company, saved, days, stop).ConfigureAwait(false);
            if (args.GetValue(Json))
            {
                await Console.Out.WriteLineAsync(JsonSerializer.Serialize(growth, SnakeCaseJson)).ConfigureAwait(false);
                return CommandLine.Ok;
            }

            var text = new StringBuilder();
            text.AppendLine(CultureInfo.InvariantCulture, $"{saved.Name}  [{saved.Id}]  {Members(growth.Size)}{(growth.EvaluatedAt is { } at ? " as of " + Iso(at) : " (not evaluated yet)")}");
            if (growth.History.Count > 0)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"  {"DAY (UTC)",-10}  {"MEMBERS",10}  {"ENTERED",10}  {"EXITED",10}");
                foreach (var day in growth.History)
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"  {day.Date:yyyy-MM-dd}  {day.Size,10:N0}  {day.Entered,10:N0}  {day.Exited,10:N0}");
                }
            }

            await Console.Out.WriteAsync(text.ToString()).ConfigureAwait(false);
            return CommandLine.Ok;
        }, stop);
    }
}
