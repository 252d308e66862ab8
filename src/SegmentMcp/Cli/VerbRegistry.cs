namespace SegmentMcp.Cli;

/// <summary>The one place where verbs defined in other files join the command line.</summary>
internal static class VerbRegistry
{
    public static void RegisterAll()
    {
        Mcp.ServeCommand.Register();
        Mcp.McpBenchmark.Register();
        EvaluateCommand.Register();
        CommandLine.Register(
            "benchmark engine",
            "Measure the embedded engine: parallelism of one connection vs the pool, 20M-row insert, filtered aggregate.",
            "[--data DIR]",
            [],
            BenchmarkCommand.RunEngineAsync);
    }
}
