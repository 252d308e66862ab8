using System.Data.Common;
using System.Net;
using System.Runtime.CompilerServices;
using ClickHouse.Driver;
using ClickHouse.Driver.ADO;
using ClickHouse.Driver.ADO.Parameters;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage.Server;

/// <summary>
/// A ClickHouse server (or cluster entry point) reached over HTTP through ClickHouse.Driver. Queries run in
/// parallel on one shared HTTP client; each carries a query_id so a cancelled call is also killed on the server.
/// </summary>
public sealed class ClickHouseServerEngine : IClickHouseEngine
{
    private readonly HttpClient httpClient;
    private readonly string connectionString;
    private readonly EngineLimits limits;

    public ClickHouseServerEngine(string connectionString, EngineLimits? limits = null)
    {
        this.connectionString = ServerConnectionString.Normalize(connectionString);
        this.limits = limits ?? new EngineLimits();
        httpClient = new HttpClient(new SocketsHttpHandler
        {
            AutomaticDecompression = DecompressionMethods.All,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        })
        {
            Timeout = this.limits.QueryTimeout + TimeSpan.FromSeconds(30),
        };

        using var probe = new ClickHouseConnection(this.connectionString, httpClient);
        Endpoint = probe.DataSource ?? "ClickHouse";
    }

    public string Kind => "server";

    /// <summary>Host and port, for logs.</summary>
    public string Endpoint { get; }

