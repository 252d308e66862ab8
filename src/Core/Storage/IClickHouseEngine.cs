using SegmentMcp.Core.Sql;
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

    /// <summary>
    /// Inserts rows in one of the <see cref="InsertFormats"/> into the given columns (in that order; the other columns
    /// take their defaults). With a deduplication token, inserting the same block again is a no-op. Column names are
    /// checked with <see cref="Identifiers.RequireName"/>; <paramref name="rows"/> is read, never kept or copied whole
    /// by the embedded engine.
    /// </summary>
    Task<QueryStatistics> InsertAsync(
        string table,
        IReadOnlyList<string> columns,
        string format,
        ReadOnlyMemory<byte> rows,
        string? deduplicationToken,
        CancellationToken cancellationToken = default);

    /// <summary>
    /// Returns memory the engine has freed but still holds to the operating system, when the engine lives in this
    /// process (a server's memory is its own business). Its allocator keeps freed pages for about ten seconds, so
    /// without this a tick's working set sits on top of whatever ran before it.
    /// </summary>
    Task ReleaseFreedMemoryAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;
}

/// <summary>The input formats <see cref="IClickHouseEngine.InsertAsync"/> accepts (format names reach SQL text).</summary>
public static class InsertFormats
{
    /// <summary>One JSON object a line.</summary>
    public const string JsonEachRow = "JSONEachRow";

    /// <summary>One JSON array a line, values in the INSERT's column order (about 3× cheaper for ClickHouse to parse).</summary>
    public const string JsonCompactEachRow = "JSONCompactEachRow";

    /// <summary>ClickHouse's binary row format (LEB128-prefixed strings, little-endian numbers), the cheapest to read.</summary>
    public const string RowBinary = "RowBinary";

    private static readonly string[] Allowed = [JsonEachRow, JsonCompactEachRow, RowBinary];

    public static string Require(string format) =>
        Array.IndexOf(Allowed, format) >= 0
            ? format
            : throw new ArgumentException($"'{format}' is not a supported insert format ({string.Join(", ", Allowed)}).", nameof(format));

    /// <summary>
    /// The INSERT statement text (without FORMAT) shared by the adapters: table and columns checked, token checked.
    /// </summary>
    public static string InsertText(
        string table, IReadOnlyList<string> columns, string? deduplicationToken, IReadOnlyDictionary<string, string>? settings = null)
    {
        Identifiers.RequireQualifiedName(table);
        var text = new System.Text.StringBuilder("INSERT INTO ").Append(table);
        if (columns.Count > 0)
        {
            text.Append(" (");
            for (var i = 0; i < columns.Count; i++)
            {
                text.Append(i == 0 ? string.Empty : ", ").Append(Identifiers.RequireName(columns[i], "column name"));
            }

            text.Append(')');
        }

        var separator = " SETTINGS ";
        if (deduplicationToken is not null)
        {
            text.Append(separator).Append("insert_deduplication_token = '").Append(Identifiers.RequireToken(deduplicationToken)).Append('\'');
            separator = ", ";
        }

        foreach (var (name, value) in settings ?? new Dictionary<string, string>())
        {
            text.Append(separator).Append(Identifiers.RequireName(name, "setting name")).Append(" = '").Append(Identifiers.RequireToken(value)).Append('\'');
            separator = ", ";
        }

        return text.ToString();
    }
}
