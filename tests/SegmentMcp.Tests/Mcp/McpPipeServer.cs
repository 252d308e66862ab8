using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.Storage;
using SegmentMcp.Mcp;

namespace SegmentMcp.Tests.Mcp;

/// <summary>The real server wiring (<see cref="SegmentMcpServer"/>) and an MCP client, connected in-process over two pipes.</summary>
public sealed class McpPipeServer : IAsyncDisposable
{
    private readonly Pipe clientToServer;
    private readonly Pipe serverToClient;
    private readonly CancellationTokenSource stop = new();
    private readonly ServiceProvider provider;
    private readonly Task serverTask;

    private McpPipeServer(ServiceProvider provider, Pipe clientToServer, Pipe serverToClient)
    {
        this.provider = provider;
        this.clientToServer = clientToServer;
        this.serverToClient = serverToClient;
        serverTask = provider.GetRequiredService<McpServer>().RunAsync(stop.Token);
    }

    public McpClient Client { get; private set; } = null!;

    public static async Task<McpPipeServer> StartAsync(IClickHouseEngine engine, StorageSchema schema, string tenant, McpClientOptions? clientOptions = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSegmentMcpServices(engine, schema, McpTestData.PromptsDirectory());
        services.AddSingleton<ITenantAccessor>(new FixedTenant(tenant));
        var clientToServer = new Pipe();
        var serverToClient = new Pipe();
        services.AddMcpServer()
            .WithStreamServerTransport(clientToServer.Reader.AsStream(), serverToClient.Writer.AsStream())
            .WithSegmentMcp()
            .WithSegmentSubscriptions()
            .WithLocalFileTools();
        var server = new McpPipeServer(services.BuildServiceProvider(), clientToServer, serverToClient);
        server.Client = await McpClient.CreateAsync(new StreamClientTransport(clientToServer.Writer.AsStream(), serverToClient.Reader.AsStream()), clientOptions);
        return server;
    }

    /// <summary>Calls a tool that must succeed; returns its structured content after checking the text block carries the same JSON.</summary>
    public async Task<JsonNode> CallAsync(string tool, object? arguments = null, IProgress<ProgressNotificationValue>? progress = null)
    {
        var result = await Client.CallToolAsync(tool, Arguments(arguments), progress);
        var text = Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
        Assert.False(result.IsError ?? false, $"{tool} failed: {text}");
        var structured = JsonSerializer.SerializeToNode(result.StructuredContent)!;
        Assert.True(JsonNode.DeepEquals(structured, JsonNode.Parse(text)), $"{tool}: text and structured content differ");
        return structured;
    }

    /// <summary>Calls a tool that must fail as a tool error; returns the error text.</summary>
    public async Task<string> FailAsync(string tool, object? arguments = null)
    {
        var result = await Client.CallToolAsync(tool, Arguments(arguments));
        Assert.True(result.IsError, $"{tool} should have failed");
        var text = Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("SELECT", text, StringComparison.Ordinal);
        return text;
    }

    public static Dictionary<string, object?> Arguments(object? arguments) =>
        arguments is null
            ? []
            : JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(JsonSerializer.Serialize(arguments))!
                .ToDictionary(p => p.Key, p => (object?)p.Value);

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await stop.CancelAsync();
        clientToServer.Writer.Complete();
        serverToClient.Writer.Complete();
        try
        {
            await serverTask;
        }
        catch (OperationCanceledException)
        {
        }

        await provider.DisposeAsync();
        stop.Dispose();
    }
}
