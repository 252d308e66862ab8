using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.Ingest;

/// <summary>
/// Loads NDJSON (or CSV) events and profile records into the storage schema.
/// </summary>
/// <remarks>
/// <para>By default a run is all or nothing: every input is validated first (a reopenable input is read twice, a
/// one-shot input is copied to a temporary file while it is validated) and a single bad line means nothing is written.
/// With <see cref="IngestOptions.SkipInvalid"/> the good lines are written in one pass and the bad ones reported.</para>
/// <para>Rows go to the engine in batches, each one INSERT carrying a deduplication token derived from the batch's
/// input lines (SHA-256). A crash leaves each batch whole or absent, and running the same ingest again writes every
/// batch exactly once: the engine drops a block whose token it has seen. The token hashes the input lines, not the
/// rows, so a profile record without <c>updated_at</c> (which gets "now") still deduplicates on a re-run.</para>
/// <para>Events are batched by month, the events table's partition, so an insert writes one part whatever the order
/// of the input (<see cref="PartitionedBatches"/>).</para>
/// <para>A CSV input is first turned into NDJSON in a temporary file, line for line (<see cref="CsvTranslator"/>),
/// so it is validated and written exactly as NDJSON is and its messages name the CSV's lines.</para>
/// <para>Parsing runs on its own thread, one batch ahead of the insert in flight (a bounded channel), so the two
/// cores of a small machine parse and insert at the same time.</para>
/// </remarks>
public sealed class NdjsonIngestor
{
    private readonly IClickHouseEngine engine;
    private readonly StorageSchema schema;
    private readonly IngestOptions options;

    public NdjsonIngestor(IClickHouseEngine engine, StorageSchema schema, IngestOptions? options = null)
    {
        this.engine = engine;
        this.schema = schema;
        this.options = options ?? new IngestOptions();
        if (this.options.Company is { } company)
        {
            TenantId.Require(company, "--company");
        }

        if (this.options.BatchRows < 1 || this.options.BatchBytes < 1024 || this.options.ParallelInserts < 1 || this.options.SampleRecords < 0)
        {
            throw new ArgumentException("BatchRows and ParallelInserts must be positive, BatchBytes at least 1 KiB and SampleRecords not negative.", nameof(options));
        }
    }

