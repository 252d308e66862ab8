using System.Collections;
using System.Globalization;

namespace SegmentMcp.Core.Storage;

/// <summary>
/// One result row read by column index into .NET types. Both engine adapters hand rows over in one shape (long, ulong
/// past <see cref="long.MaxValue"/>, double, decimal, bool, string, DateTime in UTC, object?[] for arrays and tuples,
/// Dictionary for maps, null); the getters accept every shape a ClickHouse type can arrive in and convert it, and
/// anything else is an <see cref="InvalidCastException"/> that names the column, its ClickHouse type and the value's.
/// </summary>
public readonly struct Row
{
    private readonly object?[] values;
    private readonly IReadOnlyList<string>? names;
    private readonly IReadOnlyList<string>? types;

    /// <summary>A row with its column names and ClickHouse types when known (a buffered result has them, a stream not).</summary>
    public Row(object?[] values, IReadOnlyList<string>? names = null, IReadOnlyList<string>? types = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        this.values = values;
        this.names = names;
        this.types = types;
    }

    public int FieldCount => values.Length;

    /// <summary>The value as the adapter returned it.</summary>
    public object? this[int index] => values[Index(index)];

    public bool IsNull(int index) => values[Index(index)] is null;

    /// <summary>A String, FixedString, Enum, UUID… value.</summary>
    public string GetString(int index) => Get<string>(index);

    public string? GetNullableString(int index) => IsNull(index) ? null : GetString(index);

    /// <summary>Any integer type (also Bool as 0/1 and integer text) that fits in 64 signed bits.</summary>
    public long GetInt64(int index) => Get<long>(index);

    public long? GetNullableInt64(int index) => Get<long?>(index);

    public int GetInt32(int index) => Get<int>(index);

    public ulong GetUInt64(int index) => Get<ulong>(index);

    /// <summary>Any float, integer or decimal type (also nan/inf text).</summary>
    public double GetDouble(int index) => Get<double>(index);

    public double? GetNullableDouble(int index) => Get<double?>(index);

    /// <summary>Bool, or an integer (UInt8 flags): 0 is false, anything else true.</summary>
    public bool GetBoolean(int index) => Get<bool>(index);

    /// <summary>Date, Date32, DateTime or DateTime64, as UTC.</summary>
    public DateTime GetDateTime(int index) => Get<DateTime>(index);

    public DateTime? GetNullableDateTime(int index) => Get<DateTime?>(index);

    /// <summary>An Array of strings (Array(String), Array(LowCardinality(String))…); no element may be null.</summary>
    public IReadOnlyList<string> GetStrings(int index) => Get<IReadOnlyList<string>>(index);

    /// <summary>A Map with string keys and string values.</summary>
    public IReadOnlyDictionary<string, string> GetStringMap(int index) => Get<IReadOnlyDictionary<string, string>>(index);

    /// <summary>
    /// The value converted to <typeparamref name="T"/>: string, long, int, ulong, double, bool, DateTime (each also as
    /// a nullable value type), IReadOnlyList&lt;string&gt;, IReadOnlyDictionary&lt;string, string&gt; or object.
    /// Null converts only to a nullable value type or object.
    /// </summary>
    public T Get<T>(int index)
    {
        var value = values[Index(index)];
        var target = typeof(T);
        var underlying = Nullable.GetUnderlyingType(target);
        if (value is null)
        {
            return underlying is not null || target == typeof(object) ? default! : throw Mismatch(index, value, target);
        }

        try
        {
            return Convert(value, underlying ?? target) is { } converted ? (T)converted : throw Mismatch(index, value, target);
        }
        catch (Exception exception) when (exception is FormatException or OverflowException)
        {
            throw Mismatch(index, value, target, exception);
        }
    }

    private static object? Convert(object value, Type target)
    {
        if (target == typeof(object))
        {
            return value;
        }

        if (target == typeof(long))
        {
            return ToInt64(value);
        }

        if (target == typeof(int))
        {
            return ToInt64(value) is { } wide ? checked((int)wide) : null;
        }

        if (target == typeof(ulong))
        {
            return value switch
            {
                ulong u => u,
                string text => ulong.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture),
                _ => ToInt64(value) is { } wide ? checked((ulong)wide) : null,
            };
        }

        if (target == typeof(double))
        {
            return value switch
            {
                double d => d,
                float f => (double)f,
                long l => (double)l,
                ulong u => (double)u,
                decimal m => (double)m,
                int or short or sbyte or byte or ushort or uint => System.Convert.ToDouble(value, CultureInfo.InvariantCulture),
                string text => text switch
                {
                    "nan" or "NaN" => double.NaN,
                    "inf" or "+inf" => double.PositiveInfinity,
                    "-inf" => double.NegativeInfinity,
                    _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
                },
                _ => null,
            };
        }

        if (target == typeof(bool))
        {
            return value switch
            {
                bool b => b,
                "true" => true,
                "false" => false,
                string => null,
                _ => ToInt64(value) is { } number ? number != 0 : null,
            };
        }

        if (target == typeof(DateTime))
        {
            return value switch
            {
                DateTime d => d.Kind switch
                {
                    DateTimeKind.Utc => d,
                    DateTimeKind.Local => d.ToUniversalTime(),
                    _ => DateTime.SpecifyKind(d, DateTimeKind.Utc),
                },
                DateTimeOffset o => o.UtcDateTime,
                DateOnly date => date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc),
                string text => ClickHouseTypes.ParseDateTime(text),
                _ => null,
            };
        }

        if (target == typeof(string))
        {
            return value as string;
        }

        if (target == typeof(IReadOnlyList<string>))
        {
            if (value is string || value is not IEnumerable items)
            {
                return null;
            }

            var list = new List<string>();
            foreach (var item in items)
            {
                if (item is not string text)
                {
                    return null;
                }

                list.Add(text);
            }

            return list;
        }

        if (target == typeof(IReadOnlyDictionary<string, string>))
        {
            if (value is not IDictionary map)
            {
                return null;
            }

            var dictionary = new Dictionary<string, string>(map.Count, StringComparer.Ordinal);
            foreach (DictionaryEntry entry in map)
            {
                if (entry.Key is not string key || entry.Value is not string text)
                {
                    return null;
                }

                dictionary[key] = text;
            }

            return dictionary;
        }

        throw new NotSupportedException($"Row values cannot be read as {target.Name}.");
    }

    private static long? ToInt64(object value) => value switch
    {
        long l => l,
        ulong u => checked((long)u),
        int or short or sbyte or byte or ushort or uint => System.Convert.ToInt64(value, CultureInfo.InvariantCulture),
        bool b => b ? 1 : 0,
        decimal m when decimal.Truncate(m) == m => checked((long)m),
        string text => long.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture),
        _ => null,
    };

    private int Index(int index)
    {
        if ((uint)index >= (uint)values.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The row has {values.Length} column(s).");
        }

        return index;
    }

    private InvalidCastException Mismatch(int index, object? value, Type target, Exception? inner = null)
    {
        var column = names is not null && index < names.Count ? $"Column {index} ('{names[index]}')" : $"Column {index}";
        var type = types is not null && index < types.Count ? $" of type {types[index]}" : string.Empty;
        var held = value is null ? "NULL" : $"a {value.GetType().Name} ({Shorten(value)})";
        return new InvalidCastException($"{column}{type} holds {held}, which cannot be read as {TypeName(target)}.", inner);
    }

    private static string Shorten(object value)
    {
        var text = value is string s ? "\"" + s + "\"" : System.Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;
        return text.Length <= 40 ? text : text[..40] + "…";
    }

    private static string TypeName(Type type) =>
        Nullable.GetUnderlyingType(type) is { } inner ? inner.Name + "?"
        : type == typeof(IReadOnlyList<string>) ? "a list of strings"
        : type == typeof(IReadOnlyDictionary<string, string>) ? "a map of strings"
        : type.Name;
}