    public async Task<QueryStatistics> ExecuteAsync(SqlStatement statement, CancellationToken cancellationToken = default)
    {
        using var connection = Connect();
        using var command = CreateCommand(connection, statement);
        await RunWithKillAsync(command.QueryId, () => command.ExecuteNonQueryAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
        return Statistics(command.QueryStats);
    }

    public async Task<QueryResult> QueryAsync(SqlStatement query, CancellationToken cancellationToken = default)
    {
        using var connection = Connect();
        using var command = CreateCommand(connection, query);
        var rows = new List<object?[]>();
        var names = new List<string>();
        var types = new List<string>();
        await RunWithKillAsync(
            command.QueryId,
            async () =>
            {
                using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    names.Add(reader.GetName(i));
                    types.Add(reader.GetDataTypeName(i));
                }

                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    rows.Add(ReadRow(reader));
                }

                return 0;
            },
            cancellationToken).ConfigureAwait(false);
        return new QueryResult(names, types, rows, Statistics(command.QueryStats));
    }

    public async IAsyncEnumerable<object?[]> StreamAsync(SqlStatement query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var connection = Connect();
        using var command = CreateCommand(connection, query);
        DbDataReader? reader = null;
        var finished = false;
        try
        {
            try
            {
                reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (Translate(exception, cancellationToken) is { } translated)
            {
                throw translated;
            }

            while (true)
            {
                bool more;
                try
                {
                    more = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception exception) when (Translate(exception, cancellationToken) is { } translated)
                {
                    throw translated;
                }

                if (!more)
                {
                    break;
                }

                yield return ReadRow(reader);
            }

            finished = true;
        }
        finally
        {
            if (reader is not null)
            {
                await reader.DisposeAsync().ConfigureAwait(false);
            }

            // A read that stopped early (a cancel, a break, an error) leaves no query behind: closing the response
            // alone does not stop a server's statement unless it is told to.
            if (!finished)
            {
                await KillAsync(command.QueryId).ConfigureAwait(false);
            }
        }
    }

    public Task<QueryStatistics> InsertJsonEachRowAsync(
        string table, ReadOnlyMemory<byte> rows, string? deduplicationToken, CancellationToken cancellationToken = default) =>
        InsertAsync(table, [], InsertFormats.JsonEachRow, rows, deduplicationToken, cancellationToken);

    public async Task<QueryStatistics> InsertAsync(
        string table,
        IReadOnlyList<string> columns,
        string format,
        ReadOnlyMemory<byte> rows,
        string? deduplicationToken,
        CancellationToken cancellationToken = default)
    {
        var text = $"{InsertFormats.InsertText(table, columns, deduplicationToken, limits.Settings)} FORMAT {InsertFormats.Require(format)}";
        using var connection = Connect();
        var stream = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(rows, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(rows.ToArray(), writable: false);
        await using (stream.ConfigureAwait(false))
        {
            var queryId = Guid.NewGuid().ToString();
            try
            {
                using var response = await connection.PostStreamAsync(text, stream, false, cancellationToken, queryId).ConfigureAwait(false);
                response.EnsureSuccessStatusCode();
            }
            catch (Exception exception) when (Translate(exception, cancellationToken) is { } translated)
            {
                throw translated;
            }
        }

        return QueryStatistics.Empty;
    }

    public ValueTask DisposeAsync()
    {
        httpClient.Dispose();
        return ValueTask.CompletedTask;
    }

    private static object?[] ReadRow(DbDataReader reader)
    {
        var row = new object?[reader.FieldCount];
        for (var i = 0; i < row.Length; i++)
        {
            row[i] = ClickHouseTypes.Normalize(reader.GetValue(i));
        }

        return row;
    }

    private static QueryStatistics Statistics(QueryStats? stats) =>
        stats is null ? QueryStatistics.Empty : new QueryStatistics((ulong)Math.Max(0, stats.ReadRows), (ulong)Math.Max(0, stats.ReadBytes), TimeSpan.FromTicks(stats.ElapsedNs / 100), (ulong)Math.Max(0, stats.WrittenRows));

    private static Exception? Translate(Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        if (exception is ClickHouseServerException server)
        {
            return ClickHouseException.FromEngineText(server.Message, server) is { Code: not 0 } parsed
                ? parsed
                : new ClickHouseException(server.ErrorCode, string.Empty, server.Message, server);
        }

        if (exception is HttpRequestException http)
        {
            return ClickHouseException.Unavailable(ClickHouseException.NetworkError, "NETWORK_ERROR", $"The ClickHouse server could not be reached: {http.Message}", http);
        }

        return null;
    }

    private ClickHouseConnection Connect() => new(connectionString, httpClient);

    private ClickHouseCommand CreateCommand(ClickHouseConnection connection, SqlStatement statement)
    {
        statement = FormFieldLimit.Split(statement);
        var command = connection.CreateCommand(statement.Text);
        command.QueryId = Guid.NewGuid().ToString();
        foreach (var (name, value) in limits.ToSettings())
        {
            command.CustomSettings[name] = value;
        }

        command.CustomSettings["cancel_http_readonly_queries_on_client_close"] = "1";
        foreach (var parameter in statement.Parameters)
        {
            command.Parameters.Add(new ClickHouseDbParameter
            {
                ParameterName = parameter.Name,
                ClickHouseType = parameter.ClickHouseType,
                Value = DriverValue(parameter.Value),
            });
        }

        return command;
    }

    /// <summary>The driver formats typed arrays; our statements may carry object lists.</summary>
    private static object? DriverValue(object? value) => value switch
    {
        null => DBNull.Value,
        string or Array => value,
        IEnumerable<string> strings => strings.ToArray(),
        System.Collections.IEnumerable sequence => sequence.Cast<object?>().ToArray(),
        _ => value,
    };

    private async Task<T> RunWithKillAsync<T>(string queryId, Func<Task<T>> run, CancellationToken cancellationToken)
    {
        try
        {
            return await run().ConfigureAwait(false);
        }
        catch (Exception exception) when (Translate(exception, cancellationToken) is { } translated)
        {
            throw translated;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await KillAsync(queryId).ConfigureAwait(false);
            throw;
        }
    }

    private async Task KillAsync(string queryId)
    {
        try
        {
            using var connection = Connect();
            using var command = connection.CreateCommand("KILL QUERY WHERE query_id = {id:String} ASYNC");
            command.Parameters.Add(new ClickHouseDbParameter { ParameterName = "id", ClickHouseType = "String", Value = queryId });
            await command.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Best effort: the server also stops read-only queries when the client goes away.
        }
    }
}
