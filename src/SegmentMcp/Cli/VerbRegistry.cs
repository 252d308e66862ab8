namespace SegmentMcp.Cli;

/// <summary>The one place where verbs defined in other files join the command line.</summary>
internal static class VerbRegistry
{
    public static void RegisterAll()
    {
        Mcp.ServeCommand.Register();
        QuickstartCommand.Register();
        Mcp.McpBenchmark.Register();
        EvaluateCommand.Register();
        CommandLine.Register(
            "benchmark engine",
            "Measure the embedded engine: parallelism of one connection vs the pool, 20M-row insert, filtered aggregate.",
            "[--data DIR]",
            [],
            BenchmarkCommand.RunEngineAsync);
        CommandLine.Register(
            "benchmark evaluator",
            "On a loaded demo tenant: one hour of new activity, incremental tick vs full recompute (time and rows read), 1/2/4 workers. Writes into the tenant.",
            "[--company demo] [--data DIR | --clickhouse CONN]",
            [],
            BenchmarkCommand.RunEvaluatorAsync);
        CommandLine.Register(
            "benchmark compiler",
            "Measure compiled segment queries against hand-written SQL on the demo tenant: median ms, ratio, rows read per shape.",
            "[--runs N] [--data DIR | --clickhouse CONN] [--database NAME]",
            [],
            BenchmarkCommand.RunCompilerAsync);
        CommandLine.Register(
            "ingest",
            "Load NDJSON events and/or profile records (- reads standard input); bad lines are reported as 'line N: reason'.",
            "--events FILE|- --profiles FILE|- [--company ID] [--skip-invalid] [--batch-rows N] [--parallel-inserts N] (--data DIR | --clickhouse CONN) [--database NAME]",
            ["skip-invalid"],
            IngestCommand.RunAsync);
        CommandLine.Register(
            "demo",
            "Generate the demo e-commerce tenant (400 days of history) through the ingest path, replacing the tenant's data.",
            "[--profiles N] [--company demo] [--seed S] [--reference-time T] (--data DIR | --clickhouse CONN) [--database NAME]",
            [],
            DemoCommand.RunAsync);
        CommandLine.Register(
            "benchmark ingest",
            "Measure ingest: 1M and 10M NDJSON event lines into fresh databases, events/s and peak memory.",
            "[--data DIR] [--sizes 1000000,10000000]",
            [],
            IngestCommand.RunBenchmarkAsync);
    }
}
