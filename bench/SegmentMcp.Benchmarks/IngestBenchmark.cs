using System.Diagnostics;
using System.Globalization;
using SegmentMcp.Core.Demo;
using SegmentMcp.Core.Ingest;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Storage.Chdb;

namespace SegmentMcp.Benchmarks;

/// <summary>
/// <c>ingest [--data DIR] [--sizes 1000000,10000000]</c>: writes NDJSON files of demo events (1M and 10M lines by default), ingests each
/// into a fresh database through the full default path (validation pass, then the write pass) and prints events/s and
/// the process's peak resident memory.
/// </summary>
internal static class IngestBenchmark
{
    public static async Task CommandAsync(BenchArguments args, TextWriter output, CancellationToken cancellationToken)
    {
        var sizes = args.Numbers("sizes", [1_000_000, 10_000_000]);
        var selection = args.Engine(embeddedOnly: true);
        args.RejectUnread();
        await RunAsync(ChdbEngine.Open(selection.DataPath, selection.Limits), output, sizes, cancellationToken).ConfigureAwait(false);
    }

    public static async Task RunAsync(IClickHouseEngine engine, TextWriter output, IReadOnlyList<int>? sizes = null, CancellationToken cancellationToken = default)
    {
        sizes ??= [1_000_000, 10_000_000];
        var directory = Directory.CreateTempSubdirectory("segmentmcp-bench-");
        try
        {
            await output.WriteLineAsync($"ingest benchmark on {engine.Kind}, {Environment.ProcessorCount} cores; files in {directory.FullName}").ConfigureAwait(false);
            await output.WriteLineAsync("| events | file | generate | validate + write | events/s | CPU s per 1M events | peak memory (VmHWM) |").ConfigureAwait(false);
            await output.WriteLineAsync("|---:|---:|---:|---:|---:|---:|---:|").ConfigureAwait(false);
            foreach (var size in sizes)
            {
                var path = Path.Combine(directory.FullName, $"events-{size}.ndjson");
                var generate = Stopwatch.StartNew();
                WriteEventsFile(path, size);
                generate.Stop();

                var schema = new StorageSchema("bench_ingest_" + Guid.NewGuid().ToString("N")[..8]);
                await schema.EnsureCreatedAsync(engine, cancellationToken).ConfigureAwait(false);
                try
                {
                    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                    var result = await new NdjsonIngestor(engine, schema).IngestAsync(IngestSource.File(path), null, cancellationToken).ConfigureAwait(false);
                    if (result.EventsWritten != size)
                    {
                        throw new InvalidOperationException($"Expected {size:N0} events written, got {result.EventsWritten:N0}.");
                    }

                    // CPU time (user + system, every thread, engine included) is steadier than wall time on a shared machine.
                    var cpuPerMillion = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds * 1_000_000 / size;
                    await output.WriteLineAsync(string.Create(
                        CultureInfo.InvariantCulture,
                        $"| {size:N0} | {new FileInfo(path).Length / 1048576.0:N0} MB | {generate.Elapsed.TotalSeconds:F1} s | {result.Elapsed.TotalSeconds:F1} s | {result.RowsPerSecond:N0} | {cpuPerMillion:F1} s | {ProcessMemory.PeakMegabytes():N0} MB |")).ConfigureAwait(false);
                }
                finally
                {
                    await engine.ExecuteAsync(new SqlStatement($"DROP DATABASE IF EXISTS {schema.Database}"), CancellationToken.None).ConfigureAwait(false);
                    File.Delete(path);
                }
            }

            await output.WriteLineAsync("Peak memory is the process's high-water mark so far (it never goes down), engine included.").ConfigureAwait(false);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Exactly <paramref name="lines"/> demo events (as many profiles as it takes).</summary>
    private static void WriteEventsFile(string path, long lines)
    {
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        var generator = new DemoGenerator(new DemoOptions { Profiles = int.MaxValue, Seed = 1 });
        var remaining = lines;
        var output = new RowBuffer(1 << 20);
        for (var profile = 0; remaining > 0; profile += 1000)
        {
            generator.WriteEvents(profile, profile + 1000, output, chunk =>
            {
                var span = chunk.Written.Span;
                while (remaining > 0 && span.Length > 0)
                {
                    var newline = span.IndexOf((byte)'\n');
                    file.Write(span[..(newline + 1)]);
                    span = span[(newline + 1)..];
                    remaining--;
                }

                chunk.Clear();
            });
        }
    }
}
