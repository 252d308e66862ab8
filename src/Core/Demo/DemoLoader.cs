using System.Diagnostics;
using SegmentMcp.Core.Ingest;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.Demo;

/// <summary>What loading the demo tenant did.</summary>
public sealed record DemoResult(int Profiles, long Events, long ProfileRecords, DateTimeOffset ReferenceTime, TimeSpan Elapsed)
{
    public double RowsPerSecond => Elapsed > TimeSpan.Zero ? (Events + ProfileRecords) / Elapsed.TotalSeconds : 0;
}

/// <summary>Generates the demo tenant and loads it through the regular NDJSON ingest path.</summary>
public static class DemoLoader
{
    public static async Task<DemoResult> LoadAsync(
        IClickHouseEngine engine,
        StorageSchema schema,
        DemoOptions options,
        Action<IngestProgress>? onProgress = null,
        CancellationToken cancellationToken = default)
    {
        var stopwatch = Stopwatch.StartNew();
        var generator = new DemoGenerator(options);
        var ingestor = new NdjsonIngestor(engine, schema, new IngestOptions
        {
            Company = options.Company,

            // One pass: validating first would mean generating everything twice. The generator's output is checked
            // line by line all the same, and a bad line is a bug that fails the run below.
            SkipInvalid = true,
            OnProgress = onProgress,
        });
        var result = await ingestor.IngestAsync(
            IngestSource.Reopenable("demo events", generator.OpenEvents),
            IngestSource.Reopenable("demo profiles", generator.OpenProfiles),
            cancellationToken).ConfigureAwait(false);
        if (result.InvalidLines > 0)
        {
            throw new InvalidOperationException($"The demo generator wrote {result.InvalidLines} invalid lines; the first: {result.Errors[0]}");
        }

        return new DemoResult(options.Profiles, result.EventsWritten, result.ProfilesWritten, generator.ReferenceTime, stopwatch.Elapsed);
    }
}
