using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using SegmentMcp.Core.Demo;
using SegmentMcp.Core.Ingest;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Storage.Chdb;

namespace SegmentMcp.Benchmarks;

/// <summary>
/// <c>ingest [--data DIR] [--sizes 1000000,10000000] [--formats ndjson,csv,json]</c>: writes NDJSON files of demo events
/// (1M and 10M lines by default), and the same events as CSV or as a pretty-printed JSON array, ingests each into a
/// fresh database through the full default path (CSV and JSON: turned into NDJSON, then the validation pass, then the
/// write pass) and prints events/s and the process's peak resident memory.
/// </summary>
internal static class IngestBenchmark
{
    public static async Task CommandAsync(BenchArguments args, TextWriter output, CancellationToken cancellationToken)
    {
        var sizes = args.Numbers("sizes", [1_000_000, 10_000_000]);
        var formats = (args.Text("formats") ?? "ndjson,csv").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (formats.Length == 0 || formats.Any(f => f is not ("ndjson" or "csv" or "json")))
        {
            throw new ArgumentException("--formats: any of ndjson, csv and json, comma-separated (ndjson,csv)");
        }

        var selection = args.Engine(embeddedOnly: true);
        args.RejectUnread();
        await RunAsync(ChdbEngine.Open(selection.DataPath, selection.Limits), output, sizes, formats, cancellationToken).ConfigureAwait(false);
    }

    public static async Task RunAsync(
        IClickHouseEngine engine, TextWriter output, IReadOnlyList<int>? sizes = null, IReadOnlyList<string>? formats = null, CancellationToken cancellationToken = default)
    {
        sizes ??= [1_000_000, 10_000_000];
        formats ??= ["ndjson"];
        var directory = Directory.CreateTempSubdirectory("segmentmcp-bench-");
        try
        {
            await output.WriteLineAsync($"ingest benchmark on {engine.Kind}, {Environment.ProcessorCount} cores; files in {directory.FullName}").ConfigureAwait(false);
            await output.WriteLineAsync("| events | format | file | generate | validate + write | events/s | CPU s per 1M events | peak memory (VmHWM) |").ConfigureAwait(false);
            await output.WriteLineAsync("|---:|---|---:|---:|---:|---:|---:|---:|").ConfigureAwait(false);
            foreach (var size in sizes)
            {
                var ndjson = Path.Combine(directory.FullName, $"events-{size}.ndjson");
                var generate = Stopwatch.StartNew();
                WriteEventsFile(ndjson, size);
                var generated = generate.Elapsed;
                foreach (var format in formats)
                {
                    var path = ndjson;
                    var source = IngestSource.File(path);
                    if (format == "csv")
                    {
                        path = Path.ChangeExtension(ndjson, ".csv");
                        generate.Restart();
                        WriteCsvFile(ndjson, path);
                        generated += generate.Elapsed;
                        source = IngestSource.File(path).AsCsv();
                    }
                    else if (format == "json")
                    {
                        path = Path.ChangeExtension(ndjson, ".json");
                        generate.Restart();
                        WriteJsonArrayFile(ndjson, path);
                        generated += generate.Elapsed;
                        source = IngestSource.File(path).AsJsonArray();
                    }

                    var schema = new StorageSchema("bench_ingest_" + Guid.NewGuid().ToString("N")[..8]);
                    await schema.EnsureCreatedAsync(engine, cancellationToken).ConfigureAwait(false);
                    try
                    {
                        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                        var result = await new NdjsonIngestor(engine, schema).IngestAsync(source, null, cancellationToken).ConfigureAwait(false);
                        if (result.EventsWritten != size)
                        {
                            throw new InvalidOperationException($"Expected {size:N0} events written from {format}, got {result.EventsWritten:N0}: {string.Join("; ", result.Errors.Take(3))}");
                        }

                        // CPU time (user + system, every thread, engine included) is steadier than wall time on a shared machine.
                        var cpuPerMillion = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds * 1_000_000 / size;
                        await output.WriteLineAsync(string.Create(
                            CultureInfo.InvariantCulture,
                            $"| {size:N0} | {format} | {new FileInfo(path).Length / 1048576.0:N0} MB | {generated.TotalSeconds:F1} s | {result.Elapsed.TotalSeconds:F1} s | {result.RowsPerSecond:N0} | {cpuPerMillion:F1} s | {ProcessMemory.PeakMegabytes():N0} MB |")).ConfigureAwait(false);
                    }
                    finally
                    {
                        await engine.ExecuteAsync(new SqlStatement($"DROP DATABASE IF EXISTS {schema.Database}"), CancellationToken.None).ConfigureAwait(false);
                        if (path != ndjson)
                        {
                            File.Delete(path);
                        }
                    }
                }

                File.Delete(ndjson);
            }

            await output.WriteLineAsync("Peak memory is the process's high-water mark so far (it never goes down), engine included.").ConfigureAwait(false);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>The same events as one JSON array, a record a line indented, as exports pretty-print them.</summary>
    private static void WriteJsonArrayFile(string ndjson, string json)
    {
        using var writer = new StreamWriter(json, append: false, new UTF8Encoding(false), 1 << 20) { NewLine = "\n" };
        writer.WriteLine("[");
        var first = true;
        foreach (var line in File.ReadLines(ndjson))
        {
            if (!first)
            {
                writer.WriteLine(",");
            }

            writer.Write("  ");
            writer.Write(line);
            first = false;
        }

        writer.WriteLine();
        writer.WriteLine("]");
    }

    /// <summary>
    /// The same events as CSV, as a CRM export has them: a column per field and per event property (the union of the
    /// metrics' properties), empty where an event has none.
    /// </summary>
    private static void WriteCsvFile(string ndjson, string csv)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(ndjson))
        {
            using var record = JsonDocument.Parse(line);
            if (record.RootElement.TryGetProperty("properties", out var properties))
            {
                names.UnionWith(properties.EnumerateObject().Select(p => p.Name));
            }
        }

        using var writer = new StreamWriter(csv, append: false, new UTF8Encoding(false), 1 << 20) { NewLine = "\n" };
        writer.WriteLine(string.Join(',', ["company_id", "profile_id", "metric", "timestamp", "value", .. names]));
        var cells = new List<string>();
        foreach (var line in File.ReadLines(ndjson))
        {
            using var record = JsonDocument.Parse(line);
            var root = record.RootElement;
            cells.Clear();
            cells.Add(Cell(root.GetProperty("company_id")));
            cells.Add(Cell(root.GetProperty("profile_id")));
            cells.Add(Cell(root.GetProperty("metric")));
            cells.Add(Cell(root.GetProperty("timestamp")));
            cells.Add(root.TryGetProperty("value", out var value) ? Cell(value) : string.Empty);
            var properties = root.TryGetProperty("properties", out var p) ? p : default;
            foreach (var name in names)
            {
                cells.Add(properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(name, out var cell) ? Cell(cell) : string.Empty);
            }

            writer.WriteLine(string.Join(',', cells));
        }
    }

    private static string Cell(JsonElement value)
    {
        var text = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Null => string.Empty,
            _ => value.GetRawText(),
        };
        return text.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? $"\"{text.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : text;
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
