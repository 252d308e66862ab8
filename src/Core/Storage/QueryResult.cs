namespace SegmentMcp.Core.Storage;

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
