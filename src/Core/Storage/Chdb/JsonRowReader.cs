using System.Globalization;
using System.Text.Json;

namespace SegmentMcp.Core.Storage.Chdb;

/// <summary>
/// Reads ClickHouse's JSONCompactEachRowWithNamesAndTypes output: a names line, a types line, then one JSON array
/// per row. Values come back in the shape <see cref="ClickHouseTypes.Normalize"/> gives for the server adapter.
/// </summary>
internal sealed class JsonRowReader
{
    public List<string> Names { get; } = [];

    public List<string> Types { get; } = [];

    private byte[]? namesLine;
    private byte[]? typesLine;
    private bool skipTypesLine;

    /// <summary>Parses every complete line of <paramref name="buffer"/>; header lines fill Names/Types the first time.</summary>
    public void ReadLines(ReadOnlySpan<byte> buffer, List<object?[]> rows)
    {
        while (!buffer.IsEmpty)
        {
            var end = buffer.IndexOf((byte)'\n');
            var line = end < 0 ? buffer : buffer[..end];
            buffer = end < 0 ? [] : buffer[(end + 1)..];
            if (line.IsEmpty)
            {
                continue;
            }

            // Streamed chunks repeat the names and types lines: skip a repeat of both.
            if (skipTypesLine)
            {
                skipTypesLine = false;
                if (line.SequenceEqual(typesLine))
                {
                    continue;
                }
            }

            var reader = new Utf8JsonReader(line);
            reader.Read();
            if (namesLine is null)
            {
                namesLine = line.ToArray();
                ReadStrings(ref reader, Names);
                continue;
            }

            if (typesLine is null)
            {
                typesLine = line.ToArray();
                ReadStrings(ref reader, Types);
                continue;
            }

            if (line.SequenceEqual(namesLine) && StartsWithLine(buffer, typesLine))
            {
                skipTypesLine = true;
                continue;
            }

            var row = new object?[Types.Count];
            for (var i = 0; i < row.Length; i++)
            {
                reader.Read();
                row[i] = ReadValue(ref reader, Types[i]);
            }

            rows.Add(row);
        }
    }

    private static bool StartsWithLine(ReadOnlySpan<byte> buffer, byte[] line) =>
        buffer.Length >= line.Length && buffer[..line.Length].SequenceEqual(line) && (buffer.Length == line.Length || buffer[line.Length] == (byte)'\n');

    private static void ReadStrings(ref Utf8JsonReader reader, List<string> target)
    {
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            target.Add(reader.GetString() ?? string.Empty);
        }
    }

    private static object? ReadValue(ref Utf8JsonReader reader, string declaredType)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        var type = ClickHouseTypes.Unwrap(declaredType, out _);
        var baseName = ClickHouseTypes.BaseName(type);
        switch (baseName)
        {
            case "Array":
                {
                    var elementType = ClickHouseTypes.Arguments(type)[0];
                    var items = new List<object?>();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        items.Add(ReadValue(ref reader, elementType));
                    }

                    return items.ToArray();
                }

            case "Tuple":
                {
                    var elementTypes = ClickHouseTypes.Arguments(type);
                    var items = new List<object?>();
                    var index = 0;
                    while (reader.Read() && reader.TokenType is not JsonTokenType.EndArray and not JsonTokenType.EndObject)
                    {
                        if (reader.TokenType == JsonTokenType.PropertyName)
                        {
                            reader.Read();
                        }

                        var elementType = elementTypes[Math.Min(index, elementTypes.Count - 1)];
                        var space = elementType.IndexOf(' ', StringComparison.Ordinal);
                        if (space > 0 && !elementType.Contains('(', StringComparison.Ordinal))
                        {
                            elementType = elementType[(space + 1)..];
                        }

                        items.Add(ReadValue(ref reader, elementType));
                        index++;
                    }

                    return items.ToArray();
                }

            case "Map":
                {
                    var valueType = ClickHouseTypes.Arguments(type)[1];
                    var map = new Dictionary<string, object?>(StringComparer.Ordinal);
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                    {
                        var key = reader.GetString() ?? string.Empty;
                        reader.Read();
                        map[key] = ReadValue(ref reader, valueType);
                    }

                    return map;
                }
        }

        if (ClickHouseTypes.IsInteger(baseName))
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                var text = reader.GetString()!;
                return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) ? parsed : ulong.Parse(text, CultureInfo.InvariantCulture);
            }

            return reader.TryGetInt64(out var value) ? value : reader.GetUInt64();
        }

        if (ClickHouseTypes.IsFloat(baseName))
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                return reader.GetString() switch
                {
                    "nan" or "NaN" => double.NaN,
                    "inf" or "+inf" => double.PositiveInfinity,
                    "-inf" => double.NegativeInfinity,
                    var other => double.Parse(other!, CultureInfo.InvariantCulture),
                };
            }

            return reader.GetDouble();
        }

        if (baseName.StartsWith("Decimal", StringComparison.Ordinal))
        {
            return reader.TokenType == JsonTokenType.String ? decimal.Parse(reader.GetString()!, CultureInfo.InvariantCulture) : reader.GetDecimal();
        }

        if (baseName == "Bool")
        {
            return reader.GetBoolean();
        }

        if (ClickHouseTypes.IsDateTime(baseName))
        {
            return ClickHouseTypes.ParseDateTime(reader.GetString()!);
        }

        return reader.TokenType switch
        {
            JsonTokenType.String => reader.GetString(),
            JsonTokenType.True => true,
            JsonTokenType.False => false,
            JsonTokenType.Number => reader.GetDouble(),
            _ => null,
        };
    }
}
