using System.Diagnostics;
using System.Text;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Storage.Chdb;

namespace SegmentMcp.Benchmarks;

/// <summary>
/// <c>engine [--data DIR]</c>: measures what the embedded engine's design rests on: whether statements on one chDB connection run in parallel
/// (they do not), whether separate connections do (they do), and bulk insert / filtered aggregate speed.
/// </summary>
internal static class EngineBenchmark
{
    private const string CpuBoundQuery = "SELECT max(sipHash64(toString(number))) FROM numbers(20000000) SETTINGS max_threads = 1";

    public static async Task CommandAsync(BenchArguments args, TextWriter output, CancellationToken cancellationToken)
    {
        var selection = args.Engine(embeddedOnly: true);
        args.RejectUnread();
        await RunAsync(ChdbEngine.Open(selection.DataPath, selection.Limits), output, cancellationToken).ConfigureAwait(false);
    }

    public static async Task RunAsync(ChdbEngine engine, TextWriter output, CancellationToken cancellationToken)
    {
        await output.WriteLineAsync($"chDB {ChdbEngine.EngineVersion}, {Environment.ProcessorCount} cores, pool of {engine.Connections} connections").ConfigureAwait(false);

        await engine.QueryAsync(new SqlStatement(CpuBoundQuery), cancellationToken).ConfigureAwait(false); // warm-up
        var single = await MedianAsync(() => TimeAsync(() => engine.QueryAsync(new SqlStatement(CpuBoundQuery), cancellationToken))).ConfigureAwait(false);
        var sameConnection = await MedianAsync(() => TimeOnOneConnectionAsync(engine, cancellationToken)).ConfigureAwait(false);
        var pooled = await MedianAsync(() => TimeAsync(() => Task.WhenAll(engine.QueryAsync(new SqlStatement(CpuBoundQuery), cancellationToken), engine.QueryAsync(new SqlStatement(CpuBoundQuery), cancellationToken)))).ConfigureAwait(false);
        await output.WriteLineAsync("| measurement | wall time (median of 3) |").ConfigureAwait(false);
        await output.WriteLineAsync("|---|---|").ConfigureAwait(false);
        await output.WriteLineAsync($"| 1 single-threaded query | {single.TotalMilliseconds:F0} ms |").ConfigureAwait(false);
        await output.WriteLineAsync($"| 2 such queries from 2 threads on ONE connection | {sameConnection.TotalMilliseconds:F0} ms ({sameConnection / single:F2}× one query) |").ConfigureAwait(false);
        await output.WriteLineAsync($"| 2 such queries through the pool (2 connections) | {pooled.TotalMilliseconds:F0} ms ({pooled / single:F2}× one query) |").ConfigureAwait(false);

        foreach (var (label, sql) in new[]
        {
            ("SELECT 1", "SELECT 1"),
            ("SELECT 1 with a parameter", "SELECT {p:String}"),
            ("count() of system.one", "SELECT count() FROM system.one"),
        })
        {
            var parameters = sql.Contains('{', StringComparison.Ordinal) ? new SqlParameter[] { new("p", "String", "x") } : [];
            var latencies = new List<double>();
            for (var i = 0; i < 40; i++)
            {
                var stopwatch = Stopwatch.StartNew();
                await engine.QueryAsync(new SqlStatement(sql, parameters), cancellationToken).ConfigureAwait(false);
                latencies.Add(stopwatch.Elapsed.TotalMilliseconds);
            }

            latencies.Sort();
            await output.WriteLineAsync($"| a trivial statement ({label}), 40 in a row | median {latencies[20]:F1} ms, fastest {latencies[0]:F1} ms |").ConfigureAwait(false);
        }

        var database = "bench_engine_" + Guid.NewGuid().ToString("N")[..8];
        await engine.ExecuteAsync(new SqlStatement($"CREATE DATABASE {database}"), cancellationToken).ConfigureAwait(false);
        try
        {
            await engine.ExecuteAsync(new SqlStatement($"CREATE TABLE {database}.t (tenant LowCardinality(String), metric LowCardinality(String), profile_id String, ts DateTime64(3, 'UTC'), value Float64) ENGINE = MergeTree ORDER BY (tenant, metric, profile_id, ts)"), cancellationToken).ConfigureAwait(false);
            var insert = await TimeAsync(() => engine.ExecuteAsync(
                new SqlStatement($"INSERT INTO {database}.t SELECT 'demo', ['Opened Email', 'Placed Order', 'Viewed Product'][number % 3 + 1], toString(number % 2000000), now64(3) - toIntervalSecond(number % 34560000), number % 100 FROM numbers(20000000)"),
                cancellationToken)).ConfigureAwait(false);
            QueryResult? aggregate = null;
            var aggregateTime = await TimeAsync(async () => aggregate = await engine.QueryAsync(
                new SqlStatement($"SELECT count(), uniqExact(profile_id) FROM {database}.t WHERE tenant = {{t:String}} AND metric = {{m:String}} AND value > {{v:Float64}}", [new("t", "String", "demo"), new("m", "String", "Placed Order"), new("v", "Float64", 50.0)]),
                cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
            await output.WriteLineAsync($"| INSERT … SELECT of 20,000,000 event rows | {insert.TotalSeconds:F1} s ({20_000_000 / insert.TotalSeconds:N0} rows/s) |").ConfigureAwait(false);
            await output.WriteLineAsync($"| filtered aggregate over them (one metric, value > 50) | {aggregateTime.TotalMilliseconds:F0} ms, {aggregate!.Statistics.RowsRead:N0} rows read |").ConfigureAwait(false);
        }
        finally
        {
            await engine.ExecuteAsync(new SqlStatement($"DROP DATABASE IF EXISTS {database}"), CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task<TimeSpan> MedianAsync(Func<Task<TimeSpan>> measure)
    {
        var samples = new List<TimeSpan>();
        for (var i = 0; i < 3; i++)
        {
            samples.Add(await measure().ConfigureAwait(false));
        }

        samples.Sort();
        return samples[1];
    }

    private static async Task<TimeSpan> TimeAsync(Func<Task> action)
    {
        var stopwatch = Stopwatch.StartNew();
        await action().ConfigureAwait(false);
        return stopwatch.Elapsed;
    }

    /// <summary>Two threads issuing statements on one raw connection: chDB serializes them.</summary>
    private static async Task<TimeSpan> TimeOnOneConnectionAsync(ChdbEngine engine, CancellationToken cancellationToken)
    {
        using var connection = ChdbEngine.Connect(engine.DataPath, engine.Limits);
        var statement = Encoding.UTF8.GetBytes(CpuBoundQuery);
        void Run()
        {
            using var result = ChdbEngine.Invoke(connection.Connection, statement, [], streaming: false);
            cancellationToken.ThrowIfCancellationRequested();
        }

        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(Task.Run(Run, cancellationToken), Task.Run(Run, cancellationToken)).ConfigureAwait(false);
        return stopwatch.Elapsed;
    }
}
