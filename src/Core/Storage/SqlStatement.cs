namespace SegmentMcp.Core.Storage;

/// <summary>SQL text with <c>{name:Type}</c> placeholders and the values bound to them.</summary>
public sealed record SqlStatement(string Text, IReadOnlyList<SqlParameter> Parameters)
{
    public SqlStatement(string text)
        : this(text, [])
    {
    }

    /// <summary>Query-level ClickHouse settings (allow-listed names; values are engine-formatted).</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    public override string ToString() => Text;
}

/// <summary>
/// One bound value. <see cref="ClickHouseType"/> is the type written in the placeholder (<c>String</c>,
/// <c>Float64</c>, <c>DateTime64(3, 'UTC')</c>, <c>Array(String)</c>…); <see cref="Value"/> is a .NET value of a
/// matching kind: string, long, double, bool, DateTime (UTC), or an array/list of those.
/// </summary>
public sealed record SqlParameter(string Name, string ClickHouseType, object? Value);

/// <summary>What a query cost the engine.</summary>
public sealed record QueryStatistics(ulong RowsRead, ulong BytesRead, TimeSpan Elapsed)
{
    public static QueryStatistics Empty { get; } = new(0, 0, TimeSpan.Zero);
}

/// <summary>A buffered result: column names and ClickHouse types, typed rows, statistics.</summary>
public sealed record QueryResult(
    IReadOnlyList<string> ColumnNames,
    IReadOnlyList<string> ColumnTypes,
    IReadOnlyList<object?[]> Rows,
    QueryStatistics Statistics);
