using System.Runtime.CompilerServices;
using System.Text;

namespace SegmentMcp.Core.Sql;

/// <summary>
/// A piece of SQL that writes its text and its parameters in one call, so the two cannot drift apart. Text comes
/// only from literals in the compiler's source (see <see cref="SqlHandler"/>) and from schema identifiers; every
/// value is a parameter, named in order of appearance (<c>{p0:String}</c>, <c>{p1:Float64}</c>, …).
/// </summary>
public abstract class SqlFragment
{
    internal abstract void WriteTo(SqlWriter writer);

    /// <summary>Renders the fragment as a statement, numbering its parameters from p0.</summary>
    public SqlStatement ToStatement()
    {
        var writer = new SqlWriter();
        WriteTo(writer);
        return new SqlStatement(writer.Text.ToString(), writer.Parameters);
    }
}

/// <summary>
/// Builds fragments from interpolated strings: literal parts become SQL text, holes must be fragments. There is no
/// overload for strings or numbers, so a user value cannot reach SQL text by accident; it has to go through
/// <see cref="Sql.Param"/>.
/// </summary>
[InterpolatedStringHandler]
public readonly ref struct SqlHandler
{
    private readonly List<SqlFragment> parts;

    public SqlHandler(int literalLength, int formattedCount)
    {
        _ = literalLength;
        parts = new List<SqlFragment>(formattedCount * 2 + 1);
    }

    public void AppendLiteral(string text) => parts.Add(new SqlText(text));

    public void AppendFormatted(SqlFragment fragment) => parts.Add(fragment);

    internal SqlFragment Build() => parts.Count == 1 ? parts[0] : new SqlSequence(parts);
}

public static class Sql
{
    public static SqlFragment Empty { get; } = new SqlSequence([]);

    /// <summary>SQL from an interpolated string whose holes are fragments.</summary>
    public static SqlFragment Of(SqlHandler sql) => sql.Build();

    /// <summary>A value bound as a positional parameter. Writing the same instance twice binds it once.</summary>
    public static SqlFragment Param(string clickHouseType, object value) => new SqlParameterFragment(null, clickHouseType, value);

    /// <summary>A value bound under a fixed name (<c>now</c>, <c>tenant</c>, <c>profile_ids</c>).</summary>
    public static SqlFragment Named(string name, string clickHouseType, object value) =>
        new SqlParameterFragment(Identifiers.RequireName(name, "parameter name"), clickHouseType, value);

    /// <summary>A table name from <see cref="TableNames"/> (checked, never user text).</summary>
    public static SqlFragment Table(string qualifiedName) => new SqlText(Identifiers.RequireQualifiedName(qualifiedName));

    /// <summary>A generated column alias such as <c>e3</c>.</summary>
    public static SqlFragment Alias(string prefix, int index) =>
        new SqlText(Identifiers.RequireName(prefix + index.ToString(System.Globalization.CultureInfo.InvariantCulture), "alias"));

    /// <summary>A whole number as SQL text, for DDL that takes no parameters (sharding keys, engine arguments).</summary>
    public static SqlFragment Number(long value) => new SqlText(value.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public static SqlFragment Join(SqlFragment separator, IEnumerable<SqlFragment> items)
    {
        var parts = new List<SqlFragment>();
        foreach (var item in items)
        {
            if (parts.Count > 0)
            {
                parts.Add(separator);
            }

            parts.Add(item);
        }

        return new SqlSequence(parts);
    }

    /// <summary>Items joined with AND, in parentheses; <c>1</c> when there are none.</summary>
    public static SqlFragment And(IReadOnlyList<SqlFragment> items) =>
        items.Count switch
        {
            0 => Of($"1"),
            1 => items[0],
            _ => Of($"({Join(Of($" AND "), items)})"),
        };

    /// <summary>Items joined with OR, in parentheses; <c>0</c> when there are none.</summary>
    public static SqlFragment Or(IReadOnlyList<SqlFragment> items) =>
        items.Count switch
        {
            0 => Of($"0"),
            1 => items[0],
            _ => Of($"({Join(Of($" OR "), items)})"),
        };
}

internal sealed class SqlText(string text) : SqlFragment
{
    internal override void WriteTo(SqlWriter writer) => writer.Text.Append(text);
}

internal sealed class SqlSequence(IReadOnlyList<SqlFragment> parts) : SqlFragment
{
    internal override void WriteTo(SqlWriter writer)
    {
        foreach (var part in parts)
        {
            part.WriteTo(writer);
        }
    }
}

internal sealed class SqlParameterFragment(string? name, string clickHouseType, object value) : SqlFragment
{
    public string ClickHouseType => clickHouseType;

    internal override void WriteTo(SqlWriter writer) =>
        writer.Text.Append('{').Append(writer.Bind(this, name, clickHouseType, value)).Append(':').Append(clickHouseType).Append('}');
}

/// <summary>Accumulates text and parameters while fragments write themselves.</summary>
internal sealed class SqlWriter
{
    private readonly Dictionary<SqlParameterFragment, string> bound = new(ReferenceEqualityComparer.Instance);
    private int positional;

    public StringBuilder Text { get; } = new();

    public List<SqlParameter> Parameters { get; } = [];

    public string Bind(SqlParameterFragment fragment, string? fixedName, string clickHouseType, object value)
    {
        if (bound.TryGetValue(fragment, out var existing))
        {
            return existing;
        }

        var name = fixedName ?? "p" + (positional++).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var clash = Parameters.Find(p => p.Name == name);
        if (clash is not null)
        {
            if (clash.ClickHouseType != clickHouseType || !Equals(clash.Value, value))
            {
                throw new InvalidOperationException($"Parameter '{name}' is bound twice with different values.");
            }
        }
        else
        {
            Parameters.Add(new SqlParameter(name, clickHouseType, value));
        }

        bound[fragment] = name;
        return name;
    }
}
