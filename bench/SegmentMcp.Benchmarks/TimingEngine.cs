using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Benchmarks;

/// <summary>
/// An engine that records every statement's time and rows read, grouped by the statement's opening words (which name
/// what it is: a candidate query, a restricted segment query, a membership lookup, an insert), so a benchmark can
/// print where a tick's time goes.
/// </summary>
internal sealed partial class TimingEngine(IClickHouseEngine inner) : IClickHouseEngine
{
    private readonly ConcurrentDictionary<string, (int Count, TimeSpan Time, ulong Rows)> totals = new(StringComparer.Ordinal);

    public string Kind => inner.Kind;

    public void Reset() => totals.Clear();

    /// <summary>The statement running now (the latest started, with one worker the only one), for memory sampling.</summary>
    public string? Running => running;

    private volatile string? running;

    /// <summary>The groups, most time first.</summary>
    public IReadOnlyList<(string Statement, int Count, TimeSpan Time, ulong Rows)> Groups() =>
        [.. totals.Select(t => (t.Key, t.Value.Count, t.Value.Time, t.Value.Rows)).OrderByDescending(t => t.Time)];

    public Task<QueryStatistics> ExecuteAsync(SqlStatement statement, CancellationToken cancellationToken = default) =>
        TimeAsync(statement.Text, () => inner.ExecuteAsync(statement, cancellationToken), s => s.RowsRead);

    public Task<QueryResult> QueryAsync(SqlStatement query, CancellationToken cancellationToken = default) =>
        TimeAsync(query.Text, () => inner.QueryAsync(query, cancellationToken), r => r.Statistics.RowsRead);

    public IAsyncEnumerable<object?[]> StreamAsync(SqlStatement query, CancellationToken cancellationToken = default) =>
        inner.StreamAsync(query, cancellationToken);

    public Task<QueryStatistics> InsertJsonEachRowAsync(string table, ReadOnlyMemory<byte> rows, string? deduplicationToken, CancellationToken cancellationToken = default) =>
        TimeAsync("INSERT INTO " + table, () => inner.InsertJsonEachRowAsync(table, rows, deduplicationToken, cancellationToken), s => s.RowsRead);

    public Task<QueryStatistics> InsertAsync(
        string table, IReadOnlyList<string> columns, string format, ReadOnlyMemory<byte> rows, string? deduplicationToken, CancellationToken cancellationToken = default) =>
        TimeAsync("INSERT INTO " + table, () => inner.InsertAsync(table, columns, format, rows, deduplicationToken, cancellationToken), s => s.RowsRead);

    public Task ReleaseFreedMemoryAsync(CancellationToken cancellationToken = default) => inner.ReleaseFreedMemoryAsync(cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task<T> TimeAsync<T>(string text, Func<Task<T>> run, Func<T, ulong> rows)
    {
        var label = Label(text);
        running = label;
        var watch = Stopwatch.StartNew();
        var result = await run().ConfigureAwait(false);
        var elapsed = watch.Elapsed;
        totals.AddOrUpdate(label, (1, elapsed, rows(result)), (_, t) => (t.Count + 1, t.Time + elapsed, t.Rows + rows(result)));
        return result;
    }

    private static string Label(string text)
    {
        var flat = Whitespace().Replace(text, " ").Trim();
        return flat.Length <= 90 ? flat : flat[..90];
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
