using System.Runtime.CompilerServices;

namespace SegmentMcp.Core.Storage;

/// <summary>
/// An engine that is still opening. The MCP server answers initialize and tools/list while chDB boots (which takes
/// most of a second on a loaded database); the first call that needs data waits for the open to finish, and an open
/// that failed surfaces as that call's error.
/// </summary>
public sealed class DeferredEngine(Task<IClickHouseEngine> opening) : IClickHouseEngine
{
    public string Kind => opening.IsCompletedSuccessfully ? opening.Result.Kind : "opening";

    /// <summary>The engine once it is open (throws what the open threw).</summary>
    public Task<IClickHouseEngine> Opened => opening;

    public async Task<QueryStatistics> ExecuteAsync(SqlStatement statement, CancellationToken cancellationToken = default) =>
        await (await opening.WaitAsync(cancellationToken).ConfigureAwait(false)).ExecuteAsync(statement, cancellationToken).ConfigureAwait(false);

    public async Task<QueryResult> QueryAsync(SqlStatement query, CancellationToken cancellationToken = default) =>
        await (await opening.WaitAsync(cancellationToken).ConfigureAwait(false)).QueryAsync(query, cancellationToken).ConfigureAwait(false);

    public async IAsyncEnumerable<object?[]> StreamAsync(SqlStatement query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var engine = await opening.WaitAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var row in engine.StreamAsync(query, cancellationToken).ConfigureAwait(false))
        {
            yield return row;
        }
    }

    public async Task<QueryStatistics> InsertJsonEachRowAsync(string table, ReadOnlyMemory<byte> rows, string? deduplicationToken, CancellationToken cancellationToken = default) =>
        await (await opening.WaitAsync(cancellationToken).ConfigureAwait(false)).InsertJsonEachRowAsync(table, rows, deduplicationToken, cancellationToken).ConfigureAwait(false);

    public async Task<QueryStatistics> InsertAsync(
        string table,
        IReadOnlyList<string> columns,
        string format,
        ReadOnlyMemory<byte> rows,
        string? deduplicationToken,
        CancellationToken cancellationToken = default) =>
        await (await opening.WaitAsync(cancellationToken).ConfigureAwait(false)).InsertAsync(table, columns, format, rows, deduplicationToken, cancellationToken).ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        if (opening.IsCompletedSuccessfully)
        {
            await opening.Result.DisposeAsync().ConfigureAwait(false);
        }
    }
}
