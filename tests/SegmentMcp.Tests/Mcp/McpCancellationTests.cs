using System.Globalization;
using System.Text.Json;
using ModelContextProtocol.Client;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Storage.Server;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Mcp;

/// <summary>
/// A client that gives up on a tool call (<c>notifications/cancelled</c>) stops the query it started in the engine,
/// not only its own wait: the engine records the query as cancelled, and the server goes on answering. The tools hand
/// their token to whichever adapter serves them, and both adapters' cancellation is tested in
/// <c>EngineContractTests</c>; this runs on a ClickHouse server with a query log, the record that shows how a query
/// ended (embedded chDB keeps none).
/// </summary>
[Trait("Category", "Engine")]
public sealed class McpCancellationTests
{
    private const string Tenant = "cancelled-calls";

    /// <summary>How the preview's membership query shows in the engine's lists: with the values of its parameters, one of them the last step's URL.</summary>
    private const string Marker = "%'cancelled-calls'%'/p800'%";

    /// <summary>Five steps in order within an hour over each profile's 15,000 page views: about a second of work on 2 cores.</summary>
    private const string SlowDefinition = """
        {"name": "Five pages in order", "condition": {"sequence": {"steps": [
          {"metric": "Page View", "where": [{"name": "url", "op": "eq", "value": "/p0"}]},
          {"metric": "Page View", "where": [{"name": "url", "op": "eq", "value": "/p200"}]},
          {"metric": "Page View", "where": [{"name": "url", "op": "eq", "value": "/p400"}]},
          {"metric": "Page View", "where": [{"name": "url", "op": "eq", "value": "/p600"}]},
          {"metric": "Page View", "where": [{"name": "url", "op": "eq", "value": "/p800"}]}],
          "within_hours": 1}}}
        """;

    [Fact]
    public async Task Cancelling_a_tool_call_cancels_its_query_in_the_engine()
    {
        using var directory = new TemporaryDirectory();
        var config = Path.Combine(directory.Path, "query-log.xml");
        await File.WriteAllTextAsync(config, "<clickhouse><query_log><database>system</database><table>query_log</table></query_log></clickhouse>");
        await using var clickhouse = await ServerProcess.StartAsync(config, Path.Combine(directory.Path, "data"));
        await using var engine = new ClickHouseServerEngine(clickhouse.ConnectionString);
        var schema = await TestEngines.NewSchemaAsync(engine);

        // 3,000,000 page views of 200 profiles, one a second back from now.
        await engine.ExecuteAsync(new SqlStatement(
            $"INSERT INTO {schema.Events} (tenant, metric, profile_id, ts, value, properties) " +
            "SELECT {tenant:String}, 'Page View', concat('u', toString(number % 200)), now64(3) - toIntervalSecond(number + 60), NULL, " +
            "map('url', concat('/p', toString(number % 1000))) FROM numbers(3000000)",
            [new SqlParameter("tenant", "String", Tenant)]));
        await using var server = await McpPipeServer.StartAsync(engine, schema, Tenant);
        var arguments = McpPipeServer.Arguments(new { definition = JsonDocument.Parse(SlowDefinition).RootElement });

        using var giveUp = new CancellationTokenSource();
        var call = server.Client.CallToolAsync("preview_segment", arguments, cancellationToken: giveUp.Token).AsTask();
        Assert.True(await RunningAsync(engine, expected: true, call), "the preview's membership query never showed in system.processes");
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        // The server cancelled it (it would otherwise run to its end): it leaves system.processes, recorded as cancelled.
        Assert.True(await RunningAsync(engine, expected: false, null), "the preview's query still runs 15 seconds after the call was cancelled");
        await engine.ExecuteAsync(new SqlStatement("SYSTEM FLUSH LOGS"));
        var log = await engine.QueryAsync(new SqlStatement(
            "SELECT countIf(exception_code = 394), countIf(type = 'QueryFinish') FROM system.query_log " +
            "WHERE event_date >= yesterday() AND query LIKE {marker:String} AND query NOT LIKE '%system.%' AND query NOT LIKE 'INSERT%' AND type != 'QueryStart'",
            [new SqlParameter("marker", "String", Marker)]));
        Assert.True(Convert.ToInt64(log.Rows[0][0], CultureInfo.InvariantCulture) >= 1, "the membership query was not recorded as cancelled (QUERY_WAS_CANCELLED)");
        Assert.Equal(0L, Convert.ToInt64(log.Rows[0][1], CultureInfo.InvariantCulture));

        // The same server answers the next call.
        var anyone = await server.CallAsync("preview_segment", new { definition = JsonDocument.Parse("""{"name": "Anyone who viewed", "condition": {"event": {"metric": "Page View", "op": "gte", "value": 1}}}""").RootElement });
        Assert.Equal(200, (int)anyone["count"]!);
    }

    /// <summary>Waits (up to 15 s) until the preview's membership query is, or is no longer, running.</summary>
    private static async Task<bool> RunningAsync(IClickHouseEngine engine, bool expected, Task? call)
    {
        for (var attempt = 0; attempt < 1500; attempt++)
        {
            var running = await engine.QueryAsync(new SqlStatement(
                "SELECT count() FROM system.processes WHERE query LIKE {marker:String} AND query NOT LIKE '%system.processes%' AND query NOT LIKE 'INSERT%'",
                [new SqlParameter("marker", "String", Marker)]));
            if (Convert.ToInt64(running.Rows[0][0], CultureInfo.InvariantCulture) > 0 == expected)
            {
                return true;
            }

            if (call is { IsCompleted: true })
            {
                // The call ended before its query was seen: say how, rather than wait.
                await call;
                return false;
            }

            await Task.Delay(10);
        }

        return false;
    }
}
