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
internal sealed partial class TimingEngine(IClickHouseEngine inner, TextWriter? journal = null) : IClickHouseEngine
{
    private TextWriter? journal = journal;

    private Stopwatch since = Stopwatch.StartNew();
    private readonly ConcurrentDictionary<string, (int Count, TimeSpan Time, ulong Rows)> totals = new(StringComparer.Ordinal);

    public string Kind => inner.Kind;

    public void Reset() => totals.Clear();

    /// <summary>
    /// Clears the groups and journals the next statements to <paramref name="runJournal"/> (none when null). Runs reuse
    /// one decorator: what the stores learn of an engine once (the functions it has) is kept per engine instance, and a
    /// new decorator a run would make every run ask again, which a server's consecutive ticks do not.
    /// </summary>
    public void StartRun(TextWriter? runJournal)
    {
        totals.Clear();
        journal = runJournal;
        since = Stopwatch.StartNew();
    }

    /// <summary>The statement running now (the latest started, with one worker the only one), for memory sampling.</summary>
    public string? Running => running;

    private volatile string? running;

    /// <summary>The groups, most time first.</summary>
    public IReadOnlyList<(string Statement, int Count, TimeSpan Time, ulong Rows)> Groups() =>
        [.. totals.Select(t => (t.Key, t.Value.Count, t.Value.Time, t.Value.Rows)).OrderByDescending(t => t.Time)];

    public Task<QueryStatistics> ExecuteAsync(SqlStatement statement, CancellationToken cancellationToken = default) =>
        TimeAsync(statement.Text, () => inner.ExecuteAsync(statement, cancellationToken), s => s.RowsRead, statement.Parameters);

    public Task<QueryResult> QueryAsync(SqlStatement query, CancellationToken cancellationToken = default) =>
        TimeAsync(query.Text, () => inner.QueryAsync(query, cancellationToken), r => r.Statistics.RowsRead, query.Parameters);

    public IAsyncEnumerable<object?[]> StreamAsync(SqlStatement query, CancellationToken cancellationToken = default) =>
        inner.StreamAsync(query, cancellationToken);

    public Task<QueryStatistics> InsertJsonEachRowAsync(string table, ReadOnlyMemory<byte> rows, string? deduplicationToken, CancellationToken cancellationToken = default) =>
        TimeAsync("INSERT INTO " + table, () => inner.InsertJsonEachRowAsync(table, rows, deduplicationToken, cancellationToken), s => s.RowsRead);

    public Task<QueryStatistics> InsertAsync(
        string table, IReadOnlyList<string> columns, string format, ReadOnlyMemory<byte> rows, string? deduplicationToken, CancellationToken cancellationToken = default) =>
        TimeAsync("INSERT INTO " + table, () => inner.InsertAsync(table, columns, format, rows, deduplicationToken, cancellationToken), s => s.RowsRead);

    public Task ReleaseFreedMemoryAsync(CancellationToken cancellationToken = default) => inner.ReleaseFreedMemoryAsync(cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task<T> TimeAsync<T>(string text, Func<Task<T>> run, Func<T, ulong> rows, IReadOnlyList<SqlParameter>? parameters = null)
    {
        var label = Label(text);
        running = label;
        var started = since.Elapsed;
        var watch = Stopwatch.StartNew();
        var result = await run().ConfigureAwait(false);
        var elapsed = watch.Elapsed;
        totals.AddOrUpdate(label, (1, elapsed, rows(result)), (_, t) => (t.Count + 1, t.Time + elapsed, t.Rows + rows(result)));
        if (journal is not null)
        {
            Record(text, parameters ?? [], started, elapsed, rows(result));
        }

        return result;
    }

    /// <summary>One JSON line per statement (its text, parameters as the engine receives them, start, time, rows), to replay it elsewhere.</summary>
    private void Record(string text, IReadOnlyList<SqlParameter> parameters, TimeSpan started, TimeSpan elapsed, ulong rows)
    {
        var line = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["start_ms"] = Math.Round(started.TotalMilliseconds, 1),
            ["ms"] = Math.Round(elapsed.TotalMilliseconds, 1),
            ["rows"] = rows,
            ["sql"] = text,
            ["params"] = parameters.ToDictionary(p => p.Name, p => Core.Storage.Chdb.ParameterText.Format(p.ClickHouseType, p.Value), StringComparer.Ordinal),
        });
        if (journal is { } writer)
        {
            lock (writer)
            {
                writer.WriteLine(line);
                writer.Flush();
            }
        }
    }

    private static string Label(string text)
    {
        var flat = Whitespace().Replace(text, " ").Trim();
        return flat.Length <= 90 ? flat : flat[..90];
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
