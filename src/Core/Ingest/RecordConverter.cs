using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace SegmentMcp.Core.Ingest;

/// <summary>
/// Validates one NDJSON record and appends it to a batch as a RowBinary row (columns in the order of
/// <see cref="EventColumns"/> or <see cref="ProfileColumns"/>) of the <c>events</c> or <c>profile_updates</c> table.
/// ClickHouse reads RowBinary far cheaper than any JSON format (it was most of the CPU time of an ingest). Fields may
/// come in any order, so the line's ids are remembered as offsets into the line (or, when they hold escapes, into a
/// scratch buffer of unescaped text) and the properties are written to a scratch buffer; the row is assembled once
/// the line is known good. A valid line costs one pass of <see cref="Utf8JsonReader"/> and no allocation.
/// </summary>
/// <remarks>
/// Property values become tagged text: <c>s</c> + string, <c>n</c> + the number's JSON text, <c>b</c> + true/false.
/// A nested object or array is kept as <c>s</c> + its JSON text (segments compare it as a string). A null property
/// is dropped from an event and stored as the empty string (removed) in a profile update. Unknown top-level fields
/// are ignored, so producers may send more (an <c>event_id</c>, say) without breaking ingest.
/// </remarks>
internal sealed class RecordConverter
{
    public const int MaxIdLength = 256;

    /// <summary>The column order of an event row.</summary>
    public static readonly IReadOnlyList<string> EventColumns = ["tenant", "profile_id", "metric", "ts", "value", "properties"];

    /// <summary>The column order of a profile update row.</summary>
    public static readonly IReadOnlyList<string> ProfileColumns = ["tenant", "profile_id", "updated_at", "properties"];

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    private readonly IngestKind kind;
    private readonly byte[]? company;
    private readonly string? companyText;
    private readonly long nowMilliseconds;
    private readonly RowBuffer properties = new(4096);
    private readonly RowBuffer unescaped = new(1024);
    private Field companyField;
    private Field profileField;
    private Field metricField;
    private double value;
    private bool hasValue;
    private long ticks;
    private bool hasTicks;
    private int propertyCount;
    private Fields seen;
    private readonly bool flatten;

    // The keys a map gives the fields; null for records using the field names, which the hot path matches as literals.
    private readonly MappedKeys? mapped;
    private readonly byte[]? metricConstant;

