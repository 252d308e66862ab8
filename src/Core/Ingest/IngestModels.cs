namespace SegmentMcp.Core.Ingest;

/// <summary>What one NDJSON input holds.</summary>
public enum IngestKind
{
    Events,
    Profiles,
}

/// <summary>How an input's records are written.</summary>
public enum IngestFormat
{
    /// <summary>One JSON object a line (see README, "Ingest format").</summary>
    Ndjson,

    /// <summary>A header naming the columns, then one record a row (see <see cref="CsvTranslator"/>).</summary>
    Csv,

    /// <summary>One JSON array of records, <c>[{…}, {…}]</c>, in any layout (see <see cref="JsonArrayTranslator"/>).</summary>
    Json,
}

/// <summary>
/// One NDJSON or CSV input. A reopenable source (a file, a factory) is read twice when bad lines must reject the whole input:
/// once to validate, once to write. A one-shot source (stdin, a stream) is copied to a temporary file while it is
/// validated and written from that copy.
/// </summary>
public sealed class IngestSource
{
    private readonly Func<Stream> open;

    private IngestSource(
        string name, Func<Stream> open, bool reopenable, IngestFormat format = IngestFormat.Ndjson, bool translated = false, FieldMap? map = null, string lineUnit = "line")
    {
        Name = name;
        this.open = open;
        IsReopenable = reopenable;
        Format = format;
        IsTranslated = translated;
        Map = map;
        LineUnit = lineUnit;
    }

    /// <summary>What a line of this input is to its reader: "line", or "record" for a JSON array's translation.</summary>
    internal string LineUnit { get; }

    /// <summary>Which columns (CSV) or keys (JSON) hold the record's fields when they are not named so.</summary>
    public FieldMap? Map { get; }

    /// <summary>NDJSON that <see cref="CsvTranslator"/> or <see cref="JsonArrayTranslator"/> wrote, whose bad records are lines of their reasons.</summary>
    internal bool IsTranslated { get; }

    /// <summary>How the records are written; CSV is turned into NDJSON before it is validated.</summary>
    public IngestFormat Format { get; }

    /// <summary>What messages call this input (a path, "stdin", "demo events").</summary>
    public string Name { get; }

    /// <summary>Whether <see cref="Open"/> may be called more than once and yields the same bytes every time.</summary>
    public bool IsReopenable { get; }

    public static IngestSource File(string path) => File(path, path);

    /// <summary>A file that messages call <paramref name="name"/> (the temporary copy of stdin is still "stdin").</summary>
    internal static IngestSource File(string path, string name, bool translated = false, string lineUnit = "line", FieldMap? map = null) =>
        new(name, () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan), reopenable: true, translated: translated, map: map, lineUnit: lineUnit);

    /// <summary>A source read once (stdin, a network stream). The ingestor does not dispose the stream it is given.</summary>
    public static IngestSource OneShot(string name, Stream stream)
    {
        var opened = false;
        return new IngestSource(
            name,
            () =>
            {
                if (opened)
                {
                    throw new InvalidOperationException($"The input '{name}' can be read only once.");
                }

                opened = true;
                return new NonClosingStream(stream);
            },
            reopenable: false);
    }

    /// <summary>A source that <paramref name="open"/> can produce again, byte for byte (a generator with a fixed seed).</summary>
    public static IngestSource Reopenable(string name, Func<Stream> open) => new(name, open, reopenable: true);

    /// <summary>The same input, read as CSV (<paramref name="map"/>: fields held by other columns than their names).</summary>
    public IngestSource AsCsv(FieldMap? map = null) => new(Name, open, IsReopenable, IngestFormat.Csv, map: map);

    /// <summary>The same input (NDJSON or a JSON array), its records' fields held by the keys <paramref name="map"/> names.</summary>
    public IngestSource WithMap(FieldMap? map) => new(Name, open, IsReopenable, Format, map: map);

    /// <summary>
    /// Whether the file's first character past a byte-order mark and whitespace is '[': a JSON array of records, which
    /// NDJSON (one object a line) never starts with, so a file can be read as one without being told.
    /// </summary>
    public static bool StartsWithJsonArray(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        Span<byte> start = stackalloc byte[4096];
        var read = stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
        var text = start[..read];
        if (text.StartsWith("\uFEFF"u8))
        {
            text = text[3..];
        }

        var first = text.IndexOfAnyExcept(" \t\r\n"u8);
        return first >= 0 && text[first] == '[';
    }

    /// <summary>The same input, read as one JSON array of records.</summary>
    public IngestSource AsJsonArray(FieldMap? map = null) => new(Name, open, IsReopenable, IngestFormat.Json, map: map);

    internal Stream Open() => open();

    public override string ToString() => Name;

    /// <summary>Keeps a caller's stream (stdin) open when the ingestor disposes what it opened.</summary>
    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override int Read(Span<byte> buffer) => inner.Read(buffer);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>
/// For an export that does not use the field names: which CSV column or JSON key holds which field (<c>profile_id</c>
/// in "Customer ID" or "userId", <c>timestamp</c> in "Order Date"), and for events without a metric, the metric of
/// every one.
/// </summary>
/// <param name="Fields">(field, column or key) pairs, the field one of <see cref="FieldNames"/>. A field may be given
/// several (an orders file's "Customer Email", a contacts file's "Email"): a CSV uses the column its header has, a JSON
/// record the first of them, in the order given, that it holds with a value other than null. A field an input's kind
/// does not have (updated_at for events) is left out of that input. <c>properties</c> is a JSON record's alone: every
/// CSV column that is no field's is a property.</param>
/// <param name="Metric">The metric of every event that has none (a CSV without a metric column).</param>
public sealed record FieldMap(IReadOnlyList<(string Field, string Column)> Fields, string? Metric = null)
{
    /// <summary>The fields a column or key can be given to.</summary>
    public static readonly IReadOnlyList<string> FieldNames = ["profile_id", "company_id", "metric", "timestamp", "value", "updated_at", "properties"];

