using System.CommandLine;
using System.Globalization;
using SegmentMcp.Core.Ingest;

namespace SegmentMcp.Cli;

/// <summary>
/// <c>segmentmcp ingest --events FILE|- --profiles FILE|- [--format ndjson|csv|json] [--map FIELD=COLUMN …] [--metric NAME] [--flatten] [--company ID] [--skip-invalid] [--dry-run] [--batch-rows N] [--parallel-inserts N]</c>:
/// NDJSON, CSV or a JSON array into the storage schema. Bad lines go to standard error as <c>line N: reason</c>; by default one bad line
/// means nothing is written (exit 1). The summary goes to standard output.
/// </summary>
internal static class IngestCommand
{
    private static readonly Option<string?> Events = Flags.Text("--events", "FILE|-", "Events to load (- reads standard input).");
    private static readonly Option<string?> Profiles = Flags.Text("--profiles", "FILE|-", "Profile records to load (- reads standard input).");
    private static readonly Option<string?> Format = Flags.Text(
        "--format", "ndjson|csv|json", "How the inputs are written (default: csv for a file ending in .csv or .tsv, json for a file starting with '[', else ndjson; standard input: ndjson). CSV: a header naming the columns (profile_id, …; other columns are properties). json: one array of records, [{…}, {…}], in any layout.",
        value => value is "ndjson" or "csv" or "json" ? null : $"--format must be ndjson, csv or json, not '{value}'");
    private static readonly Option<string[]> Map = Flags.Repeated(
        "--map", "FIELD=COLUMN", "The CSV column or JSON key holding a field when the export does not use its name, e.g. --map profile_id=\"Customer ID\" --map timestamp=\"Order Date\", or for JSON records --map profile_id=userId --map metric=event (fields: profile_id, company_id, metric, timestamp, value, updated_at, and for JSON properties); repeat for each field, and for a field the two files name differently (a CSV uses the column it has, a JSON record the first key given that it holds).");
    private static readonly Option<string?> Metric = Flags.Text("--metric", "NAME", "Events without a metric (a CSV without a metric column, JSON records without the field): each is an event of NAME (e.g. an orders export: \"Placed Order\").");
    private static readonly Option<bool> Flatten = Flags.Switch("--flatten", "JSON records: a property holding an object becomes a property per member, named PARENT.MEMBER (traits' address.city), at any depth; arrays stay JSON text (default: the object is one property holding its JSON text).");
    private static readonly Option<string?> Company = Flags.Company("The tenant of records without company_id; a record naming another is a bad line.");
    private static readonly Option<bool> SkipInvalid = Flags.Switch("--skip-invalid", "Write the good lines and report the bad ones (default: one bad line writes nothing).");
    private static readonly Option<bool> DryRun = Flags.Switch("--dry-run", "Read and check every line and write nothing: prints how many rows each input would write and every bad line (exit 1 when a real run would write nothing).");
    private static readonly Option<int> BatchRows = Flags.Int("--batch-rows", "N", "Rows per insert at most (events are batched by month, their table's partition).", 100_000, 1, 10_000_000);
    private static readonly Option<int> ParallelInserts = Flags.Int("--parallel-inserts", "N", "Batches inserted at the same time.", 2, 1, 16);

    public static Command Create() => CommandLine.Verb(
        "ingest",
        "Load NDJSON, CSV or JSON-array events and/or profile records (- reads standard input); bad lines are reported as 'line N: reason' ('record N' in a JSON array).",
        [Events, Profiles, Format, Map, Metric, Flatten, Company, SkipInvalid, DryRun, BatchRows, ParallelInserts, .. EngineSelection.Options],
        RunAsync);