    public RecordConverter(IngestKind kind, string? company, DateTimeOffset now, FieldMap? map = null, bool flatten = false)
    {
        this.kind = kind;
        this.flatten = flatten;
        companyText = company;
        if (company is not null)
        {
            this.company = Encoding.UTF8.GetBytes(company);
        }

        nowMilliseconds = Milliseconds(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMillisecond));
        mapped = MappedKeys.Of(kind, map);
        if (kind == IngestKind.Events && map?.Metric is { } metric)
        {
            metricConstant = Encoding.UTF8.GetBytes(metric);
        }
    }

    /// <summary>The insert format of the rows <see cref="Convert"/> writes.</summary>
    public static string Format => Storage.InsertFormats.RowBinary;

    [Flags]
    private enum Fields
    {
        None = 0,
        Company = 1,
        Profile = 2,
        Metric = 4,
        Timestamp = 8,
        Value = 16,
        Properties = 32,
    }

    /// <summary>
    /// Appends the row for <paramref name="line"/> to <paramref name="output"/>; on a bad line appends nothing and returns
    /// the reason.
    /// </summary>
    // Hot path: compiled optimized at once rather than after tiering (a CLI run is over before tier-1 catches up).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public string? Convert(ReadOnlySpan<byte> line, RowBuffer output) => TryConvert(line, output);

    /// <summary>The time (milliseconds since the epoch, UTC) of the row the last successful <see cref="Convert"/> wrote.</summary>
    public long RowMilliseconds { get; private set; }

    public IReadOnlyList<string> Columns => kind == IngestKind.Events ? EventColumns : ProfileColumns;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private string? TryConvert(ReadOnlySpan<byte> line, RowBuffer output)
    {
        var reader = new Utf8JsonReader(line, ReaderOptions);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                // "[" alone, or "[{…}," : a JSON array of records read as NDJSON (standard input is not sniffed).
                return reader.TokenType == JsonTokenType.StartArray
                    ? "expected a JSON object, not an array: a file holding one JSON array of records is read with --format json"
                    : "expected a JSON object";
            }

            properties.Clear();
            unescaped.Clear();
            hasTicks = false;
            hasValue = false;
            propertyCount = 0;
            seen = Fields.None;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var (field, rank, parent) = mapped is null ? (Identify(ref reader), 0, -1) : mapped.Identify(ref reader);
                reader.Read();
                var reason = field != Fields.None ? ReadField(ref reader, field, rank, parent)
                    : parent >= 0 && reader.TokenType == JsonTokenType.StartObject ? ReadNested(ref reader, parent)
                    : Skip(ref reader);
                if (reason is not null)
                {
                    return reason;
                }
            }

            // A second value on the line (or trailing garbage) makes the reader throw here.
            if (reader.Read())
            {
                return "expected one JSON object per line";
            }

            return Finish(line, output);
        }
        catch (JsonException exception)
        {
            // UTF-16 (what some Windows tools write by default) fails on its first byte; say so instead of a column.
            return line.Contains((byte)0) || line.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || line.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF])
                ? "not UTF-8 text (NUL bytes or a UTF-16 byte-order mark: a UTF-16 file?); save it as UTF-8, e.g. iconv -f UTF-16 -t UTF-8"
                : $"not valid JSON at column {exception.BytePositionInLine + 1}";
        }
    }

    /// <summary>
    /// Reads the value of a key holding <paramref name="field"/> (its key of <paramref name="rank"/> in a map); for the
    /// properties, <paramref name="parent"/> says which fields a map reads from inside them (-1: none).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private string? ReadField(ref Utf8JsonReader reader, Fields field, int rank, int parent)
    {
        if (mapped is not null && mapped.HasAlternatives(field))
        {
            // Several keys may hold the field: the first given that the record holds other than null wins.
            if (reader.TokenType == JsonTokenType.Null || ((seen & field) != 0 && rank > mapped.Rank(field)))
            {
                return Skip(ref reader);
            }

            if ((seen & field) != 0 && rank < mapped.Rank(field))
            {
                seen &= ~field;
                Forget(field);
            }
        }

        if ((seen & field) != 0)
        {
            return $"duplicate field '{Name(field)}'";
        }

        mapped?.Read(field, rank);
        seen |= field;
        return field switch
        {
            Fields.Company => ReadCompany(ref reader),
            Fields.Profile => ReadId(ref reader, Name(Fields.Profile), ref profileField),
            Fields.Metric => ReadId(ref reader, Name(Fields.Metric), ref metricField),
            Fields.Timestamp => ReadTimestamp(ref reader),
            Fields.Value => ReadValue(ref reader),
            _ => ReadProperties(ref reader, parent),
        };
    }

    /// <summary>An object that is no field of the record but holds fields a map reads from inside it ("properties.time").</summary>
    private string? ReadNested(ref Utf8JsonReader reader, int parent)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var (field, rank) = mapped!.Child(parent, ref reader);
            reader.Read();
            var reason = field == Fields.None ? Skip(ref reader) : ReadField(ref reader, field, rank, -1);
            if (reason is not null)
            {
                return reason;
            }
        }

        return null;
    }

    private static string? Skip(ref Utf8JsonReader reader)
    {
        reader.Skip();
        return null;
    }

    private string? Finish(ReadOnlySpan<byte> line, RowBuffer output)
    {
        var required = kind == IngestKind.Events
            ? Fields.Profile | (metricConstant is null ? Fields.Metric : Fields.None) | Fields.Timestamp
            : Fields.Profile | Fields.Properties;
        if ((seen & required) != required)
        {
            return Missing(line, required & ~seen);
        }

        if ((seen & Fields.Company) == 0 && company is null)
        {
            return "missing field 'company_id' (or pass --company)";
        }

        // The line is good: write tenant, profile_id, (metric,) ts, (value,) properties in RowBinary.
        if ((seen & Fields.Company) != 0)
        {
            WriteString(output, Text(line, companyField));
        }
        else
        {
            WriteString(output, company);
        }

        WriteString(output, Text(line, profileField));
        if (kind == IngestKind.Events)
        {
            WriteString(output, (seen & Fields.Metric) != 0 ? Text(line, metricField) : metricConstant);
        }

        // DateTime64(3): milliseconds since the epoch; a profile update without updated_at takes effect now.
        RowMilliseconds = hasTicks ? Milliseconds(ticks) : nowMilliseconds;
        BinaryPrimitives.WriteInt64LittleEndian(output.GetSpan(8), RowMilliseconds);
        output.Advance(8);
        if (kind == IngestKind.Events)
        {
            // Nullable(Float64): a null flag, then the value.
            var span = output.GetSpan(9);
            span[0] = hasValue ? (byte)0 : (byte)1;
            if (hasValue)
            {
                BinaryPrimitives.WriteDoubleLittleEndian(span[1..], value);
            }

            output.Advance(hasValue ? 9 : 1);
        }

        // Map(String, String): the number of pairs, then the pairs.
        WriteVarint(output, (ulong)propertyCount);
        output.Write(properties.Written.Span);
        return null;
    }

    private static long Milliseconds(long utcTicks) => (utcTicks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMillisecond;

    private ReadOnlySpan<byte> Text(ReadOnlySpan<byte> line, Field field) =>
        field.Unescaped ? unescaped.Written.Span.Slice(field.Start, field.Length) : line.Slice(field.Start, field.Length);

    /// <summary>
    /// Where the current string token's text lies: in the line (between its quotes) when it has no escapes, else in
    /// <see cref="unescaped"/>.
    /// </summary>
    private Field StringField(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            return new Field((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length, Unescaped: false);
        }

        var start = unescaped.Length;
        var length = reader.CopyString(unescaped.GetSpan(reader.ValueSpan.Length)); // Unescaping never lengthens.
        unescaped.Advance(length);
        return new Field(start, length, Unescaped: true);
    }

    /// <summary>A RowBinary String: LEB128 length, then the bytes.</summary>
    private static void WriteString(RowBuffer output, ReadOnlySpan<byte> text)
    {
        WriteVarint(output, (ulong)text.Length);
        output.Write(text);
    }

    /// <summary>A RowBinary String made of a one-byte type tag and the text.</summary>
    private static void WriteTagged(RowBuffer output, byte tag, ReadOnlySpan<byte> text)
    {
        WriteVarint(output, (ulong)text.Length + 1);
        output.Write(tag);
        output.Write(text);
    }

    private static void WriteVarint(RowBuffer output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Write((byte)(value | 0x80));
            value >>= 7;
        }

        output.Write((byte)value);
    }

    private readonly record struct Field(int Start, int Length, bool Unescaped);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Fields Identify(ref Utf8JsonReader reader)
    {
        if (reader.ValueTextEquals("profile_id"u8))
        {
            return Fields.Profile;
        }

        if (reader.ValueTextEquals("company_id"u8))
        {
            return Fields.Company;
        }

        if (reader.ValueTextEquals("properties"u8))
        {
            return Fields.Properties;
        }

        if (kind == IngestKind.Events)
        {
            return reader.ValueTextEquals("metric"u8) ? Fields.Metric
                : reader.ValueTextEquals("timestamp"u8) ? Fields.Timestamp
                : reader.ValueTextEquals("value"u8) ? Fields.Value
                : Fields.None;
        }

        return reader.ValueTextEquals("updated_at"u8) ? Fields.Timestamp : Fields.None;
    }

    /// <summary>
    /// Why a record lacks a field: the key a map reads it from, or for a field named as the format names it, the key
    /// of the record that looks like it (an export's "userId" or "event"), with the --map that reads it.
    /// </summary>
    private string Missing(ReadOnlySpan<byte> line, Fields missing)
    {
        var reasons = new List<string>();
        foreach (var field in (Fields[])[Fields.Profile, Fields.Metric, Fields.Timestamp, Fields.Properties])
        {
            if ((missing & field) == 0)
            {
                continue;
            }

            var standard = StandardName(field);
            if (mapped?.Keys(field) is { } keys)
            {
                reasons.Add($"missing field {string.Join(" or ", keys.Select(k => $"'{k}'"))} (read as {standard}, --map)");
            }
            else
            {
                var alias = FieldAliases.Find(line, standard, kind);
                reasons.Add($"missing field '{standard}'{(alias is null ? string.Empty : FieldAliases.Hint(standard, alias))}");
            }
        }

        return string.Join("; ", reasons);
    }

    /// <summary>Clears what an earlier key of a field read, before a key given ahead of it in the map is read instead.</summary>
    private void Forget(Fields field)
    {
        switch (field)
        {
            case Fields.Timestamp:
                hasTicks = false;
                break;
            case Fields.Value:
                hasValue = false;
                break;
            case Fields.Properties:
                properties.Clear();
                propertyCount = 0;
                break;
        }
    }

    /// <summary>The key the record's field is read from: its name, or the key a map gives it.</summary>
    private string Name(Fields field) => mapped?.Name(field) ?? StandardName(field);

    private string StandardName(Fields field) => StandardName(kind, field);

    private static string StandardName(IngestKind kind, Fields field) => field switch
    {
        Fields.Company => "company_id",
        Fields.Profile => "profile_id",
        Fields.Metric => "metric",
        Fields.Timestamp => kind == IngestKind.Events ? "timestamp" : "updated_at",
        Fields.Value => "value",
        _ => "properties",
    };

    /// <summary>
    /// The keys a <see cref="FieldMap"/> gives the fields of one kind of record (a field it does not name keeps its
    /// own name), and which of them the record at hand holds each field in.
    /// </summary>
    private sealed class MappedKeys
    {
        private static readonly Fields[] All = [Fields.Company, Fields.Profile, Fields.Metric, Fields.Timestamp, Fields.Value, Fields.Properties];

        // Per field (indexed by its bit): the keys tried in order, as text and bytes; the keys the map gave (the rest
        // is the field's own name); whether it gave any; and the key the record at hand holds it in.
        private readonly string[][] names = new string[All.Length][];
        private readonly byte[][][] keys = new byte[All.Length][][];
        private readonly string[][] mapped = new string[All.Length][];
        private readonly bool[] given = new bool[All.Length];
        private readonly int[] ranks = new int[All.Length];

        // Keys "parent.child": the top-level keys holding an object (an analytics export's "properties") and, per
        // parent, the members read as fields (its "distinct_id", "time").
        private readonly byte[][] parents;
        private readonly (byte[] Child, Fields Field, int Rank)[][] children;

        private MappedKeys(IngestKind kind, FieldMap map)
        {
            for (var i = 0; i < All.Length; i++)
            {
                var field = All[i];
                var standard = StandardName(kind, field);
                var applies = kind == IngestKind.Events || field is not (Fields.Metric or Fields.Value);
                string[] mappedTo = [.. map.Fields.Where(f => f.Field == standard).Select(f => f.Column).Distinct(StringComparer.Ordinal)];
                given[i] = applies && mappedTo.Length > 0;

                // The field's own name stays its last key: of two files, the one that uses it needs no map.
                names[i] = !applies ? [] : mappedTo.Contains(standard, StringComparer.Ordinal) ? mappedTo : [.. mappedTo, standard];
                mapped[i] = !applies ? [] : mappedTo;
                keys[i] = [.. names[i].Select(Encoding.UTF8.GetBytes)];
            }

            var nested = Enumerable.Range(0, All.Length)
                .SelectMany(i => names[i].Select((name, rank) => (Name: name, Field: All[i], Rank: rank)))
                .Where(k => k.Name.IndexOf('.', StringComparison.Ordinal) is > 0 and var dot && dot < k.Name.Length - 1)
                .GroupBy(k => k.Name[..k.Name.IndexOf('.', StringComparison.Ordinal)], StringComparer.Ordinal)
                .ToList();
            parents = [.. nested.Select(g => Encoding.UTF8.GetBytes(g.Key))];
            children = [.. nested.Select(g => g.Select(k => (Encoding.UTF8.GetBytes(k.Name[(k.Name.IndexOf('.', StringComparison.Ordinal) + 1)..]), k.Field, k.Rank)).ToArray())];
        }

        /// <summary>The keys of <paramref name="map"/> for records of <paramref name="kind"/>; null when it names none of their fields.</summary>
        public static MappedKeys? Of(IngestKind kind, FieldMap? map)
        {
            if (map is null || map.Fields.Count == 0)
            {
                return null;
            }

            var keys = new MappedKeys(kind, map);
            return keys.given.Any(g => g) ? keys : null;
        }

        /// <summary>
        /// The field the current top-level key holds and the key's place among the field's keys, and the parent it is
        /// of fields read from inside its object (-1: none).
        /// </summary>
        public (Fields Field, int Rank, int Parent) Identify(ref Utf8JsonReader reader)
        {
            var parent = -1;
            for (var i = 0; i < parents.Length; i++)
            {
                if (reader.ValueTextEquals(parents[i]))
                {
                    parent = i;
                    break;
                }
            }

            for (var i = 0; i < keys.Length; i++)
            {
                for (var rank = 0; rank < keys[i].Length; rank++)
                {
                    if (reader.ValueTextEquals(keys[i][rank]))
                    {
                        return (All[i], rank, parent);
                    }
                }
            }

            return (Fields.None, 0, parent);
        }

        /// <summary>The field the current key inside the object of <paramref name="parent"/> holds, and its key's rank.</summary>
        public (Fields Field, int Rank) Child(int parent, ref Utf8JsonReader reader)
        {
            foreach (var (child, field, rank) in children[parent])
            {
                if (reader.ValueTextEquals(child))
                {
                    return (field, rank);
                }
            }

            return (Fields.None, 0);
        }

        public bool HasAlternatives(Fields field) => keys[Index(field)].Length > 1;

        public int Rank(Fields field) => ranks[Index(field)];

        /// <summary>Notes that the record's <paramref name="field"/> is read from its key of <paramref name="rank"/>.</summary>
        public void Read(Fields field, int rank) => ranks[Index(field)] = rank;

        /// <summary>The key the field was read from.</summary>
        public string Name(Fields field) => names[Index(field)][ranks[Index(field)]];

        /// <summary>The keys the map gives the field, or null when it keeps its name.</summary>
        public IReadOnlyList<string>? Keys(Fields field) => given[Index(field)] ? mapped[Index(field)] : null;

        private static int Index(Fields field) => System.Numerics.BitOperations.Log2((uint)field);
    }

    private string? ReadCompany(ref Utf8JsonReader reader)
    {
        var reason = CheckId(ref reader, Name(Fields.Company), Storage.TenantId.MaxLength);
        if (reason is not null)
        {
            return reason;
        }

        if (company is not null && !reader.ValueTextEquals(companyText))
        {
            return $"{Name(Fields.Company)} '{Truncated(reader.GetString())}' differs from --company '{companyText}'";
        }

        companyField = StringField(ref reader);
        return null;
    }

    private string? ReadId(ref Utf8JsonReader reader, string name, ref Field field)
    {
        var reason = CheckId(ref reader, name, MaxIdLength);
        if (reason is null)
        {
            field = StringField(ref reader);
        }

        return reason;
    }

    /// <summary>
    /// An id is a non-empty string of at most <paramref name="maxLength"/> characters (Unicode scalar values); for
    /// <c>company_id</c> that is <see cref="Storage.TenantId"/>'s rule, checked here on the line's bytes without allocating.
    /// </summary>
    private static string? CheckId(ref Utf8JsonReader reader, string name, int maxLength)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            return WrongType(name, "a string", reader.TokenType);
        }

        var raw = reader.ValueSpan;
        if (raw.Length == 0)
        {
            return $"field '{name}' is empty";
        }

        // Fast path: characters never outnumber the bytes of their escaped UTF-8.
        if (raw.Length <= maxLength)
        {
            return null;
        }

        var length = reader.ValueIsEscaped ? reader.GetString()!.EnumerateRunes().Count() : CountScalars(raw);
        return length > maxLength ? $"field '{name}' is longer than {maxLength} characters ({length})" : null;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private string? ReadTimestamp(ref Utf8JsonReader reader)
    {
        var name = Name(Fields.Timestamp);
        if (reader.TokenType == JsonTokenType.Null && kind == IngestKind.Profiles)
        {
            return null; // An explicit null means "now", like a missing one.
        }

        if (reader.TokenType == JsonTokenType.Number)
        {
            // Seconds, milliseconds… since 1970, read exactly: a double would turn .123 s into 122 ms.
            string? unit = "nanoseconds";
            if (!reader.TryGetDecimal(out var number) || !Iso8601.TryFromEpoch(number, out ticks, out unit))
            {
                var written = Truncated(Encoding.UTF8.GetString(reader.ValueSpan));
                return unit is null
                    ? $"field '{name}' is the number {written}, which is no time: a number is read as seconds since 1970 from 1e9 on, milliseconds from 1e12, microseconds from 1e15, nanoseconds from 1e18 (each from 2001-09-09); write other times, or a date like 20261120, in ISO-8601 (2026-11-20)"
                    : $"field '{name}' is the number {written}, which read as {unit} since 1970 is after 2299";
            }

            hasTicks = true;
            return null;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            return WrongType(name, "an ISO-8601 string or a number of seconds (or milliseconds) since 1970", reader.TokenType);
        }

        Span<byte> scratch = stackalloc byte[64];
        scoped ReadOnlySpan<byte> text = reader.ValueSpan;
        if (reader.ValueIsEscaped)
        {
            text = text.Length <= scratch.Length ? scratch[..reader.CopyString(scratch)] : Encoding.UTF8.GetBytes(reader.GetString()!);
        }

        if (!Iso8601.TryParse(text, out ticks))
        {
            return $"field '{name}' is not an ISO-8601 timestamp between 1900 and 2299: \"{Truncated(reader.GetString())}\"";
        }

        hasTicks = true;
        return null;
    }

    private string? ReadValue(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null; // Stored as NULL.
        }

        if (reader.TokenType != JsonTokenType.Number)
        {
            return WrongType(Name(Fields.Value), "a number or null", reader.TokenType);
        }

        if (!reader.TryGetDouble(out var number) || !double.IsFinite(number))
        {
            return $"field '{Name(Fields.Value)}' is out of the range of a 64-bit float";
        }

        value = number;
        hasValue = true;
        return null;
    }

    /// <summary>The properties object; with <paramref name="parent"/> ≥ 0, a member a map makes a field is read as that field instead.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private string? ReadProperties(ref Utf8JsonReader reader, int parent)
    {
        var output = properties;
        if (reader.TokenType == JsonTokenType.Null && kind == IngestKind.Events)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return WrongType(Name(Fields.Properties), "an object", reader.TokenType);
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (parent >= 0 && mapped!.Child(parent, ref reader) is (not Fields.None and var field, var rank))
            {
                reader.Read();
                if (ReadField(ref reader, field, rank, -1) is { } reason)
                {
                    return reason;
                }

                continue;
            }

            var keyStart = output.Length;
            var key = flatten ? reader.GetString()! : null; // Only a flattened object's members need it again.
            WriteJsonString(ref reader, output, tag: null);
            reader.Read();
            if (key is not null && reader.TokenType == JsonTokenType.StartObject)
            {
                output.Truncate(keyStart);
                Flatten(ref reader, key, output);
                continue;
            }

            if (!WriteValue(ref reader, output))
            {
                output.Truncate(keyStart); // An event property set to null is simply absent.
                continue;
            }

            propertyCount++;
        }

        return null;
    }

    /// <summary>
    /// Writes the current value as a tagged property value; false (nothing written) for an event property set to null.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private bool WriteValue(ref Utf8JsonReader reader, RowBuffer output)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                WriteJsonString(ref reader, output, (byte)'s');
                break;
            case JsonTokenType.Number:
                WriteTagged(output, (byte)'n', reader.ValueSpan);
                break;
            case JsonTokenType.True:
                WriteTagged(output, (byte)'b', "true"u8);
                break;
            case JsonTokenType.False:
                WriteTagged(output, (byte)'b', "false"u8);
                break;
            case JsonTokenType.Null when kind == IngestKind.Events:
                return false;
            case JsonTokenType.Null:
                output.Write((byte)0); // Profile update: the empty value means "removed".
                break;
            default:
                WriteNestedAsString(ref reader, output);
                break;
        }

        return true;
    }

    /// <summary>
    /// With <see cref="IngestOptions.FlattenProperties"/>: the members of the object property <paramref name="prefix"/>
    /// as properties "prefix.member", objects within at any depth likewise; arrays stay JSON text.
    /// </summary>
    private void Flatten(ref Utf8JsonReader reader, string prefix, RowBuffer output)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = $"{prefix}.{reader.GetString()}";
            reader.Read();
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                Flatten(ref reader, key, output);
                continue;
            }

            var keyStart = output.Length;
            WriteString(output, Encoding.UTF8.GetBytes(key));
            if (!WriteValue(ref reader, output))
            {
                output.Truncate(keyStart);
                continue;
            }

            propertyCount++;
        }
    }

    /// <summary>Writes the current string token unescaped as a RowBinary String, optionally after a tag byte.</summary>
    private static void WriteJsonString(ref Utf8JsonReader reader, RowBuffer output, byte? tag)
    {
        var extra = tag is null ? 0 : 1;
        if (!reader.ValueIsEscaped)
        {
            WriteVarint(output, (ulong)(reader.ValueSpan.Length + extra));
        }
        else
        {
            // Unescaping never lengthens: copy first, then move the text behind its (possibly shorter) length.
            Span<byte> scratch = stackalloc byte[256];
            var length = reader.ValueSpan.Length <= scratch.Length ? reader.CopyString(scratch) : -1;
            if (length >= 0)
            {
                WriteVarint(output, (ulong)(length + extra));
                if (tag is { } escapedTag)
                {
                    output.Write(escapedTag);
                }

                output.Write(scratch[..length]);
                return;
            }

            var text = Encoding.UTF8.GetBytes(reader.GetString()!);
            WriteVarint(output, (ulong)(text.Length + extra));
            if (tag is { } longTag)
            {
                output.Write(longTag);
            }

            output.Write(text);
            return;
        }

        if (tag is { } plainTag)
        {
            output.Write(plainTag);
        }

        output.Write(reader.ValueSpan);
    }

    /// <summary>Writes a nested object or array as <c>s</c> + its JSON text (segments compare it as a string).</summary>
    private static void WriteNestedAsString(ref Utf8JsonReader reader, RowBuffer output)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        WriteTagged(output, (byte)'s', Encoding.UTF8.GetBytes(document.RootElement.GetRawText()));
    }

    private static int CountScalars(ReadOnlySpan<byte> utf8)
    {
        // Every scalar value has exactly one byte that is not a continuation byte (10xxxxxx).
        var count = 0;
        foreach (var b in utf8)
        {
            if ((b & 0xC0) != 0x80)
            {
                count++;
            }
        }

        return count;
    }

    private static string WrongType(string name, string expected, JsonTokenType actual) =>
        $"field '{name}' must be {expected}, not {actual switch
        {
            JsonTokenType.String => "a string",
            JsonTokenType.Number => "a number",
            JsonTokenType.True or JsonTokenType.False => "a boolean",
            JsonTokenType.Null => "null",
            JsonTokenType.StartObject => "an object",
            _ => "an array",
        }}";

    private static string Truncated(string? text) =>
        text is null ? string.Empty : text.Length <= 40 ? text : string.Concat(text.AsSpan(0, 40), "…");
}
