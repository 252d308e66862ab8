using Microsoft.Extensions.Logging;
using SegmentMcp.Core.Evaluation;

namespace SegmentMcp.Cli;

/// <summary>
/// <c>segmentmcp evaluate [--as-of T] [--company ID] [--workers N] [--chunk-size N] (--data DIR | --clickhouse CONN)</c>:
/// one evaluator tick for every saved segment of a tenant (all tenants without --company); prints the tick report.
/// </summary>
internal static class EvaluateCommand
{
    public const string Usage = "[--as-of T] [--company ID] [--workers N] [--chunk-size N] [--data DIR | --clickhouse CONN] [--database NAME] [--verbose]";

    public static void Register() =>
        CommandLine.Register(
            "evaluate",
            "Run one evaluator tick: bring saved segments' membership and entered/exited log up to now (or --as-of).",
            Usage,
            ["verbose"],
            RunAsync);

    public static async Task<int> RunAsync(CliArguments args, CancellationToken stop)
    {
        var asOf = args.GetTime("as-of");
        var company = args.Get("company");
        var options = new EvaluatorOptions
        {
            Workers = args.GetInt("workers", Math.Max(2, Environment.ProcessorCount), 1, 256),
            ChunkSize = args.GetInt("chunk-size", 20_000, 1, 1_000_000),
        };
        var verbose = args.Has("verbose");
        var selection = EngineSelection.FromArguments(args);
        args.RejectUnknown();

        using var logging = LoggerFactory.Create(builder => builder
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
            .SetMinimumLevel(verbose ? LogLevel.Debug : LogLevel.Information));
        var (engine, schema) = await selection.OpenAsync(stop).ConfigureAwait(false);
        await using (engine.ConfigureAwait(false))
        {
            var evaluator = new SegmentEvaluator(engine, schema, options, logging.CreateLogger<SegmentEvaluator>());
            var progress = new Progress<TickProgress>(p => Console.Error.WriteLine($"[{p.SegmentsDone}/{p.SegmentsTotal}] {p.Message}"));
            try
            {
                var report = await evaluator.TickAsync(company, asOf, progress, stop).ConfigureAwait(false);
                await Console.Out.WriteAsync(TickReportText.Format(report)).ConfigureAwait(false);
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
