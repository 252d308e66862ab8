using System.Globalization;

namespace SegmentMcp.Core.Storage;

/// <summary>Small helpers over ClickHouse type names, shared by both engine adapters.</summary>
internal static class ClickHouseTypes
{
    /// <summary>Drops Nullable(…) and LowCardinality(…) wrappers.</summary>
    public static string Unwrap(string type, out bool nullable)
    {
        nullable = false;
        while (true)
        {
            if (type.StartsWith("Nullable(", StringComparison.Ordinal))
            {
                nullable = true;
                type = type[9..^1];
            }
            else if (type.StartsWith("LowCardinality(", StringComparison.Ordinal))
            {
                type = type[15..^1];
            }
            else if (type.StartsWith("SimpleAggregateFunction(", StringComparison.Ordinal))
            {
                type = Arguments(type)[1];
            }
            else
            {
                return type;
            }
        }
    }

    /// <summary>The arguments of a parametric type, split at top-level commas: Map(String, UInt8) → [String, UInt8].</summary>
    public static IReadOnlyList<string> Arguments(string type)
    {
        var open = type.IndexOf('(', StringComparison.Ordinal);
        if (open < 0)
        {
            return [];
        }

        var inner = type.AsSpan(open + 1, type.Length - open - 2);
        var result = new List<string>();
        var depth = 0;
        var inQuote = false;
        var start = 0;
        for (var i = 0; i < inner.Length; i++)
        {
            var c = inner[i];
            if (c == '\'' && (i == 0 || inner[i - 1] != '\\'))
            {
                inQuote = !inQuote;
            }
            else if (!inQuote && c == '(')
            {
                depth++;
            }
            else if (!inQuote && c == ')')
            {
                depth--;
            }
            else if (!inQuote && depth == 0 && c == ',')
            {
                result.Add(inner[start..i].ToString().Trim());
                start = i + 1;
            }
        }

        result.Add(inner[start..].ToString().Trim());
        return result;
    }

    public static string BaseName(string type)
    {
        var open = type.IndexOf('(', StringComparison.Ordinal);
        return open < 0 ? type : type[..open];
    }

    public static bool IsInteger(string baseName) =>
        baseName.StartsWith("Int", StringComparison.Ordinal) || baseName.StartsWith("UInt", StringComparison.Ordinal);

    public static bool IsFloat(string baseName) => baseName is "Float32" or "Float64" or "BFloat16";

    public static bool IsDateTime(string baseName) => baseName is "DateTime" or "DateTime64" or "Date" or "Date32";

    /// <summary>Parses the text form of a ClickHouse date or time ("2026-11-20 10:00:00.123") as UTC.</summary>
    public static DateTime ParseDateTime(string text) =>
        DateTime.SpecifyKind(
            DateTime.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal),
            DateTimeKind.Utc);

    /// <summary>Brings a driver value to the shape both adapters return: long, double, bool, string, DateTime (UTC), object?[], Dictionary.</summary>
    public static object? Normalize(object? value)
    {
        switch (value)
        {
            case null or DBNull:
                return null;
            case string or bool or double or long or decimal:
                return value;
            case sbyte or byte or short or ushort or int or uint:
                return Convert.ToInt64(value, CultureInfo.InvariantCulture);
            case ulong u:
                return u <= long.MaxValue ? (long)u : (object)u;
            case float f:
                return (double)f;
            case DateTime d:
                return d.Kind == DateTimeKind.Utc ? d : DateTime.SpecifyKind(d.Kind == DateTimeKind.Local ? d.ToUniversalTime() : d, DateTimeKind.Utc);
            case DateTimeOffset o:
                return o.UtcDateTime;
            case DateOnly date:
                return date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
            case System.Collections.IDictionary map:
                var dictionary = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (System.Collections.DictionaryEntry entry in map)
                {
                    dictionary[Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? string.Empty] = Normalize(entry.Value);
                }

                return dictionary;
            case System.Runtime.CompilerServices.ITuple tuple:
                var items = new object?[tuple.Length];
                for (var i = 0; i < tuple.Length; i++)
                {
                    items[i] = Normalize(tuple[i]);
                }

                return items;
            case System.Collections.IEnumerable sequence:
                var list = new List<object?>();
                foreach (var item in sequence)
                {
                    list.Add(Normalize(item));
                }

                return list.ToArray();
            default:
                return Convert.ToString(value, CultureInfo.InvariantCulture);
        }
    }
}
