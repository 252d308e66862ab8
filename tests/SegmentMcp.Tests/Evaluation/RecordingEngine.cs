using System.Collections.Concurrent;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// Records every statement's text; fails those <see cref="Fail"/> picks and holds the queries <see cref="BeforeQuery"/>
/// holds, before they reach the engine.
/// </summary>
internal sealed class RecordingEngine(IClickHouseEngine inner) : IClickHouseEngine
{
    public ConcurrentQueue<string> Statements { get; } = new();

    public Func<string, bool> Fail { get; set; } = _ => false;

    public string Kind => inner.Kind;

    public Task<QueryStatistics> ExecuteAsync(SqlStatement statement, CancellationToken cancellationToken = default)
    {
        Record(statement.Text);
        return inner.ExecuteAsync(statement, cancellationToken);
    }

    /// <summary>Awaited before a query reaches the engine (after it is recorded): holds the statements it picks.</summary>
    public Func<string, Task> BeforeQuery { get; set; } = _ => Task.CompletedTask;

    public async Task<QueryResult> QueryAsync(SqlStatement query, CancellationToken cancellationToken = default)
    {
        Record(query.Text);
        await BeforeQuery(query.Text);
        return await inner.QueryAsync(query, cancellationToken);
    }

    public IAsyncEnumerable<object?[]> StreamAsync(SqlStatement query, CancellationToken cancellationToken = default) =>
        inner.StreamAsync(query, cancellationToken);

    public Task<QueryStatistics> InsertJsonEachRowAsync(string table, ReadOnlyMemory<byte> rows, string? deduplicationToken, CancellationToken cancellationToken = default) =>
        inner.InsertJsonEachRowAsync(table, rows, deduplicationToken, cancellationToken);

    public Task<QueryStatistics> InsertAsync(
        string table, IReadOnlyList<string> columns, string format, ReadOnlyMemory<byte> rows, string? deduplicationToken, CancellationToken cancellationToken = default) =>
        inner.InsertAsync(table, columns, format, rows, deduplicationToken, cancellationToken);

    public Task ReleaseFreedMemoryAsync(CancellationToken cancellationToken = default) => inner.ReleaseFreedMemoryAsync(cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private void Record(string text)
    {
        Statements.Enqueue(text);
        if (Fail(text))
        {
            throw new InvalidOperationException("injected failure of: " + text[..Math.Min(80, text.Length)]);
        }
    }
}