    /// <summary>The field only JSON records map: a CSV's properties are its other columns.</summary>
    public const string PropertiesField = "properties";
}

/// <summary>How an ingest run behaves.</summary>
public sealed record IngestOptions
{
    /// <summary>The tenant for records that leave out <c>company_id</c>; a record naming another company is an error.</summary>
    public string? Company { get; init; }

    /// <summary>Write the good lines and report the bad ones, instead of rejecting the whole run on the first bad line.</summary>
    public bool SkipInvalid { get; init; }

    /// <summary>
    /// Rows per insert at most. Each batch is one deduplicated INSERT: whole or absent after a crash. Events are batched
    /// by month (see <see cref="PartitionedBatches"/>).
    /// </summary>
    public int BatchRows { get; init; } = 100_000;

    /// <summary>A batch is also closed when its JSONEachRow text reaches this size, whatever its row count.</summary>
    public int BatchBytes { get; init; } = 48 * 1024 * 1024;

    /// <summary>
    /// Batches inserted at the same time. Two keep both cores of a small machine busy (the engine parses one batch's
    /// JSON on one thread); each batch is still whole or absent on its own.
    /// </summary>
    public int ParallelInserts { get; init; } = 2;

    /// <summary>
    /// A property holding an object becomes a property per member, named "parent.member" (a tracking library's
    /// <c>address.city</c>), objects within at any depth likewise; arrays stay JSON text. Off: the object is one
    /// property holding its JSON text.
    /// </summary>
    public bool FlattenProperties { get; init; }

    /// <summary>The <c>updated_at</c> of profile records that leave it out (default: when the run starts).</summary>
    public DateTimeOffset? Now { get; init; }

    /// <summary>Receives every bad line as it is found (the result keeps only the first <see cref="MaxKeptErrors"/>).</summary>
    public Action<IngestError>? OnError { get; init; }

    /// <summary>Receives progress about once per <see cref="ProgressInterval"/> on long inputs.</summary>
    public Action<IngestProgress>? OnProgress { get; init; }

    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(2);

    public int MaxKeptErrors { get; init; } = 1000;

    /// <summary>
    /// Reads and checks every line and writes nothing: each input's result counts its lines and the records that
    /// would be written (<see cref="IngestSourceResult.ValidRecords"/>), and every bad line is reported.
    /// </summary>
    public bool DryRun { get; init; }

    /// <summary>
    /// A dry run's first good records per input, as a load would store them (<see cref="IngestSourceResult.Sample"/>),
    /// so a mapping is checked by eye before anything is written.
    /// </summary>
    public int SampleRecords { get; init; } = 5;

    /// <summary>Inputs at least this large are validated by one worker per core (tests lower it).</summary>
    internal long ParallelValidationMinBytes { get; init; } = 64 * 1024 * 1024;

    /// <summary>
    /// Mixed into every batch's deduplication token. Runs with the same scope and the same input write each batch once;
    /// a new scope (after the caller deleted the data on purpose, say) writes it again.
    /// </summary>
    public string DeduplicationScope { get; init; } = string.Empty;
}

/// <summary>A bad input line. <see cref="ToString"/> is the contract form <c>line N: reason</c>.</summary>
/// <summary>A bad line (or, for a JSON array, record: <see cref="Unit"/>) of an input.</summary>
public sealed record IngestError(IngestKind Kind, string Source, long Line, string Reason, string Unit = "line")
{
    public override string ToString() => $"{Unit} {Line}: {Reason}";
}

public enum IngestPhase
{
    Validating,
    Writing,
}

public sealed record IngestProgress(IngestKind Kind, string Source, IngestPhase Phase, long Lines, long Rows, TimeSpan Elapsed);

/// <summary>What one input contributed.</summary>
public sealed record IngestSourceResult(IngestKind Kind, string Source, long Lines, long RowsWritten, long InvalidLines, int Batches)
{
    /// <summary>A dry run's records that passed every check: the rows a real run would write (without the bad lines).</summary>
    public long ValidRecords { get; init; }

    /// <summary>A dry run's first good records as a load would store them (up to <see cref="IngestOptions.SampleRecords"/>).</summary>
    public IReadOnlyList<ParsedRecord>? Sample { get; init; }

    /// <summary>
    /// For a CSV input: the columns loaded as properties, by the names they are stored under, in header order (event
    /// properties for events, profile properties for profiles). Null for NDJSON, whose records name their own.
    /// </summary>
    public IReadOnlyList<string>? CsvProperties { get; init; }

    /// <summary>What <see cref="Lines"/> counts: "line", or "record" for a JSON array.</summary>
    public string LineUnit { get; init; } = "line";
}

/// <summary>The outcome of a run.</summary>
public sealed record IngestResult(
    IReadOnlyList<IngestSourceResult> Sources,
    IReadOnlyList<IngestError> Errors,
    long InvalidLines,
    bool Rejected,
    TimeSpan Elapsed)
{
    public long EventsWritten => Sources.Where(s => s.Kind == IngestKind.Events).Sum(s => s.RowsWritten);

    public long ProfilesWritten => Sources.Where(s => s.Kind == IngestKind.Profiles).Sum(s => s.RowsWritten);

    public long RowsWritten => Sources.Sum(s => s.RowsWritten);

    public double RowsPerSecond => Elapsed > TimeSpan.Zero ? RowsWritten / Elapsed.TotalSeconds : 0;
}
