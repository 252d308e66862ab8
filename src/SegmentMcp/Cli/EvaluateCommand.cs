using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Cli;

/// <summary>
/// <c>segmentmcp evaluate [--as-of T] [--company ID] [--workers N] [--chunk-size N] [--refresh-share P] [--level-statements] (--data DIR | --clickhouse CONN)</c>:
/// one evaluator tick for every saved segment of a tenant (all tenants without --company); prints the tick report.
/// </summary>
internal static class EvaluateCommand
{
    private static readonly Option<DateTime?> AsOf = Flags.Time("--as-of", "Evaluate at this time instead of now.");
    private static readonly Option<string?> Company = Flags.Company("Only this tenant's segments (default: every tenant).");
    private static readonly Option<int> Workers = Flags.Int("--workers", "N", "Segments evaluated at the same time (default: the cores, at least 2).", Math.Max(2, Environment.ProcessorCount), 1, 256);
    private static readonly Option<int> ChunkSize = Flags.Int("--chunk-size", "N", "Candidate profiles per chunk.", 20_000, 1, 1_000_000);
    private static readonly Option<double> RefreshShare = Flags.Percent(
        "--refresh-share", "P", "Bring the profile timelines up to date once the history rows behind them reach P% of the profile rows (0: now).", new EvaluatorOptions().TimelinesRefreshShare * 100);

    private static readonly Option<bool> LevelStatements = Flags.Switch(
        "--level-statements", "Evaluate the plain segments of a dependency level together, a statement per chunk of (segment, candidate) pairs (embedded engine or one server).");

    private static readonly Option<bool> Verbose = Flags.Switch("--verbose", "Log every chunk.");

    public static Command Create() => CommandLine.Verb(
        "evaluate",
        "Run one evaluator tick: bring saved segments' membership and entered/exited log up to now (or --as-of).",
        [AsOf, Company, Workers, ChunkSize, RefreshShare, LevelStatements, Verbose, .. EngineSelection.Options],
        RunAsync);

    public static async Task<int> RunAsync(ParseResult args, CancellationToken stop)
    {
        var asOf = args.GetValue(AsOf);
        var company = args.GetValue(Company);
        var options = new EvaluatorOptions
        {
            Workers = args.GetValue(Workers),
            ChunkSize = args.GetValue(ChunkSize),
            TimelinesRefreshShare = args.GetValue(RefreshShare) / 100,
            EvaluateTogether = args.GetValue(LevelStatements),
        };
        var verbose = args.GetValue(Verbose);
        var selection = EngineSelection.FromArguments(args);

        var (engine, schema) = await selection.OpenAsync(stop).ConfigureAwait(false);
        await using (engine.ConfigureAwait(false))
        {
            var services = new ServiceCollection()
                .AddLogging(builder => builder
                    .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
                    .SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Information))
                .AddSingleton(options)
                .AddSegmentServices(engine, schema);
            await using var provider = services.BuildServiceProvider();
            var evaluator = provider.GetRequiredService<ISegmentEvaluator>();
            var progress = new Progress<TickProgress>(p => Console.Error.WriteLine($"[{p.SegmentsDone}/{p.SegmentsTotal}] {p.Message}"));
            try
            {
                var report = await evaluator.TickAsync(company, asOf, progress, stop).ConfigureAwait(false);
                await Console.Out.WriteAsync(TickReportText.Format(report)).ConfigureAwait(false);
                if (company is not null && report.Segments.Count == 0)
                {
                    // Most often a misspelt --company: name the tenants that do have saved segments.
                    var tenants = await provider.GetRequiredService<ISegmentStateStore>().TenantsAsync(stop).ConfigureAwait(false);
                    await Console.Error.WriteLineAsync(
                        $"'{company}' has no saved segments.{Suggestions.DidYouMean(company, tenants)} Tenants with saved segments: {(tenants.Count == 0 ? "none" : string.Join(", ", tenants.Take(20)))}.").ConfigureAwait(false);
                }

                return CommandLine.Ok;
            }
            catch (TickFailedException failed)
            {
                await Console.Out.WriteAsync(TickReportText.Format(failed.Report)).ConfigureAwait(false);
                await Console.Error.WriteLineAsync($"segmentmcp evaluate: {failed.Message}").ConfigureAwait(false);
                return CommandLine.Failed;
            }
        }
    }
}
