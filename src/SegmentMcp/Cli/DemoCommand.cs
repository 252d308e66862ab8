using System.Globalization;
using SegmentMcp.Core.Demo;
using SegmentMcp.Core.Ingest;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Cli;

/// <summary>
/// <c>segmentmcp demo [--profiles N] [--company demo] [--seed S] [--reference-time T]</c>: generates the demo shop
/// and loads it through the ingest path, replacing whatever the tenant held before.
/// </summary>
internal static class DemoCommand
{
    public static async Task<int> RunAsync(CliArguments args, CancellationToken cancellationToken)
    {
        var profiles = args.GetInt("profiles", 50_000, 1, 50_000_000);
        var company = args.Get("company") ?? "demo";
        var seedText = args.Get("seed");
        var reference = args.GetTime("reference-time");
        var selection = EngineSelection.FromArguments(args);
        args.RejectUnknown();
        long seed = 42;
        if (seedText is not null && !long.TryParse(seedText, NumberStyles.Integer, CultureInfo.InvariantCulture, out seed))
        {
            throw new UsageException($"--seed must be a whole number, not '{seedText}'");
        }

        if (TenantId.Problem(company) is { } problem)
        {
            throw new UsageException($"--company {problem} (a company id is {TenantId.Rule})");
        }

        StandardInput.Detach(); // see StandardInput: a piped stdin would break the engine's inserts
        var (engine, schema) = await selection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var options = new DemoOptions
        {
            Profiles = profiles,
            Company = company,
            Seed = seed,
            ReferenceTime = reference is null ? null : new DateTimeOffset(reference.Value),
        };
        var result = await DemoLoader.LoadAsync(
            engine,
            schema,
            options,
            progress => Console.Error.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"demo {(progress.Kind == IngestKind.Events ? "events" : "profiles")}: {progress.Rows:N0} rows written ({progress.Elapsed.TotalSeconds:F0} s)")),
            cancellationToken).ConfigureAwait(false);
        if (result.ReplacedExisting)
        {
            await Console.Error.WriteLineAsync($"demo: replaced the existing data of tenant '{company}'").ConfigureAwait(false);
        }

        await Console.Out.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"""
            demo tenant '{company}': {result.Profiles:N0} profiles, {result.Events:N0} events, {result.ProfileRecords:N0} profile records
            history: {result.ReferenceTime.AddDays(-400):yyyy-MM-dd} to {result.ReferenceTime:yyyy-MM-dd HH:mm} UTC (seed {seed})
            loaded in {result.Elapsed.TotalSeconds:F1} s ({result.RowsPerSecond:N0} rows/s, peak memory {Core.Ingest.IngestBenchmark.PeakMemoryMegabytes():N0} MB) into {selection.Describe()}, database {schema.Database}
            """)).ConfigureAwait(false);
        return CommandLine.Ok;
    }
}
