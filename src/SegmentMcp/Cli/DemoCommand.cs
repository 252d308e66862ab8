using System.CommandLine;
using System.Globalization;
using SegmentMcp.Core.Demo;
using SegmentMcp.Core.Ingest;

namespace SegmentMcp.Cli;

/// <summary>
/// <c>segmentmcp demo [--profiles N] [--company demo] [--seed S] [--reference-time T]</c>: generates the demo shop
/// and loads it through the ingest path, replacing whatever the tenant held before.
/// </summary>
internal static class DemoCommand
{
    private static readonly Option<int> Profiles = Flags.Int("--profiles", "N", "Profiles to generate.", 50_000, 1, 50_000_000);
    private static readonly Option<string> Company = Flags.Company("The tenant to replace with the demo shop.", "demo");
    private static readonly Option<long> Seed = Flags.Long("--seed", "S", "Seed of the generator: the same seed gives the same data.", 42);
    private static readonly Option<DateTime?> ReferenceTime = Flags.Time("--reference-time", "The end of the 400 days of history (default now).");

    public static Command Create() => CommandLine.Verb(
        "demo",
        "Generate the demo e-commerce tenant (400 days of history) through the ingest path, replacing the tenant's data.",
        [Profiles, Company, Seed, ReferenceTime, .. EngineSelection.Options],
        RunAsync);

    public static async Task<int> RunAsync(ParseResult args, CancellationToken cancellationToken)
    {
        var profiles = args.GetValue(Profiles);
        var company = args.ValueOf(Company);
        var seed = args.GetValue(Seed);
        var reference = args.GetValue(ReferenceTime);
        var selection = EngineSelection.FromArguments(args, EngineSelection.BulkLoadQueryTimeout);

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
            loaded in {result.Elapsed.TotalSeconds:F1} s ({result.RowsPerSecond:N0} rows/s, peak memory {Core.Ingest.ProcessMemory.PeakMegabytes():N0} MB) into {selection.Describe()}, database {schema.Database}
            """)).ConfigureAwait(false);
        return CommandLine.Ok;
    }
}
