using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SegmentMcp.Core.Ingest;

/// <summary>
/// A record as a load would store it, read back from the row the converter wrote: what a dry run shows of an input's
/// first good records, so the effect of a mapping (which column became the time or the value, a property's type, a
/// spreadsheet's money cell as a number) is seen before anything is written.
/// </summary>
/// <param name="Line">The record's line in the input (its place, for a JSON array).</param>
/// <param name="Metric">The event's metric; null for a profile record.</param>
/// <param name="Time">The event's timestamp, or the profile record's updated_at (the run's start when it has none).</param>
/// <param name="Value">The event's number; null when it has none, and for a profile record.</param>
/// <param name="Properties">In the record's order.</param>
public sealed record ParsedRecord(long Line, string ProfileId, string? Metric, DateTimeOffset Time, double? Value, IReadOnlyList<ParsedProperty> Properties)
{
    /// <summary>
    /// The record as JSON in the ingest format's own field names (<c>timestamp</c> for an event, <c>updated_at</c> for a
    /// profile record), times in ISO-8601 UTC, each property's value typed as stored (a removal as null), and first
    /// where it came from: <c>line</c>, or <c>record</c> for a JSON array's.
    /// </summary>
    public JsonObject ToJson(string lineUnit = "line")
    {
        var json = new JsonObject { [lineUnit] = Line, ["profile_id"] = ProfileId };
        var time = Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        if (Metric is not null)
        {
            json["metric"] = Metric;
            json["timestamp"] = time;
            json["value"] = Value;
        }
        else
        {
            json["updated_at"] = time;
        }

        var properties = new JsonObject();
        foreach (var property in Properties)
        {
            properties[property.Name] = property.ToJson();
        }

        json["properties"] = properties;
        return json;
    }

    /// <summary>Reads one RowBinary row in <see cref="RecordConverter"/>'s column order.</summary>
    internal static ParsedRecord Decode(IngestKind kind, long line, ReadOnlySpan<byte> row)
    {
        var reader = new RowReader(row);
        _ = reader.String(); // The tenant: the run's company.
        var profileId = Encoding.UTF8.GetString(reader.String());
        var metric = kind == IngestKind.Events ? Encoding.UTF8.GetString(reader.String()) : null;
        var time = DateTimeOffset.FromUnixTimeMilliseconds(reader.Int64());
        double? value = null;
        if (kind == IngestKind.Events && reader.Byte() == 0)
        {
            value = reader.Double();
        }

        var count = (int)reader.Varint();
        var properties = new List<ParsedProperty>(count);
        for (var i = 0; i < count; i++)
        {
            var name = Encoding.UTF8.GetString(reader.String());
            properties.Add(ParsedProperty.FromTagged(name, reader.String()));
        }

        return new ParsedRecord(line, profileId, metric, time, value, properties);
    }

    private ref struct RowReader(ReadOnlySpan<byte> row)
    {
        private ReadOnlySpan<byte> rest = row;

        public byte Byte()
        {
            var value = rest[0];
            rest = rest[1..];
            return value;
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = Byte();
                value |= (ulong)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                {
                    return value;
                }
            }
        }

        public ReadOnlySpan<byte> String()
        {
            var length = (int)Varint();
            var text = rest[..length];
            rest = rest[length..];
            return text;
        }

        public long Int64()
        {
            var value = BinaryPrimitives.ReadInt64LittleEndian(rest);
            rest = rest[8..];
            return value;
        }

        public double Double()
        {
            var value = BinaryPrimitives.ReadDoubleLittleEndian(rest);
            rest = rest[8..];
            return value;
        }
    }
}

/// <summary>How a property value is stored: the type conditions read it as.</summary>
public enum ParsedValueType
{
    Text,
    Number,
    Boolean,

    /// <summary>A profile record's null: the update removes the property.</summary>
    Removed,
}

/// <param name="Text">The value as stored (a number's digits as the input wrote them); null when removed.</param>
public sealed record ParsedProperty(string Name, ParsedValueType Type, string? Text)
{
    /// <summary>The value as a JSON value of its type: a number as the input wrote it, null for a removal.</summary>
    public JsonNode? ToJson()
    {
        switch (Type)
        {
            case ParsedValueType.Removed:
                return null;
            case ParsedValueType.Boolean:
                return JsonValue.Create(Text == "true");
            case ParsedValueType.Number:
                try
                {
                    return JsonNode.Parse(Text!);
                }
                catch (JsonException)
                {
                    return JsonValue.Create(Text); // Stored as a number's text the parser does not take: shown as it is.
                }

            default:
                return JsonValue.Create(Text);
        }
    }

    /// <summary>A stored value: a one-byte type tag (s, n, b) and the text, or nothing for a removal.</summary>
    internal static ParsedProperty FromTagged(string name, ReadOnlySpan<byte> tagged)
    {
        if (tagged.IsEmpty)
        {
            return new ParsedProperty(name, ParsedValueType.Removed, null);
        }

        var type = tagged[0] switch
        {
            (byte)'n' => ParsedValueType.Number,
            (byte)'b' => ParsedValueType.Boolean,
            _ => ParsedValueType.Text,
        };
        return new ParsedProperty(name, type, Encoding.UTF8.GetString(tagged[1..]));
    }
}
