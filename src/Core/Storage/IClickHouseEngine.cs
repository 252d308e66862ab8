namespace SegmentMcp.Core.Storage;

/// <summary>
/// One ClickHouse engine: the embedded chDB library or a ClickHouse server reached through ClickHouse.Driver.
/// Both run the same SQL; every user value travels as a <c>{name:Type}</c> parameter.
/// </summary>
public interface IClickHouseEngine : IAsyncDisposable
{
    /// <summary>A short name for logs and benchmarks ("chdb", "server").</summary>
    string Kind { get; }

    /// <summary>Runs a statement that returns no rows (DDL, INSERT … SELECT, ALTER).</summary>
    Task<QueryStatistics> ExecuteAsync(SqlStatement statement, CancellationToken cancellationToken = default);

    /// <summary>Runs a query and buffers its typed rows.</summary>
    Task<QueryResult> QueryAsync(SqlStatement query, CancellationToken cancellationToken = default);

    /// <summary>Runs a query and yields its typed rows as they arrive.</summary>
    IAsyncEnumerable<object?[]> StreamAsync(SqlStatement query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Inserts rows given as JSONEachRow bytes (one JSON object a line). With a deduplication token, inserting the same
    /// block again is a no-op (MergeTree <c>non_replicated_deduplication_window</c>).
    /// </summary>
    Task<QueryStatistics> InsertJsonEachRowAsync(
        string table, ReadOnlyMemory<byte> rows, string? deduplicationToken, CancellationToken cancellationToken = default);
}
