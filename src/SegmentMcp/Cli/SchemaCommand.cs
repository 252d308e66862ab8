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
/// <c>segmentmcp schema [--metric M | --property P]</c>: what a tenant's data holds (MCP's <c>describe_schema</c>), for a
/// person checking an ingest or writing a definition file: the profile properties and metrics with counts and
/// frequent values, or one name looked at closely with its values counted.
/// </summary>
internal static class SchemaCommand
{
    private static readonly Option<string> Company = Flags.Company("The tenant (default demo).", "demo");
    private static readonly Option<string?> Metric = Flags.Text("--metric", "M", "Look closer at this metric (event name): each event property's values with event counts, from a sample of its events.");
    private static readonly Option<string?> Property = Flags.Text("--property", "P", "Look closer at this profile property: its values with how many profiles have each now.");
    private static readonly Option<bool> Json = Flags.Switch("--json", "Print JSON for scripts instead of text: {tenant, profiles, events, properties, metrics}, as describe_schema.");

    public static Command Create() => CommandLine.Verb(
        "schema",
        "What the tenant's data holds: profile properties (types, profiles with a value, frequent values) and metrics (events, profiles, first and last seen, properties); --property or --metric counts one name's values.",
        [Metric, Property, Company, Json, .. EngineSelection.Options],
        RunAsync);

    private static async Task<int> RunAsync(ParseResult args, CancellationToken stop)
    {
        var company = args.ValueOf(Company);
        var metric = args.GetValue(Metric);
        var property = args.GetValue(Property);
        if (metric is not null && property is not null)
        {
            throw new UsageException("--metric and --property: give one of them (or neither, for everything)");
        }

        var selection = EngineSelection.FromArguments(args);
        var (engine, schema) = await selection.OpenAsync(stop).ConfigureAwait(false);
        await using (engine.ConfigureAwait(false))
        {
            await using var services = SegmentServices.Build(engine, schema);
            var statistics = await services.GetRequiredService<SchemaDescriber>().DescribeAsync(company, metric, property, DateTime.UtcNow, stop).ConfigureAwait(false);
            if ((metric is not null && statistics.Metrics.Count == 0) || (property is not null && statistics.Properties.Count == 0))
            {
                var catalog = await TenantCatalogReader.ReadAsync(engine, schema, company, stop).ConfigureAwait(false);
                var problem = metric is not null
                    ? catalog.HasMetric(metric) ? null : $"--metric: '{company}' has no metric '{metric}'.{catalog.MetricElsewhere(metric, condition: false) ?? Suggestions.DidYouMean(metric, catalog.Metrics)}"
                    : catalog.ProfileProperties.Contains(property!) ? null : $"--property: '{company}' has no profile property '{property}'.{catalog.ProfilePropertyElsewhere(property!, condition: false) ?? Suggestions.DidYouMean(property!, catalog.ProfileProperties)}";
                if (problem is not null)
                {
                    await Console.Error.WriteLineAsync(problem).ConfigureAwait(false);
                    return CommandLine.Failed;
                }
            }

            await Console.Out.WriteAsync(args.GetValue(Json)
                ? JsonSerializer.Serialize(new { Tenant = company, statistics.Profiles, statistics.Events, statistics.Properties, statistics.Metrics }, SegmentsCommand.SnakeCaseJson) + Environment.NewLine
                : Text(company, statistics, metric is not null || property is not null)).ConfigureAwait(false);
            return CommandLine.Ok;
        }
    }

    private static string Text(string company, TenantStatistics statistics, bool closer)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"'{company}': {statistics.Profiles:N0} profiles, {statistics.Events:N0} events");
        if (statistics.Profiles == 0 && statistics.Events == 0)
        {
            text.AppendLine("nothing loaded yet: segmentmcp ingest (or segmentmcp demo) loads data for this company");
        }

        if (statistics.Properties.Count > 0)
        {
            text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"{"PROFILE PROPERTY",-24}  {"TYPES",-16}  {"WITH VALUE",10}  FREQUENT VALUES");
            foreach (var p in statistics.Properties)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"{p.Name,-24}  {string.Join(",", p.Types),-16}  {p.ProfilesWithValue,10:N0}  {Values(p.SampleValues)}");
                if (closer)
                {
                    Detail(text, "profiles", p.DistinctValues, p.TopValues, p.Min, p.Max, p.Earliest, p.Latest, p.CaseVariants);
                }
            }
        }

        if (statistics.Metrics.Count > 0)
        {
            text.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"{"METRIC",-24}  {"EVENTS",12}  {"PROFILES",10}  {"FIRST SEEN",-10}  {"LAST SEEN",-10}  PROPERTIES");
            foreach (var m in statistics.Metrics)
            {
                var properties = m.Properties.Select(p => p.Name).Concat(m.Value is { } value ? [value.Name] : []);
                text.AppendLine(CultureInfo.InvariantCulture, $"{m.Name,-24}  {m.Events,12:N0}  {m.Profiles,10:N0}  {m.FirstSeen,-10:yyyy-MM-dd}  {m.LastSeen,-10:yyyy-MM-dd}  {string.Join(", ", properties)}");
                if (closer)
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"  values counted in a sample of {m.SampledEvents:N0} events");
                    foreach (var p in m.Properties.Concat(m.Value is { } v ? [v] : []))
                    {
                        text.AppendLine(CultureInfo.InvariantCulture, $"  {p.Name} ({string.Join(",", p.Types)})");
                        Detail(text, "events", p.DistinctValues, p.TopValues, p.Min, p.Max, p.Earliest, p.Latest, p.CaseVariants);
                    }
                }
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// A looked-at name's distinct count, numeric and date ranges, values with their counts and texts differing only
    /// in case, indented under it.
    /// </summary>
    private static void Detail(
        StringBuilder text,
        string counted,
        long? distinct,
        IReadOnlyList<ValueFrequency>? top,
        double? min,
        double? max,
        string? earliest,
        string? latest,
        IReadOnlyList<IReadOnlyList<ValueFrequency>>? caseVariants)
    {
        text.Append(CultureInfo.InvariantCulture, $"    {distinct:N0} distinct values");
        if (min is { } low && max is { } high)
        {
            text.Append(CultureInfo.InvariantCulture, $", numbers from {Value(low)} to {Value(high)}");
        }

        if (earliest is not null && latest is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $", dates from {earliest} to {latest}");
        }

        text.AppendLine(top is null ? " (too many that rarely repeat to list)" : string.Empty);
        if (top is { Count: > 0 })
        {
            var width = Math.Clamp(top.Max(v => Value(v.Value).Length), "VALUE".Length, 40);
            text.AppendLine(CultureInfo.InvariantCulture, $"    {"VALUE".PadRight(width)}  {counted.ToUpperInvariant(),10}");
            foreach (var value in top)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    {Value(value.Value).PadRight(width)}  {value.Count,10:N0}");
            }
        }

        if (caseVariants is { Count: > 0 })
        {
            text.AppendLine("    differing only in case (a filter tells them apart unless it has \"ignore_case\": true):");
            foreach (var group in caseVariants)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"      {string.Join(", ", group.Select(v => $"{Value(v.Value)} ({v.Count:N0} {(v.Count == 1 ? counted[..^1] : counted)})"))}");
            }
        }
    }

    private static string Values(IReadOnlyList<object?> values) => string.Join(", ", values.Select(Value));

    private static string Value(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        double d => d.ToString("0.############", CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty,
    };
}
