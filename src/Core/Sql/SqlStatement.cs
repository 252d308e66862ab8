namespace SegmentMcp.Core.Sql;

/// <summary>SQL text with <c>{name:Type}</c> placeholders and the values bound to them.</summary>
public sealed record SqlStatement(string Text, IReadOnlyList<SqlParameter> Parameters)
{
    public SqlStatement(string text)
        : this(text, [])
    {
    }

    public override string ToString() => Text;
}

/// <summary>
/// One bound value. <see cref="ClickHouseType"/> is the type written in the placeholder (<c>String</c>,
/// <c>Float64</c>, <c>DateTime64(3, 'UTC')</c>, <c>Array(String)</c>…); <see cref="Value"/> is a .NET value of a
/// matching kind: string, long, double, bool, DateTime (UTC), or an array/list of those.
/// </summary>
public sealed record SqlParameter(string Name, string ClickHouseType, object? Value);
