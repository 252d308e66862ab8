using System.Collections;
using System.Globalization;
using System.Text;

namespace SegmentMcp.Core.Storage.Chdb;

/// <summary>
/// Writes a bound value in the text form ClickHouse parses query parameters from (the "escaped" text format;
/// elements of arrays in quoted form). The value never becomes SQL: the engine binds it after parsing.
/// </summary>
internal static class ParameterText
{
    public static string Format(string clickHouseType, object? value)
    {
        var builder = new StringBuilder();
        var type = ClickHouseTypes.Unwrap(clickHouseType, out _);
        if (value is null)
        {
            return "\\N";
        }

        WriteTopLevel(builder, type, value);
        return builder.ToString();
    }

    private static void WriteTopLevel(StringBuilder builder, string type, object value)
    {
        switch (value)
        {
            case string s:
                AppendEscaped(builder, s);
                break;
            case IEnumerable sequence:
                WriteArray(builder, ElementType(type), sequence);
                break;
            default:
                WriteScalar(builder, type, value);
                break;
        }
    }

    private static string ElementType(string type)
    {
        var arguments = ClickHouseTypes.Arguments(type);
        return arguments.Count == 1 ? ClickHouseTypes.Unwrap(arguments[0], out _) : "String";
    }

    private static void WriteArray(StringBuilder builder, string elementType, IEnumerable sequence)
    {
        builder.Append('[');
        var first = true;
        foreach (var item in sequence)
        {
            if (!first)
            {
                builder.Append(',');
            }

            first = false;
            switch (item)
            {
                case null:
                    builder.Append("NULL");
                    break;
                case string s:
                    AppendQuoted(builder, s);
                    break;
                case DateTime d:
                    builder.Append('\'');
                    WriteScalar(builder, elementType, d);
                    builder.Append('\'');
                    break;
                case IEnumerable nested:
                    WriteArray(builder, ElementType(elementType), nested);
                    break;
                default:
                    WriteScalar(builder, elementType, item);
                    break;
            }
        }

        builder.Append(']');
    }

    private static void WriteScalar(StringBuilder builder, string type, object value)
    {
        switch (value)
        {
            case bool b:
                builder.Append(type == "Bool" ? (b ? "true" : "false") : (b ? "1" : "0"));
                break;
            case double d:
                builder.Append(FormatDouble(d));
                break;
            case float f:
                builder.Append(FormatDouble(f));
                break;
            case DateTime d:
                var utc = d.Kind == DateTimeKind.Local ? d.ToUniversalTime() : d;
                builder.Append(utc.ToString(type == "Date" || type == "Date32" ? "yyyy-MM-dd" : "yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture));
                break;
            case DateTimeOffset o:
                builder.Append(o.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture));
                break;
            case IFormattable formattable:
                builder.Append(formattable.ToString(null, CultureInfo.InvariantCulture));
                break;
            default:
                AppendEscaped(builder, value.ToString() ?? string.Empty);
                break;
        }
    }

    private static string FormatDouble(double d) =>
        double.IsNaN(d) ? "nan" : double.IsPositiveInfinity(d) ? "inf" : double.IsNegativeInfinity(d) ? "-inf" : d.ToString("R", CultureInfo.InvariantCulture);

    private static void AppendEscaped(StringBuilder builder, string s)
    {
        foreach (var c in s)
        {
            AppendEscapedChar(builder, c);
        }
    }

    private static void AppendQuoted(StringBuilder builder, string s)
    {
        builder.Append('\'');
        foreach (var c in s)
        {
            if (c == '\'')
            {
                builder.Append("\\'");
            }
            else
            {
                AppendEscapedChar(builder, c);
            }
        }

        builder.Append('\'');
    }

    private static void AppendEscapedChar(StringBuilder builder, char c)
    {
        switch (c)
        {
            case '\\': builder.Append("\\\\"); break;
            case '\t': builder.Append("\\t"); break;
            case '\n': builder.Append("\\n"); break;
            case '\r': builder.Append("\\r"); break;
            case '\0': builder.Append("\\0"); break;
            case '\b': builder.Append("\\b"); break;
            case '\f': builder.Append("\\f"); break;
            default: builder.Append(c); break;
        }
    }
}