    /// <summary>Ingests the given inputs (either may be null): events first, then profiles.</summary>
    public async Task<IngestResult> IngestAsync(IngestSource? events, IngestSource? profiles, CancellationToken cancellationToken = default)
    {
        var stopwatch = Stopwatch.StartNew();
        var now = options.Now ?? DateTimeOffset.UtcNow;
        var inputs = new List<(IngestKind Kind, IngestSource Source)>();
        if (events is not null)
        {
            inputs.Add((IngestKind.Events, events));
        }

        if (profiles is not null)
        {
            inputs.Add((IngestKind.Profiles, profiles));
        }

        var errors = new ErrorLog(options);
        var temporaryFiles = new List<string>();
        var checkedInputs = new List<IngestSourceResult>();
        var csvProperties = new Dictionary<IngestKind, IReadOnlyList<string>>();
        try
        {
            // Input by input, so messages come in the order of the inputs.
            for (var i = 0; i < inputs.Count; i++)
            {
                var (kind, source) = inputs[i];
                if (source.Format == IngestFormat.Csv)
                {
                    var (translated, properties) = await TranslateCsvAsync(kind, source, errors, temporaryFiles, stopwatch, cancellationToken).ConfigureAwait(false);
                    csvProperties[kind] = properties;
                    if (translated is null)
                    {
                        // A header that cannot be read: no record can be, with or without SkipInvalid.
                        return Untouched(inputs, errors, stopwatch);
                    }

                    source = translated;
                }
                else if (source.Format == IngestFormat.Json)
                {
                    if (await TranslateJsonArrayAsync(kind, source, errors, temporaryFiles, stopwatch, cancellationToken).ConfigureAwait(false) is not { } translated)
                    {
                        // An array that cannot be read (cut short, two arrays, no array): no record can be trusted.
                        return Untouched(inputs, errors, stopwatch);
                    }

                    source = translated;
                }

                if (options.DryRun)
                {
                    var before = errors.CountFor(kind);
                    var (_, lines, records, sample) = await ValidateAsync(kind, source, now, errors, temporaryFiles, stopwatch, cancellationToken).ConfigureAwait(false);
                    checkedInputs.Add(new IngestSourceResult(kind, source.Name, lines, 0, errors.CountFor(kind) - before, 0)
                    {
                        LineUnit = source.LineUnit,
                        ValidRecords = records - (errors.CountFor(kind) - before),
                        CsvProperties = csvProperties.GetValueOrDefault(kind),
                        Sample = sample,
                    });
                    continue;
                }

                inputs[i] = (kind, options.SkipInvalid ? source : (await ValidateAsync(kind, source, now, errors, temporaryFiles, stopwatch, cancellationToken).ConfigureAwait(false)).Source);
            }

            if (options.DryRun)
            {
                return new IngestResult(checkedInputs, errors.Kept, errors.Count, Rejected: false, stopwatch.Elapsed);
            }

            if (!options.SkipInvalid && errors.Count > 0)
            {
                return Untouched(inputs, errors, stopwatch);
            }

            var results = new List<IngestSourceResult>();
            foreach (var (kind, source) in inputs)
            {
                results.Add(await WriteAsync(kind, source, now, errors, stopwatch, cancellationToken).ConfigureAwait(false) with { CsvProperties = csvProperties.GetValueOrDefault(kind) });
            }

            var result = new IngestResult(results, errors.Kept, errors.Count, Rejected: false, stopwatch.Elapsed);
            if (result.ProfilesWritten > 0)
            {
                // New property values are exact at once (queries read history newer than the current-value table);
                // the refresh makes them fast.
                var refresher = new CurrentTraitsRefresher(engine, schema);
                _ = options.Company is { } company
                    ? [await refresher.RefreshAsync(company, cancellationToken).ConfigureAwait(false)]
                    : await refresher.RefreshAllAsync(cancellationToken).ConfigureAwait(false);
            }

            return result;
        }
        finally
        {
            foreach (var file in temporaryFiles)
            {
                File.Delete(file);
            }
        }
    }

    private static IngestResult Untouched(List<(IngestKind Kind, IngestSource Source)> inputs, ErrorLog errors, Stopwatch stopwatch) =>
        new([.. inputs.Select(i => new IngestSourceResult(i.Kind, i.Source.Name, 0, 0, errors.CountFor(i.Kind), 0))], errors.Kept, errors.Count, Rejected: true, stopwatch.Elapsed);

