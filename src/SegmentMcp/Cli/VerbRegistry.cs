using System.CommandLine;

namespace SegmentMcp.Cli;

/// <summary>
/// The one place where verbs defined in other files join the command line. A verb is a <see cref="Command"/> made
/// by <see cref="CommandLine.Verb"/>; a two-word verb (<c>benchmark engine</c>) is a subcommand of its group.
/// <c>help</c> and <c>version</c> are added by <see cref="CommandLine"/>.
/// </summary>
internal static class VerbRegistry
{
    public static IEnumerable<Command> All() =>
    [
        Mcp.ServeCommand.Create(),
        QuickstartCommand.Create(),
        IngestCommand.Create(),
        DemoCommand.Create(),
        EvaluateCommand.Create(),
        ClickHouseServerCommand.Create(),
        new Command("benchmark", "Measure this machine: the performance figures in the README.")
        {
            BenchmarkCommand.CreateEngine(),
            IngestCommand.CreateBenchmark(),
            BenchmarkCommand.CreateCompiler(),
            BenchmarkCommand.CreateEvaluator(),
            Mcp.McpBenchmark.Create(),
        },
    ];
}
