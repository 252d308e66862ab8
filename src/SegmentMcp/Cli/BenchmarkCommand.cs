using System.CommandLine;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage.Chdb;

namespace SegmentMcp.Cli;

/// <summary>
/// <c>segmentmcp benchmark engine</c>: the embedded engine's parallelism and raw speed;
/// <c>segmentmcp benchmark compiler</c>: compiled segment queries against hand-written SQL on the demo tenant.
/// </summary>
internal static class BenchmarkCommand
{
    private static readonly Option<string> EvaluatorCompany = Flags.Company("The loaded demo tenant to measure on (it is written to: use a copy).", "demo");
    private static readonly Option<int> Runs = Flags.Int("--runs", "N", "Runs of each query after a warm-up; the median is reported.", 5, 1, 1_000);

    public static Command CreateEngine() => CommandLine.Verb(
        "engine",
        "Measure the embedded engine: parallelism of one connection vs the pool, 20M-row insert, filtered aggregate.",
        EngineSelection.Options,
        RunEngineAsync);

    public static Command CreateEvaluator() => CommandLine.Verb(
        "evaluator",
        "On a loaded demo tenant: one hour of new activity, incremental tick vs full recompute (time and rows read), 1/2/4 workers. Writes into the tenant.",
        [EvaluatorCompany, .. EngineSelection.Options],
        RunEvaluatorAsync);

    public static Command CreateCompiler() => CommandLine.Verb(
        "compiler",
        "Measure compiled segment queries against hand-written SQL on the demo tenant: median ms, ratio, rows read per shape.",
        [Runs, .. EngineSelection.Options],
        RunCompilerAsync);

    public static async Task<int> RunEngineAsync(ParseResult args, CancellationToken cancellationToken)
    {
        var selection = EngineSelection.FromArguments(args);
        if (selection.ConnectionString is not null)
        {
            throw new UsageException("benchmark engine measures the embedded engine: use --data, not --clickhouse");
        }

        var engine = ChdbEngine.Open(selection.DataPath, selection.Limits);
        await ChdbEngineBenchmark.RunAsync(engine, Console.Out, cancellationToken).ConfigureAwait(false);
        return CommandLine.Ok;
    }

    /// <summary>
    /// <c>segmentmcp benchmark evaluator</c>: on a loaded demo tenant, saves the 12 benchmark segments, adds one hour of
    /// activity and compares the incremental tick with a full recompute. It writes into the tenant: use a copy.
    /// </summary>
    public static async Task<int> RunEvaluatorAsync(ParseResult args, CancellationToken cancellationToken)
    {
        var company = args.ValueOf(EvaluatorCompany);
        var selection = EngineSelection.FromArguments(args);
        var (engine, schema) = await selection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var latest = await engine.QueryAsync(
            new SqlStatement($"SELECT count(), max(ts) FROM {schema.Events} WHERE tenant = {{tenant:String}}", [new SqlParameter("tenant", "String", company)]),
            cancellationToken).ConfigureAwait(false);
        if (Convert.ToInt64(latest.Rows[0][0], System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            throw new UsageException($"tenant '{company}' has no events: load it first with 'segmentmcp demo --profiles 2000000 --data DIR'");
        }

        await EvaluatorBenchmark.RunAsync(engine, schema, company, (DateTime)latest.Rows[0][1]!, Console.Out, cancellationToken).ConfigureAwait(false);
        return CommandLine.Ok;
    }

    /// <summary><c>segmentmcp benchmark compiler</c>: compiled segment queries vs hand-written SQL on the demo tenant.</summary>
    public static async Task<int> RunCompilerAsync(ParseResult args, CancellationToken cancellationToken)
    {
        var runs = args.GetValue(Runs);
        var selection = EngineSelection.FromArguments(args);
        var (engine, schema) = await selection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var now = DateTime.UtcNow;
        now = new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
        await CompilerBenchmark.RunAsync(engine, schema, CompilerBenchmark.Tenant, now, runs, Console.Out, cancellationToken).ConfigureAwait(false);
        return CommandLine.Ok;
    }
}
