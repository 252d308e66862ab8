using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace SegmentMcp.Core.Ingest;

/// <summary>
/// Validates one NDJSON record and appends it to a batch as a JSONEachRow row of the <c>events</c> or
/// <c>profile_updates</c> table. Strings are copied in their JSON-escaped form (ClickHouse reads the same escapes),
/// so a valid line costs one pass of <see cref="Utf8JsonReader"/> and no allocation.
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

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    private readonly IngestKind kind;
    private readonly byte[]? company;
    private readonly string? companyText;
    private readonly byte[] now = new byte[Iso8601.FormattedLength];
    private int rowStart;

    public RecordConverter(IngestKind kind, string? company, DateTimeOffset now)
    {
        this.kind = kind;
        companyText = company;
        if (company is not null)
        {
            // Escaped once, so it can be copied like any other JSON string.
            var encoded = JsonEncodedText.Encode(company, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping);
            this.company = encoded.EncodedUtf8Bytes.ToArray();
        }

        Iso8601.Format(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMillisecond), this.now);
    }

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
    public string? Convert(ReadOnlySpan<byte> line, RowBuffer output)
    {
        var start = output.Length;
        var reason = TryConvert(line, output);
        if (reason is not null)
        {
            output.Truncate(start);
        }

        return reason;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private string? TryConvert(ReadOnlySpan<byte> line, RowBuffer output)
    {
        var reader = new Utf8JsonReader(line, ReaderOptions);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return "expected a JSON object";
            }

            rowStart = output.Length;
            output.Write((byte)'{');
            var seen = Fields.None;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = Identify(ref reader);
                reader.Read();
                if (field == Fields.None)
                {
                    reader.Skip();
                    continue;
                }

                if ((seen & field) != 0)
                {
                    return $"duplicate field '{Name(field)}'";
                }

                seen |= field;
                var reason = field switch
                {
                    Fields.Company => WriteCompany(ref reader, output),
                    Fields.Profile => WriteId(ref reader, output, "profile_id", "\"profile_id\":\""u8),
                    Fields.Metric => WriteId(ref reader, output, "metric", "\"metric\":\""u8),
                    Fields.Timestamp => WriteTimestamp(ref reader, output),
                    Fields.Value => WriteValue(ref reader, output),
                    _ => WriteProperties(ref reader, output),
                };
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

            return Finish(output, seen);
        }
        catch (JsonException exception)
        {
            return $"not valid JSON at column {exception.BytePositionInLine + 1}";
        }
    }

    private string? Finish(RowBuffer output, Fields seen)
    {
        if ((seen & Fields.Profile) == 0)
        {
            return "missing field 'profile_id'";
        }

        if (kind == IngestKind.Events)
        {
            if ((seen & Fields.Metric) == 0)
            {
                return "missing field 'metric'";
            }

            if ((seen & Fields.Timestamp) == 0)
            {
                return "missing field 'timestamp'";
            }
        }
        else if ((seen & Fields.Properties) == 0)
        {
            return "missing field 'properties'";
        }

        if ((seen & Fields.Company) == 0)
        {
            if (company is null)
            {
                return "missing field 'company_id' (or pass --company)";
            }

            WriteString(output, "\"tenant\":\""u8, company);
        }

        if (kind == IngestKind.Profiles && (seen & Fields.Timestamp) == 0)
        {
            WriteString(output, "\"updated_at\":\""u8, now);
        }

        output.Write("}\n"u8);
        return null;
    }

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

    private string Name(Fields field) => field switch
    {
        Fields.Company => "company_id",
        Fields.Profile => "profile_id",
        Fields.Metric => "metric",
        Fields.Timestamp => kind == IngestKind.Events ? "timestamp" : "updated_at",
        Fields.Value => "value",
        _ => "properties",
    };

    private string? WriteCompany(ref Utf8JsonReader reader, RowBuffer output)
    {
        var reason = CheckId(ref reader, "company_id");
        if (reason is not null)
        {
            return reason;
        }

        if (company is not null && !reader.ValueTextEquals(companyText))
        {
            return $"company_id '{Truncated(reader.GetString())}' differs from --company '{companyText}'";
        }

        WriteString(output, "\"tenant\":\""u8, reader.ValueSpan);
        return null;
    }

    private string? WriteId(ref Utf8JsonReader reader, RowBuffer output, string name, ReadOnlySpan<byte> prefix)
    {
        var reason = CheckId(ref reader, name);
        if (reason is null)
        {
            WriteString(output, prefix, reader.ValueSpan);
        }

        return reason;
    }

    /// <summary>An id is a non-empty string of at most 256 characters (Unicode scalar values).</summary>
    private static string? CheckId(ref Utf8JsonReader reader, string name)
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
        if (raw.Length <= MaxIdLength)
        {
            return null;
        }

        var length = reader.ValueIsEscaped ? reader.GetString()!.EnumerateRunes().Count() : CountScalars(raw);
        return length > MaxIdLength ? $"field '{name}' is longer than {MaxIdLength} characters ({length})" : null;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private string? WriteTimestamp(ref Utf8JsonReader reader, RowBuffer output)
    {
        var name = kind == IngestKind.Events ? "timestamp" : "updated_at";
        if (reader.TokenType == JsonTokenType.Null && kind == IngestKind.Profiles)
        {
            WriteString(output, "\"updated_at\":\""u8, now); // An explicit null means "now", like a missing one.
            return null;
        }

        if (reader.TokenType != JsonTokenType.String)
        {
            return WrongType(name, "an ISO-8601 string", reader.TokenType);
        }

        Span<byte> scratch = stackalloc byte[64];
        scoped ReadOnlySpan<byte> text = reader.ValueSpan;
        if (reader.ValueIsEscaped)
        {
            text = text.Length <= scratch.Length ? scratch[..reader.CopyString(scratch)] : Encoding.UTF8.GetBytes(reader.GetString()!);
        }

        if (!Iso8601.TryParse(text, out var ticks))
        {
            return $"field '{name}' is not an ISO-8601 timestamp between 1900 and 2299: \"{Truncated(reader.GetString())}\"";
        }

        WriteSeparator(output);
        output.Write(kind == IngestKind.Events ? "\"ts\":\""u8 : "\"updated_at\":\""u8);
        Iso8601.Format(ticks, output.GetSpan(Iso8601.FormattedLength));
        output.Advance(Iso8601.FormattedLength);
        output.Write((byte)'"');
        return null;
    }

    private string? WriteValue(ref Utf8JsonReader reader, RowBuffer output)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null; // The column is Nullable: leaving it out stores NULL.
        }

        if (reader.TokenType != JsonTokenType.Number)
        {
            return WrongType("value", "a number or null", reader.TokenType);
        }

        if (!reader.TryGetDouble(out var number) || !double.IsFinite(number))
        {
            return "field 'value' is out of the range of a 64-bit float";
        }

        WriteSeparator(output);
        output.Write("\"value\":"u8);
        output.Write(reader.ValueSpan);
        return null;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private string? WriteProperties(ref Utf8JsonReader reader, RowBuffer output)
    {
        if (reader.TokenType == JsonTokenType.Null && kind == IngestKind.Events)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return WrongType("properties", "an object", reader.TokenType);
        }

        WriteSeparator(output);
        output.Write("\"properties\":{"u8);
        var first = true;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var keyStart = output.Length;
            if (!first)
            {
                output.Write((byte)',');
            }

            output.Write((byte)'"');
            output.Write(reader.ValueSpan);
            output.Write("\":\""u8);
            reader.Read();
            switch (reader.TokenType)
            {
                case JsonTokenType.String:
                    output.Write((byte)'s');
                    output.Write(reader.ValueSpan);
                    break;
                case JsonTokenType.Number:
                    output.Write((byte)'n');
                    output.Write(reader.ValueSpan);
                    break;
                case JsonTokenType.True:
                    output.Write("btrue"u8);
                    break;
                case JsonTokenType.False:
                    output.Write("bfalse"u8);
                    break;
                case JsonTokenType.Null when kind == IngestKind.Events:
                    output.Truncate(keyStart); // An event property set to null is simply absent.
                    continue;
                case JsonTokenType.Null:
                    break; // Profile update: the empty value means "removed".
                default:
                    output.Write((byte)'s');
                    WriteNestedAsString(ref reader, output);
                    break;
            }

            output.Write((byte)'"');
            first = false;
        }

        output.Write((byte)'}');
        return null;
    }

    /// <summary>Writes a nested object or array's JSON text as the contents of a JSON string (escaping quotes).</summary>
    private static void WriteNestedAsString(ref Utf8JsonReader reader, RowBuffer output)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        var encoded = JsonEncodedText.Encode(document.RootElement.GetRawText(), System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping);
        output.Write(encoded.EncodedUtf8Bytes);
    }

    private void WriteString(RowBuffer output, ReadOnlySpan<byte> prefix, ReadOnlySpan<byte> escaped)
    {
        WriteSeparator(output);
        output.Write(prefix);
        output.Write(escaped);
        output.Write((byte)'"');
    }

    /// <summary>A comma unless this is the first column written (fields that are null write nothing).</summary>
    private void WriteSeparator(RowBuffer output)
    {
        if (output.Length > rowStart + 1)
        {
            output.Write((byte)',');
        }
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
