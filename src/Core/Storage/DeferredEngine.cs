using System.Diagnostics;
using System.Runtime.CompilerServices;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

/// <summary>
/// An engine that is still opening. The MCP server answers initialize and tools/list without waiting for chDB to boot
/// (which takes most of a second of both cores on a loaded database); the first call that needs data waits for the
/// open to finish, and an open that failed surfaces as that call's error. A failed open is tried again by the first
/// call at least <paramref name="retryAfter"/> later, so a server that was down or a data directory another process
/// held is picked up once it is free, without restarting the MCP client. <paramref name="open"/> runs under
/// <paramref name="lifetime"/>, not under any one call's token, because every call shares its result.
/// </summary>
public sealed class DeferredEngine(Func<CancellationToken, Task<IClickHouseEngine>> open, TimeSpan retryAfter, CancellationToken lifetime) : IClickHouseEngine
{
    private readonly Lock gate = new();
    private Task<IClickHouseEngine>? opening;
    private long failedAt;

    public string Kind => opening is { IsCompletedSuccessfully: true } open ? open.Result.Kind : "opening";

    /// <summary>Raised with the error each time an open fails.</summary>
    public event Action<Exception>? OpenFailed;

    /// <summary>
    /// The engine once it is open (throws what the open threw). Starts the open when none has started, and again when
    /// the last one failed at least the retry interval ago.
    /// </summary>
    public Task<IClickHouseEngine> OpenAsync()
    {
        lock (gate)
        {
            if (opening is null || (opening.IsFaulted && Stopwatch.GetElapsedTime(Interlocked.Read(ref failedAt)) >= retryAfter))
            {
                opening = Task.Run(AttemptAsync, lifetime);
            }

            return opening;
        }
    }

    /// <summary>One open; its failure time is set before the task faults, so no call sees the fault without it.</summary>
    private async Task<IClickHouseEngine> AttemptAsync()
    {
        try
        {
            return await open(lifetime).ConfigureAwait(false);
        }
        catch (Exception exception) when (!lifetime.IsCancellationRequested)
        {
            Interlocked.Exchange(ref failedAt, Stopwatch.GetTimestamp());
            OpenFailed?.Invoke(exception);
            throw;
        }
    }

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

    private Task<IClickHouseEngine> OpenedAsync(CancellationToken cancellationToken) => OpenAsync().WaitAsync(cancellationToken);

    public async Task<QueryStatistics> InsertAsync(
        string table,
        IReadOnlyList<string> columns,
        string format,
        ReadOnlyMemory<byte> rows,
        string? deduplicationToken,
        CancellationToken cancellationToken = default) =>
        await (await OpenedAsync(cancellationToken).ConfigureAwait(false)).InsertAsync(table, columns, format, rows, deduplicationToken, cancellationToken).ConfigureAwait(false);

    public async Task ReleaseFreedMemoryAsync(CancellationToken cancellationToken = default)
    {
        // Nothing to release before the engine is open, and releasing is no reason to open it.
        if (opening is { IsCompletedSuccessfully: true } open)
        {
            await open.Result.ReleaseFreedMemoryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (opening is { IsCompletedSuccessfully: true } open)
        {
            await open.Result.DisposeAsync().ConfigureAwait(false);
        }
    }
}
