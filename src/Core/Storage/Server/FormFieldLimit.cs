using System.Collections;
using System.Globalization;
using System.Text;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage.Server;

/// <summary>
/// Keeps every query parameter under the server's limit on one HTTP form field (<c>http_max_field_value_size</c>,
/// 128 KiB by default): the driver posts parameters as form fields, and a chunk of 20,000 candidate ids is several
/// times that ("HTML Form Exception: Field value too long"). An array parameter past <see cref="FieldBytes"/> is
/// sent as consecutive slices, and each of its placeholders becomes <c>arrayConcat</c> of them: the same constant
/// array to the engine (an <c>IN</c> over it still narrows the sort key), so the SQL is the one the embedded engine runs.
/// </summary>
internal static class FormFieldLimit
{
    /// <summary>Half the default limit: the estimate below is an upper bound, and escaping can double a string.</summary>
    internal const int FieldBytes = 64 * 1024;

    public static SqlStatement Split(SqlStatement statement)
    {
        if (!statement.Parameters.Any(IsLargeArray))
        {
            return statement;
        }

        var text = statement.Text;
        var parameters = new List<SqlParameter>();
        var taken = statement.Parameters.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var parameter in statement.Parameters)
        {
            if (!IsLargeArray(parameter))
            {
                parameters.Add(parameter);
                continue;
            }

            var slices = Slices((IEnumerable)parameter.Value!).ToList();
            var names = new List<string>();
            for (var i = 0; i < slices.Count; i++)
            {
                var name = string.Create(CultureInfo.InvariantCulture, $"{parameter.Name}_slice{i}");
                while (!taken.Add(name))
                {
                    name += "_";
                }

                names.Add(name);
                parameters.Add(new SqlParameter(name, parameter.ClickHouseType, slices[i]));
            }

            text = text.Replace(
                "{" + parameter.Name + ":" + parameter.ClickHouseType + "}",
                "arrayConcat(" + string.Join(", ", names.Select(n => "{" + n + ":" + parameter.ClickHouseType + "}")) + ")",
                StringComparison.Ordinal);
        }

        return new SqlStatement(text, parameters);
    }

    private static bool IsLargeArray(SqlParameter parameter) =>
        parameter.ClickHouseType.StartsWith("Array(", StringComparison.Ordinal)
        && parameter.Value is IEnumerable values and not string
        && EstimatedBytes(values) > FieldBytes;

    private static long EstimatedBytes(IEnumerable values)
    {
        long bytes = 2;
        foreach (var value in values)
        {
            bytes += ElementBytes(value);
        }

        return bytes;
    }

    /// <summary>An upper bound of one element's text in the array literal: quotes, separator, every byte escaped.</summary>
    private static long ElementBytes(object? value) => value switch
    {
        null => 5,
        string s => (2L * Encoding.UTF8.GetByteCount(s)) + 3,
        _ => (2L * Encoding.UTF8.GetByteCount(Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty)) + 3,
    };

    private static IEnumerable<Array> Slices(IEnumerable values)
    {
        foreach (var slice in ObjectSlices(values))
        {
            // Strings stay a string[], the shape the driver is given for them everywhere else.
            yield return slice.All(v => v is string) ? slice.Cast<string>().ToArray() : slice;
        }
    }

    private static IEnumerable<object?[]> ObjectSlices(IEnumerable values)
    {
        var slice = new List<object?>();
        long bytes = 2;
        foreach (var value in values)
        {
            var size = ElementBytes(value);
            if (slice.Count > 0 && bytes + size > FieldBytes)
            {
                yield return [.. slice];
                slice.Clear();
                bytes = 2;
            }

            slice.Add(value);
            bytes += size;
        }

        yield return [.. slice];
    }
}