    public static async Task<int> RunAsync(ParseResult args, CancellationToken cancellationToken)
    {
        var events = args.GetValue(Events);
        var profiles = args.GetValue(Profiles);
        var company = args.GetValue(Company);
        var skipInvalid = args.GetValue(SkipInvalid);
        var batchRows = args.GetValue(BatchRows);
        var parallelInserts = args.GetValue(ParallelInserts);
        var selection = EngineSelection.FromArguments(args, EngineSelection.BulkLoadQueryTimeout);
        if (events is null && profiles is null)
        {
            throw new UsageException("give --events FILE and/or --profiles FILE (- reads standard input)");
        }

        if (events == "-" && profiles == "-")
        {
            throw new UsageException("only one of --events and --profiles can read standard input");
        }

        // Set aside before the engine opens, whether or not we read it: see StandardInput.
        StandardInput.Detach();
        var format = args.GetValue(Format);
        var columns = Columns(args.GetValue(Map) ?? [], args.GetValue(Metric), events);
        var eventSource = Source("events", events, format, columns);
        var profileSource = Source("profiles", profiles, format, columns);
        if (columns?.Fields.Any(f => f.Field == FieldMap.PropertiesField) == true && (eventSource?.Format == IngestFormat.Csv || profileSource?.Format == IngestFormat.Csv))
        {
            throw new UsageException("--map properties=… is for JSON records, whose properties are one object; in a CSV every column that is no field's is a property");
        }

        var both = eventSource is not null && profileSource is not null;
        IngestKind? reporting = null;
        var dryRun = args.GetValue(DryRun);
        var options = new IngestOptions
        {
            Company = company,
            SkipInvalid = skipInvalid,
            DryRun = dryRun,
            FlattenProperties = args.GetValue(Flatten),
            BatchRows = batchRows,
            ParallelInserts = parallelInserts,
            OnError = error =>
            {
                // With two inputs, a heading says which file the line numbers belong to.
                if (both && reporting != error.Kind)
                {
                    reporting = error.Kind;
                    Console.Error.WriteLine($"{Name(error.Kind)} ({error.Source}):");
                }

                Console.Error.WriteLine(error.ToString());
            },
            OnProgress = progress => Console.Error.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{Name(progress.Kind)}: {(progress.Phase == IngestPhase.Validating ? "validating" : "writing")}, line {progress.Lines:N0}, {progress.Rows:N0} rows written ({progress.Elapsed.TotalSeconds:F0} s)")),
        };

        var (engine, schema) = await selection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var result = await new NdjsonIngestor(engine, schema, options).IngestAsync(eventSource, profileSource, cancellationToken).ConfigureAwait(false);
        if (dryRun && !result.Rejected)
        {
            return await ReportDryRunAsync(result, skipInvalid).ConfigureAwait(false);
        }

        if (result.Rejected)
        {
            await Console.Error.WriteLineAsync(skipInvalid
                ? "segmentmcp ingest: a CSV header or a JSON array cannot be read, so no record of that file can; nothing was written"
                : string.Create(
                    CultureInfo.InvariantCulture,
                    $"segmentmcp ingest: {result.InvalidLines:N0} bad line{(result.InvalidLines == 1 ? string.Empty : "s")}; nothing was written ({Remedy(result)})")).ConfigureAwait(false);
            return CommandLine.Failed;
        }

        foreach (var source in result.Sources)
        {
            await Console.Out.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"{Name(source.Kind) + ":",-10}{source.RowsWritten:N0} rows written from {source.Source} ({source.Lines:N0} {source.LineUnit}s, {source.Batches} batch{(source.Batches == 1 ? string.Empty : "es")}{(source.InvalidLines > 0 ? $", {source.InvalidLines:N0} bad lines skipped" : string.Empty)})")).ConfigureAwait(false);
            await WritePropertiesAsync(source).ConfigureAwait(false);
        }

        await Console.Out.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"{"total:",-10}{result.RowsWritten:N0} rows in {result.Elapsed.TotalSeconds:F1} s ({result.RowsPerSecond:N0} rows/s) into {selection.Describe()}, database {schema.Database}")).ConfigureAwait(false);
        return CommandLine.Ok;
    }

    /// <summary>A CSV's columns that became properties, which an event condition reads in its where, a profile condition by name.</summary>
    private static Task WritePropertiesAsync(IngestSourceResult source) =>
        source.CsvProperties is { Count: > 0 } names
            ? Console.Out.WriteLineAsync($"{string.Empty,-10}{(source.Kind == IngestKind.Events ? "event" : "profile")} properties: {string.Join(", ", names)}")
            : Task.CompletedTask;

    /// <summary>A dry run's first good records as they would be stored, one JSON object a line: a mapping checked by eye.</summary>
    private static async Task WriteSampleAsync(IngestSourceResult source)
    {
        if (source.Sample is not { Count: > 0 } sample)
        {
            return;
        }

        await Console.Out.WriteLineAsync($"{string.Empty,-10}as stored, the first {(sample.Count == 1 ? "record" : $"{sample.Count} records")}:").ConfigureAwait(false);
        foreach (var record in sample)
        {
            await Console.Out.WriteLineAsync($"{string.Empty,-10}{record.ToJson(source.LineUnit).ToJsonString(SegmentsCommand.CompactJson)}").ConfigureAwait(false);
        }
    }

    /// <summary>What a real run would have written; exit 1 when it would have written nothing because of bad lines.</summary>
    private static async Task<int> ReportDryRunAsync(IngestResult result, bool skipInvalid)
    {
        foreach (var source in result.Sources)
        {
            await Console.Out.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"{Name(source.Kind) + ":",-10}{source.ValidRecords:N0} rows would be written from {source.Source} ({source.Lines:N0} {source.LineUnit}s{(source.InvalidLines > 0 ? $", {source.InvalidLines:N0} bad" : string.Empty)})")).ConfigureAwait(false);
            await WritePropertiesAsync(source).ConfigureAwait(false);
            await WriteSampleAsync(source).ConfigureAwait(false);
        }

        var rejected = result.InvalidLines > 0 && !skipInvalid;
        await Console.Out.WriteLineAsync(rejected
            ? string.Create(CultureInfo.InvariantCulture, $"dry run: nothing written; with {result.InvalidLines:N0} bad line{(result.InvalidLines == 1 ? string.Empty : "s")} a real run would write nothing either ({Remedy(result)})")
            : "dry run: nothing written").ConfigureAwait(false);
        return rejected ? CommandLine.Failed : CommandLine.Ok;
    }

    /// <summary>The fields --map gives to columns and the metric --metric gives every event, or null when neither is given.</summary>
    private static FieldMap? Columns(string[] maps, string? metric, string? events)
    {
        if (maps.Length == 0 && metric is null)
        {
            return null;
        }

        if (metric is not null && (metric.Trim().Length == 0 || events is null))
        {
            throw new UsageException(events is null ? "--metric names the metric of every row of --events; give --events FILE" : "--metric: give a metric name");
        }

        var fields = new List<(string Field, string Column)>();
        foreach (var map in maps)
        {
            var equals = map.IndexOf('=', StringComparison.Ordinal);
            var field = equals < 0 ? map.Trim() : map[..equals].Trim();
            var column = equals < 0 ? string.Empty : map[(equals + 1)..].Trim();
            if (equals < 0 || column.Length == 0 || !FieldMap.FieldNames.Contains(field, StringComparer.Ordinal))
            {
                throw new UsageException($"--map {map}: give FIELD=COLUMN, FIELD one of {string.Join(", ", FieldMap.FieldNames)} (e.g. --map profile_id=\"Customer ID\")");
            }

            fields.Add((field, column));
        }

        if (metric is not null && fields.Any(f => f.Field == "metric"))
        {
            throw new UsageException("--metric and --map metric=… both say where the metric is; give one");
        }

        return new FieldMap(fields, metric?.Trim());
    }

    private static IngestSource? Source(string flag, string? value, string? format, FieldMap? columns)
    {
        if (value is null)
        {
            return null;
        }

        var source = value == "-" ? IngestSource.OneShot("stdin", StandardInput.Detach())
            : File.Exists(value) ? IngestSource.File(value)
            : throw new UsageException($"--{flag}: no file at '{value}'");
        var csv = format == "csv" || (format is null && (value.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || value.EndsWith(".tsv", StringComparison.OrdinalIgnoreCase)));
        var json = format == "json" || (format is null && !csv && value != "-" && IngestSource.StartsWithJsonArray(value));
        return csv ? source.AsCsv(columns) : json ? source.AsJsonArray(columns) : source.WithMap(columns);
    }

    /// <summary>
    /// What to do about the bad lines: when every one lacks fields whose keys it names, the flags that read them
    /// (skipping such lines would write nothing); else fix them or skip them.
    /// </summary>
    private static string Remedy(IngestResult result) =>
        FieldAliases.Suggested([.. result.Errors.Select(e => e.Reason)]) is { } map
            ? $"the records name fields with their own keys: add {string.Join(" ", map.Select(p => $"--map {p.Field}={FieldAliases.Quoted(p.Key)}"))}"
            : "fix them, or pass --skip-invalid to write the good lines";

    private static string Name(IngestKind kind) => kind == IngestKind.Events ? "events" : "profiles";
}