    /// <summary>
    /// Writes a CSV input's NDJSON to a temporary file and returns it as a source of the same name, or null when its
    /// header cannot be read (reported as an error of its line).
    /// </summary>
    private async Task<(IngestSource? Source, IReadOnlyList<string> Properties)> TranslateCsvAsync(
        IngestKind kind, IngestSource source, ErrorLog errors, List<string> temporaryFiles, Stopwatch stopwatch, CancellationToken cancellationToken)
    {
        var translator = new CsvTranslator(kind, columns: source.Map);
        var (path, header) = await TranslateAsync(
            kind, source, temporaryFiles, stopwatch, (input, output, onLines) => translator.Translate(input, output, onLines, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (header is not { } problem)
        {
            return (IngestSource.File(path, source.Name, translated: true), translator.PropertyNames);
        }

        errors.Add(new IngestError(kind, source.Name, problem.Line, problem.Reason));
        return (null, []);
    }

    /// <summary>
    /// Writes a JSON array's records as NDJSON to a temporary file and returns it as a source of the same name whose
    /// lines are records, or null when the array cannot be read (reported at its line of the file).
    /// </summary>
    private async Task<IngestSource?> TranslateJsonArrayAsync(
        IngestKind kind, IngestSource source, ErrorLog errors, List<string> temporaryFiles, Stopwatch stopwatch, CancellationToken cancellationToken)
    {
        var translator = new JsonArrayTranslator();
        var (path, problem) = await TranslateAsync(
            kind, source, temporaryFiles, stopwatch, (input, output, onRecords) => translator.Translate(input, output, onRecords, cancellationToken), cancellationToken).ConfigureAwait(false);
        if (problem is null)
        {
            return IngestSource.File(path, source.Name, translated: true, lineUnit: "record", map: source.Map);
        }

        errors.Add(new IngestError(kind, source.Name, problem.Line, problem.Reason));
        return null;
    }

    /// <summary>
    /// Runs <paramref name="translate"/> from the source into a new temporary NDJSON file, on a thread of its own (the
    /// translators read synchronously), reporting its progress; returns the file and what the translator returned.
    /// </summary>
    private Task<(string Path, TProblem Problem)> TranslateAsync<TProblem>(
        IngestKind kind,
        IngestSource source,
        List<string> temporaryFiles,
        Stopwatch stopwatch,
        Func<Stream, Stream, Action<long>, TProblem> translate,
        CancellationToken cancellationToken) =>
        Task.Factory.StartNew(
            () =>
            {
                var path = Path.Combine(Path.GetTempPath(), $"segmentmcp-ingest-{Guid.NewGuid():N}.ndjson");
                temporaryFiles.Add(path);
                var progress = new ProgressClock(options, stopwatch);
                using var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
                using var input = source.Open();
                var problem = translate(
                    input,
                    output,
                    reached =>
                    {
                        if (progress.DueNow())
                        {
                            progress.Report(new IngestProgress(kind, source.Name, IngestPhase.Validating, reached, 0, stopwatch.Elapsed));
                        }
                    });
                return (path, problem);
            },
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

    /// <summary>
    /// Checks every line; returns the source to write from, its line count, its records (lines not blank) and, for a dry
    /// run, its first good records.
    /// </summary>
    private async Task<(IngestSource Source, long Lines, long Records, IReadOnlyList<ParsedRecord> Sample)> ValidateAsync(
        IngestKind kind, IngestSource source, DateTimeOffset now, ErrorLog errors, List<string> temporaryFiles, Stopwatch stopwatch, CancellationToken cancellationToken)
    {
        if (source.IsReopenable && Environment.ProcessorCount > 1)
        {
            var slices = Slice(source, options.ParallelValidationMinBytes);
            if (slices.Count > 1)
            {
                var (lines, records, sample) = await ValidateInParallelAsync(kind, source, slices, now, errors, stopwatch, cancellationToken).ConfigureAwait(false);
                return (source, lines, records, sample);
            }
        }

        return await ValidateSequentiallyAsync(kind, source, now, errors, temporaryFiles, stopwatch, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Cuts a large seekable input into one slice per core, each starting just after a newline, so the validation pass
    /// (which has the machine to itself: nothing is inserted yet) uses every core.
    /// </summary>
    private static List<(long Start, long End)> Slice(IngestSource source, long minBytes)
    {
        using var stream = source.Open();
        if (!stream.CanSeek || stream.Length < minBytes)
        {
            return [];
        }

        var length = stream.Length;
        var count = Math.Min(Environment.ProcessorCount, 8);
        var starts = new List<long> { 0 };
        var probe = new byte[64 * 1024];
        for (var i = 1; i < count; i++)
        {
            var position = Math.Max(length * i / count, starts[^1]);
            stream.Position = position;
            while (true)
            {
                var read = stream.Read(probe);
                if (read == 0)
                {
                    position = length;
                    break;
                }

                var newline = probe.AsSpan(0, read).IndexOf((byte)'\n');
                if (newline >= 0)
                {
                    position += newline + 1;
                    break;
                }

                position += read;
            }

            if (position < length && position > starts[^1])
            {
                starts.Add(position);
            }
        }

        return [.. starts.Select((start, i) => (start, i + 1 < starts.Count ? starts[i + 1] : length))];
    }

    private async Task<(long Lines, long Records, IReadOnlyList<ParsedRecord> Sample)> ValidateInParallelAsync(
        IngestKind kind, IngestSource source, List<(long Start, long End)> slices, DateTimeOffset now, ErrorLog errors, Stopwatch stopwatch, CancellationToken cancellationToken)
    {
        var linesSeen = new long[slices.Count];
        var workers = slices.Select((slice, index) => Task.Factory.StartNew(
            () =>
            {
                // Line numbers are relative to the slice until every earlier slice has been counted.
                var found = new List<(long Line, string Reason)>();
                var sample = new List<ParsedRecord>();
                var sampling = options.DryRun ? options.SampleRecords : 0; // Each slice's first: a short first slice may hold too few.
                using var stream = source.Open();
                stream.Position = slice.Start;
                var reader = new LineReader(stream, limit: slice.End - slice.Start, stripByteOrderMark: index == 0);
                var converter = new RecordConverter(kind, options.Company, now, source.Map, options.FlattenProperties);
                var scratch = new RowBuffer(64 * 1024);
                var progress = new ProgressClock(options, stopwatch);
                long records = 0;
                while (reader.TryReadLine(out var line))
                {
                    if (IsBlank(line))
                    {
                        continue;
                    }

                    records++;
                    if (Convert(converter, source, line, scratch) is { } reason)
                    {
                        found.Add((reader.LineNumber, reason));
                    }
                    else if (sample.Count < sampling)
                    {
                        sample.Add(ParsedRecord.Decode(kind, reader.LineNumber, scratch.Written.Span));
                    }

                    scratch.Clear();
                    if ((reader.LineNumber & 0x3FFF) == 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        Interlocked.Exchange(ref linesSeen[index], reader.LineNumber);
                        if (index == 0 && progress.Due(reader.LineNumber))
                        {
                            progress.Report(new IngestProgress(kind, source.Name, IngestPhase.Validating, linesSeen.Sum(), 0, stopwatch.Elapsed));
                        }
                    }
                }

                return (Lines: reader.LineNumber, Records: records, Errors: found, Sample: sample);
            },
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();
        var results = await Task.WhenAll(workers).ConfigureAwait(false);

        long offset = 0;
        var sample = new List<ParsedRecord>();
        foreach (var (lines, _, found, sliceSample) in results)
        {
            foreach (var (line, reason) in found)
            {
                errors.Add(new IngestError(kind, source.Name, offset + line, reason, source.LineUnit));
            }

            sample.AddRange(sliceSample.Take(options.SampleRecords - sample.Count).Select(r => r with { Line = offset + r.Line }));
            offset += lines;
        }

        return (offset, results.Sum(r => r.Records), sample);
    }

    private Task<(IngestSource Source, long Lines, long Records, IReadOnlyList<ParsedRecord> Sample)> ValidateSequentiallyAsync(
        IngestKind kind, IngestSource source, DateTimeOffset now, ErrorLog errors, List<string> temporaryFiles, Stopwatch stopwatch, CancellationToken cancellationToken) =>
        Task.Factory.StartNew(
            () =>
            {
                FileStream? copy = null;
                var result = source;
                if (!source.IsReopenable)
                {
                    var path = Path.Combine(Path.GetTempPath(), $"segmentmcp-ingest-{Guid.NewGuid():N}.ndjson");
                    temporaryFiles.Add(path);
                    copy = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
                    result = IngestSource.File(path, source.Name, map: source.Map);
                }

                long lines;
                long records = 0;
                var sample = new List<ParsedRecord>();
                var sampling = options.DryRun ? options.SampleRecords : 0;
                using (copy)
                using (var stream = source.Open())
                {
                    var reader = new LineReader(stream, copy);
                    var converter = new RecordConverter(kind, options.Company, now, source.Map, options.FlattenProperties);
                    var scratch = new RowBuffer(64 * 1024);
                    var progress = new ProgressClock(options, stopwatch);
                    while (reader.TryReadLine(out var line))
                    {
                        if (IsBlank(line))
                        {
                            continue;
                        }

                        records++;
                        if (Convert(converter, source, line, scratch) is { } reason)
                        {
                            errors.Add(new IngestError(kind, source.Name, reader.LineNumber, reason, source.LineUnit));
                        }
                        else if (sample.Count < sampling)
                        {
                            sample.Add(ParsedRecord.Decode(kind, reader.LineNumber, scratch.Written.Span));
                        }

                        scratch.Clear();
                        if (progress.Due(reader.LineNumber))
                        {
                            cancellationToken.ThrowIfCancellationRequested();
                            progress.Report(new IngestProgress(kind, source.Name, IngestPhase.Validating, reader.LineNumber, 0, stopwatch.Elapsed));
                        }
                    }

                    lines = reader.LineNumber;
                }

                return (result, lines, records, (IReadOnlyList<ParsedRecord>)sample);
            },
            cancellationToken,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

    private async Task<IngestSourceResult> WriteAsync(
        IngestKind kind, IngestSource source, DateTimeOffset now, ErrorLog errors, Stopwatch stopwatch, CancellationToken cancellationToken)
    {
        var table = kind == IngestKind.Events ? schema.Events : schema.ProfileUpdates;
        var columns = kind == IngestKind.Events ? RecordConverter.EventColumns : RecordConverter.ProfileColumns;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Open batches (bounded by PartitionedBatches), one closed batch queued, one per insert in flight: memory stays
        // bounded whatever the input size.
        var full = Channel.CreateBounded<(RowBuffer Rows, string Token)>(1);
        using var batchesByPartition = new PartitionedBatches(
            Encoding.UTF8.GetBytes($"segmentmcp-ingest-v1\n{kind}\n{options.Company}\n{options.DeduplicationScope}\n"),
            options.BatchRows,
            options.BatchBytes,
            keptFreeBuffers: options.ParallelInserts + 2,
            (rows, token) => Wait(full.Writer.WriteAsync((rows, token), stop.Token)));
        long rowsWritten = 0;
        var batches = 0;
        var invalidBefore = errors.CountFor(kind);
        long lines = 0;

        var producer = Task.Factory.StartNew(
            () =>
            {
                try
                {
                    lines = Produce(kind, source, now, errors, stopwatch, batchesByPartition, () => Interlocked.Read(ref rowsWritten), stop.Token);
                    full.Writer.Complete();
                }
                catch (Exception exception)
                {
                    full.Writer.Complete(exception);
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

        async Task InsertAsync(RowBuffer rows, string token)
        {
            await engine.InsertAsync(table, columns, RecordConverter.Format, rows.Written, token, stop.Token).ConfigureAwait(false);
            Interlocked.Add(ref rowsWritten, rows.Rows);
            Interlocked.Increment(ref batches);
            batchesByPartition.Return(rows);
        }

        var inFlight = new List<Task>();
        try
        {
            await foreach (var (rows, token) in full.Reader.ReadAllAsync(stop.Token).ConfigureAwait(false))
            {
                if (inFlight.Count >= options.ParallelInserts)
                {
                    var done = await Task.WhenAny(inFlight).ConfigureAwait(false);
                    inFlight.Remove(done);
                    await done.ConfigureAwait(false);
                }

                inFlight.Add(InsertAsync(rows, token));
            }

            await Task.WhenAll(inFlight).ConfigureAwait(false);
        }
        catch
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(inFlight.Select(t => t.ContinueWith(static _ => { }, TaskScheduler.Default))).ConfigureAwait(false);
            throw;
        }
        finally
        {
            await producer.ConfigureAwait(false);
        }

        return new IngestSourceResult(kind, source.Name, lines, rowsWritten, errors.CountFor(kind) - invalidBefore, batches) { LineUnit = source.LineUnit };
    }

    /// <summary>The parsing thread: fills batches and hands them to the inserting loop. Returns the number of lines read.</summary>
    private long Produce(
        IngestKind kind,
        IngestSource source,
        DateTimeOffset now,
        ErrorLog errors,
        Stopwatch stopwatch,
        PartitionedBatches batches,
        Func<long> rowsWritten,
        CancellationToken cancellationToken)
    {
        using var stream = source.Open();
        var reader = new LineReader(stream);
        var converter = new RecordConverter(kind, options.Company, now, source.Map, options.FlattenProperties);
        var progress = new ProgressClock(options, stopwatch);
        var row = new RowBuffer(64 * 1024);
        while (reader.TryReadLine(out var line))
        {
            if (IsBlank(line))
            {
                continue;
            }

            row.Clear();
            if (Convert(converter, source, line, row) is { } reason)
            {
                var error = new IngestError(kind, source.Name, reader.LineNumber, reason, source.LineUnit);
                if (!options.SkipInvalid)
                {
                    // Validated a moment ago: the input changed under us. Stop rather than write half of it.
                    throw new InvalidDataException($"{source.Name} changed while it was being ingested: {error}");
                }

                errors.Add(error);
                continue;
            }

            // Events go to their month's batch (the table's partition); profile records have no partitions.
            var partition = kind == IngestKind.Events ? PartitionedBatches.MonthOf(converter.RowMilliseconds) : 0;
            batches.Add(partition, row.Written.Span, line);
            if (progress.Due(reader.LineNumber))
            {
                cancellationToken.ThrowIfCancellationRequested();
                progress.Report(new IngestProgress(kind, source.Name, IngestPhase.Writing, reader.LineNumber, rowsWritten(), stopwatch.Elapsed));
            }
        }

        batches.CloseAll();
        return reader.LineNumber;
    }

    // The parsing thread is a dedicated one: blocking it while the inserter catches up is the point.
    private static T Wait<T>(ValueTask<T> task) => task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();

    private static void Wait(ValueTask task)
    {
        if (!task.IsCompletedSuccessfully)
        {
            task.AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Writes the line's row, or returns why it is bad (for translated CSV, the reason a bad record's line holds).</summary>
    private static string? Convert(RecordConverter converter, IngestSource source, ReadOnlySpan<byte> line, RowBuffer output) =>
        source.IsTranslated && line[0] == CsvTranslator.BadRecordMark ? Encoding.UTF8.GetString(line[1..]) : converter.Convert(line, output);

    private static bool IsBlank(ReadOnlySpan<byte> line) => !line.ContainsAnyExcept((byte)' ', (byte)'\t');

    /// <summary>Every bad line goes to the callback; the first few are kept for the result.</summary>
    private sealed class ErrorLog(IngestOptions options)
    {
        private readonly List<IngestError> kept = [];
        private readonly Dictionary<IngestKind, long> perKind = [];

        public long Count { get; private set; }

        public IReadOnlyList<IngestError> Kept => kept;

        public long CountFor(IngestKind kind) => perKind.GetValueOrDefault(kind);

        public void Add(IngestError error)
        {
            Count++;
            perKind[error.Kind] = perKind.GetValueOrDefault(error.Kind) + 1;
            if (kept.Count < options.MaxKeptErrors)
            {
                kept.Add(error);
            }

            options.OnError?.Invoke(error);
        }
    }

    /// <summary>Checks the clock every few thousand lines and reports at most once per interval.</summary>
    private sealed class ProgressClock(IngestOptions options, Stopwatch stopwatch)
    {
        private TimeSpan next = options.ProgressInterval;

        public bool Due(long line) => (line & 0x3FFF) == 0 && DueNow();

        public bool DueNow() => stopwatch.Elapsed >= next;

        public void Report(IngestProgress progress)
        {
            next = stopwatch.Elapsed + options.ProgressInterval;
            options.OnProgress?.Invoke(progress);
        }
    }
}
