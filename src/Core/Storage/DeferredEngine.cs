using System.Runtime.CompilerServices;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

/// <summary>
/// An engine that is still opening. The MCP server answers initialize and tools/list without waiting for chDB to boot
/// (which takes most of a second of both cores on a loaded database); the first call that needs data waits for the
/// open to finish, and an open that failed surfaces as that call's error. <paramref name="onFirstUse"/> lets the
/// owner start a deliberately delayed open as soon as something needs it.
/// </summary>
public sealed class DeferredEngine(Task<IClickHouseEngine> opening, Action? onFirstUse = null) : IClickHouseEngine
{
    public string Kind => opening.IsCompletedSuccessfully ? opening.Result.Kind : "opening";

    /// <summary>The engine once it is open (throws what the open threw).</summary>
    public Task<IClickHouseEngine> Opened => opening;

    public async Task<QueryStatistics> ExecuteAsync(SqlStatement statement, CancellationToken cancellationToken = default) =>
        await (await OpenedAsync(cancellationToken).ConfigureAwait(false)).ExecuteAsync(statement, cancellationToken).ConfigureAwait(false);

    public async Task<QueryResult> QueryAsync(SqlStatement query, CancellationToken cancellationToken = default) =>
        await (await OpenedAsync(cancellationToken).ConfigureAwait(false)).QueryAsync(query, cancellationToken).ConfigureAwait(false);

    public async IAsyncEnumerable<object?[]> StreamAsync(SqlStatement query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var engine = await OpenedAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var row in engine.StreamAsync(query, cancellationToken).ConfigureAwait(false))
        {
            yield return row;
        }
    }

    public async Task<QueryStatistics> InsertJsonEachRowAsync(string table, ReadOnlyMemory<byte> rows, string? deduplicationToken, CancellationToken cancellationToken = default) =>
        await (await OpenedAsync(cancellationToken).ConfigureAwait(false)).InsertJsonEachRowAsync(table, rows, deduplicationToken, cancellationToken).ConfigureAwait(false);

    private Task<IClickHouseEngine> OpenedAsync(CancellationToken cancellationToken)
    {
        onFirstUse?.Invoke();
        return opening.WaitAsync(cancellationToken);
    }

    public async Task<QueryStatistics> InsertAsync(
        string table,
        IReadOnlyList<string> columns,
        string format,
        ReadOnlyMemory<byte> rows,
        string? deduplicationToken,
        CancellationToken cancellationToken = default) =>
        await (await opening.WaitAsync(cancellationToken).ConfigureAwait(false)).InsertAsync(table, columns, format, rows, deduplicationToken, cancellationToken).ConfigureAwait(false);

    public async Task ReleaseFreedMemoryAsync(CancellationToken cancellationToken = default)
    {
        // Nothing to release before the engine is open, and releasing is no reason to open it.
        if (opening.IsCompletedSuccessfully)
        {
            await opening.Result.ReleaseFreedMemoryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (opening.IsCompletedSuccessfully)
        {
            await opening.Result.DisposeAsync().ConfigureAwait(false);
        }
    }
}
