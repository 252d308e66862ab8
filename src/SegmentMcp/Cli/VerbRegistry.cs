namespace SegmentMcp.Cli;

/// <summary>The one place where verbs defined in other files join the command line.</summary>
internal static class VerbRegistry
{
    public static void RegisterAll()
    {
        Mcp.ServeCommand.Register();
        QuickstartCommand.Register();
        EvaluateCommand.Register();
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
    }
}
