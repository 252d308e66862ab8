namespace SegmentMcp.Core.Storage;

/// <summary>What a query cost the engine.</summary>
/// <param name="RowsWritten">Rows an INSERT wrote to its table (what an INSERT … SELECT inserted, without a count).</param>
public sealed record QueryStatistics(ulong RowsRead, ulong BytesRead, TimeSpan Elapsed, ulong RowsWritten = 0)
{
    public static QueryStatistics Empty { get; } = new(0, 0, TimeSpan.Zero);
}

/// <summary>A buffered result: column names and ClickHouse types, typed rows, statistics.</summary>
public sealed record QueryResult(
    IReadOnlyList<string> ColumnNames,
    IReadOnlyList<string> ColumnTypes,
    IReadOnlyList<object?[]> Rows,
    QueryStatistics Statistics)
{
    /// <summary>Every row through <paramref name="map"/>, in order.</summary>
    public IReadOnlyList<T> Read<T>(Func<Row, T> map)
    {
        ArgumentNullException.ThrowIfNull(map);
        var items = new T[Rows.Count];
        for (var i = 0; i < items.Length; i++)
        {
            items[i] = map(RowAt(i));
        }

        return items;
    }

    /// <summary>The only row through <paramref name="map"/> (an aggregate without GROUP BY, say).</summary>
    public T ReadSingle<T>(Func<Row, T> map)
    {
        ArgumentNullException.ThrowIfNull(map);
        return Rows.Count == 1
            ? map(RowAt(0))
            : throw new InvalidOperationException($"The query returned {Rows.Count} rows where exactly one was expected.");
    }

    /// <summary>The first column of the only row, converted as <see cref="Row.Get{T}"/> does.</summary>
    public T Scalar<T>() => ReadSingle(row => row.Get<T>(0));

    public Row RowAt(int index) => new(Rows[index], ColumnNames, ColumnTypes);
}
