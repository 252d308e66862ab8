using System.CommandLine;

namespace SegmentMcp.Cli;

/// <summary>
/// The one place where verbs defined in other files join the command line. A verb is a <see cref="Command"/> made
/// by <see cref="CommandLine.Verb"/>; a two-word verb would be a subcommand of its group's <see cref="Command"/>.
/// <c>help</c> and <c>version</c> are added by <see cref="CommandLine"/>. The benchmarks are their own program
/// (bench/SegmentMcp.Benchmarks), not verbs of the product.
/// </summary>
internal static class VerbRegistry
{
    public static IEnumerable<Command> All() =>
    [
        Mcp.ServeCommand.Create(),
        QuickstartCommand.Create(),
        IngestCommand.Create(),
        SchemaCommand.Create(),
        DemoCommand.Create(),
        EvaluateCommand.Create(),
        ListsCommand.Create(),
        ProfilesCommand.Create(),
        SegmentsCommand.Create(),
        ClickHouseServerCommand.Create(),
        Agent.AskCommand.CreateAsk(),
        Agent.AskCommand.CreateChat(),
        Agent.EvalNlCommand.Create(),
        ClusterDemoCommand.Create(),
    ];
}
