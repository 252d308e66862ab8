using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage.Chdb;

namespace SegmentMcp.Cli;

/// <summary>
/// <c>segmentmcp benchmark engine</c>: the embedded engine's parallelism and raw speed;
/// <c>segmentmcp benchmark compiler</c>: compiled segment queries against hand-written SQL on the demo tenant.
/// </summary>
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

    public static async Task<int> RunCompilerAsync(CliArguments args, CancellationToken cancellationToken)
    {
        var runs = args.GetInt("runs", 5, 1, 1_000);
        var selection = EngineSelection.FromArguments(args);
        args.RejectUnknown();
        var (engine, schema) = await selection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var now = DateTime.UtcNow;
        now = new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
        await CompilerBenchmark.RunAsync(engine, schema, CompilerBenchmark.Tenant, now, runs, Console.Out, cancellationToken).ConfigureAwait(false);
        return CommandLine.Ok;
    }
}
