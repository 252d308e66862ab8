using SegmentMcp.Core.Storage.Chdb;

namespace SegmentMcp.Cli;

/// <summary><c>segmentmcp benchmark engine</c>: the embedded engine's parallelism and raw speed.</summary>
internal static class BenchmarkCommand
{
    public static async Task<int> RunEngineAsync(CliArguments args, CancellationToken cancellationToken)
    {
        var selection = EngineSelection.FromArguments(args);
        args.RejectUnknown();
        if (selection.ConnectionString is not null)
        {
            throw new UsageException("benchmark engine measures the embedded engine: use --data, not --clickhouse");
        }

        var engine = ChdbEngine.Open(selection.DataPath, selection.Limits);
        await ChdbEngineBenchmark.RunAsync(engine, Console.Out, cancellationToken).ConfigureAwait(false);
        return CommandLine.Ok;
    }
}
