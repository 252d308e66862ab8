using System.Runtime.InteropServices;
using System.Text;
using SegmentMcp.Cli;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release --project bench/SegmentMcp.Benchmarks -- compiler|evaluator|ingest|engine|mcp [--flags]</c>:
/// the README's performance figures. Results go to standard output; exit 0 when the run finished, 1 when it failed,
/// 2 on a usage error.
/// </summary>
internal static class BenchmarkCommand
{
    private const string Invocation = "dotnet run -c Release --project bench/SegmentMcp.Benchmarks --";

    private const string EngineFlags = "[--data DIR | --clickhouse CONN] [--database NAME] [--query-timeout SECONDS]";

    private static readonly Benchmark[] Benchmarks =
    [
        new(
            "compiler",
            "[--runs N (default 5)] [--only TEXT,… (shapes whose name contains one)] [--at TIME (evaluate at this UTC time; default now)] " + EngineFlags,
            "Compiled segment queries against hand-written SQL on the demo tenant: median ms, ratio, rows read per shape.",
            CompilerBenchmark.CommandAsync),
        new(
            "evaluator",
            "[--company demo] [--changed 0.1,1 (percent of profiles per level; none: new segments only)] [--chunk-size N (default: the evaluator's, 20000)] [--whole-share P] [--whole-minimum N] [--whole-rows-per-candidate R] [--refresh-share P] [--refresh-after-tick on|off] [--page-cache warm|cold] [--together on|off|both] [--gather-writes on|off|both] [--longest-first on|off|both] [--lookups-beside on|off|both] [--one-sided-in-phase-one on|off|both] [--phase-one-statements 1,2 (side by side)] [--estimate-reuse on|off] [--tick-rounds N (2, 4 and 1 again worker runs repeated; medians printed)] [--journal DIR] " + EngineFlags,
            "On a loaded demo tenant: new segments vs their compiled queries; then per level, an hour of new activity for that share of profiles, incremental tick vs full recompute (time and rows read, in total for 1/2/4 workers and per shape). Writes into the tenant: use a copy.",
            EvaluatorBenchmark.CommandAsync),
        new(
            "ingest",
            "[--sizes 1000000,10000000] [--data DIR] [--query-timeout SECONDS]",
            "NDJSON event lines into fresh databases of the embedded engine: events/s, CPU seconds per 1M events, peak memory.",
            IngestBenchmark.CommandAsync),
        new(
            "engine",
            "[--data DIR] [--query-timeout SECONDS]",
            "The embedded engine: parallelism of one connection vs the pool, 20M-row insert, filtered aggregate.",
            EngineBenchmark.CommandAsync),
        new(
            "mcp",
            "[--company demo] [--iterations N (default 30)] [--profiles N (demo data loaded when the company has none)] [--server PATH (segmentmcp or segmentmcp.dll; default: the one built next to this)] " + EngineFlags,
            "MCP overhead per call (count_members, preview_segment) vs engine time, describe_schema's time, and stdio start-up of segmentmcp to first response.",
            McpBenchmark.CommandAsync),
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            await (args.Length == 0 ? Console.Error : Console.Out).WriteAsync(Help()).ConfigureAwait(false);
            return args.Length == 0 ? 2 : 0;
        }

        var benchmark = Array.Find(Benchmarks, b => b.Name == args[0]);
        if (benchmark is null)
        {
            await Console.Error.WriteLineAsync($"unknown benchmark '{args[0]}': give one of {string.Join(", ", Benchmarks.Select(b => b.Name))}").ConfigureAwait(false);
            return 2;
        }

        if (args.Skip(1).Any(a => a is "--help" or "-h"))
        {
            await Console.Out.WriteLineAsync($"{benchmark.Summary}\nusage: {Invocation} {benchmark.Name} {benchmark.Usage}").ConfigureAwait(false);
            return 0;
        }

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });

        try
        {
            var arguments = new BenchArguments(args[1..]);

            // The embedded engine would take a piped standard input as INSERT data (see StandardInput).
            StandardInput.Detach();
            await benchmark.Run(arguments, Console.Out, stop.Token).ConfigureAwait(false);
            return 0;
        }
        catch (BenchUsageException usage)
        {
            await Console.Error.WriteLineAsync($"{benchmark.Name}: {usage.Message}\nusage: {Invocation} {benchmark.Name} {benchmark.Usage}").ConfigureAwait(false);
            return 2;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"{benchmark.Name}: stopped").ConfigureAwait(false);
            return 1;
        }
        catch (Exception failure) when (failure is ClickHouseException or IOException or UnauthorizedAccessException or InvalidOperationException or DllNotFoundException or ArgumentException)
        {
            await Console.Error.WriteLineAsync($"{benchmark.Name}: {failure.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static string Help()
    {
        var text = new StringBuilder($"usage: {Invocation} BENCHMARK [--flags]   (BENCHMARK --help for its flags)\n\n");
        foreach (var benchmark in Benchmarks)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"  {benchmark.Name,-10} {benchmark.Summary}\n");
        }

        text.Append("\nThe engine flags are segmentmcp's: --data DIR (env SEGMENTMCP_DATA, default ~/.local/share/segmentmcp) or\n");
        text.Append("--clickhouse CONN (env SEGMENTMCP_CLICKHOUSE), --database NAME (default segmentmcp), --query-timeout SECONDS (default 60).\n");
        return text.ToString();
    }

    private sealed record Benchmark(string Name, string Usage, string Summary, Func<BenchArguments, TextWriter, CancellationToken, Task> Run);
}
