using System.IO.Pipelines;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Server;
using SegmentMcp.Mcp;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Mcp;

/// <summary>
/// A listen stream whose client stops reading: publishing to it never waits (an evaluation is not held up by a slow
/// client), and once it is too far behind its subscription ends with an error that says how to catch up.
/// </summary>
[Trait("Category", "Engine")]
public sealed class McpListenBacklogTests
{
    [Fact]
    public async Task A_client_that_stops_reading_holds_up_nothing_and_is_told_it_fell_behind()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSegmentMcpServices(engine, schema, McpTestData.PromptsDirectory());
        services.AddSingleton<ITenantAccessor>(new FixedTenant("acme"));
        var toServer = new Pipe();

        // The client's side of the stream is read here by hand: a small pipe fills as soon as it stops.
        var toClient = new Pipe(new PipeOptions(pauseWriterThreshold: 16_384, resumeWriterThreshold: 8_192));
        services.AddMcpServer().WithStreamServerTransport(toServer.Reader.AsStream(), toClient.Writer.AsStream()).WithSegmentMcp().WithSegmentSubscriptions();
        await using var provider = services.BuildServiceProvider();
        using var stop = new CancellationTokenSource();
        var running = provider.GetRequiredService<McpServer>().RunAsync(stop.Token);
        using var reader = new StreamReader(toClient.Reader.AsStream());
        await using var writer = new StreamWriter(toServer.Writer.AsStream()) { AutoFlush = true };

        await writer.WriteLineAsync("""
            {"jsonrpc": "2.0", "id": "behind", "method": "subscriptions/listen", "params": {"notifications": {"resourcesListChanged": true},
             "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientInfo": {"name": "slow", "version": "1"}, "io.modelcontextprotocol/clientCapabilities": {}}}}
            """.ReplaceLineEndings(" "));
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Assert.Contains("notifications/subscriptions/acknowledged", await reader.ReadLineAsync(wait.Token), StringComparison.Ordinal);

        // Nobody reads now. Three times the backlog is published, and each publication returns at once.
        var subscriptions = provider.GetRequiredService<SegmentSubscriptions>();
        const int published = 3 * SegmentSubscriptions.MaxPendingPerListener;
        for (var i = 0; i < published; i++)
        {
            await subscriptions.SegmentListChangedAsync("acme", null, wait.Token).WaitAsync(TimeSpan.FromSeconds(10));
        }

        // Reading again: what was queued arrives, then the request's error.
        var delivered = 0;
        JsonNode? answer = null;
        while (answer is null)
        {
            var line = JsonNode.Parse(await reader.ReadLineAsync(wait.Token) ?? throw new EndOfStreamException())!;
            if (line["id"] is not null)
            {
                answer = line;
            }
            else
            {
                Assert.Equal("notifications/resources/list_changed", (string?)line["method"]);
                Assert.Equal("behind", (string?)line["params"]!["_meta"]!["io.modelcontextprotocol/subscriptionId"]);
                delivered++;
            }
        }

        Assert.Equal("behind", (string?)answer["id"]);
        Assert.Contains("fell more than 1000 notifications behind and was ended. Listen again, and catch up with membership_changes", (string?)answer["error"]?["message"], StringComparison.Ordinal);
        Assert.InRange(delivered, SegmentSubscriptions.MaxPendingPerListener, published - 1);

        // Ended: nothing more is queued for it.
        await subscriptions.SegmentListChangedAsync("acme", null, wait.Token);
        await writer.WriteLineAsync("""{"jsonrpc": "2.0", "id": 2, "method": "ping", "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientInfo": {"name": "slow", "version": "1"}, "io.modelcontextprotocol/clientCapabilities": {}}}}""");
        var pong = JsonNode.Parse(await reader.ReadLineAsync(wait.Token) ?? throw new EndOfStreamException())!;
        Assert.Equal(2, (int?)pong["id"]);

        await stop.CancelAsync();
        await toServer.Writer.CompleteAsync();
        try
        {
            await running;
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }
}
