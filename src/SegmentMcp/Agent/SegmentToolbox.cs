using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Storage;
using SegmentMcp.Mcp;

namespace SegmentMcp.Agent;

/// <summary>One tool call's outcome as the agent saw it: the tool's text (its JSON result or its error message).</summary>
internal sealed record ToolOutcome(string Tool, bool IsError, string Text, JsonElement? StructuredContent);

/// <summary>
/// The product's MCP server, run in this process for one tenant and reached through an MCP client over in-memory
/// pipes, so the agent calls exactly what an MCP client calls: the same tools, tenant binding
/// (<see cref="FixedTenant"/>), argument guard and error wording. Nothing is listened on.
/// </summary>
internal sealed class SegmentToolbox : IAsyncDisposable
{
    private readonly ServiceProvider provider;
    private readonly Pipe clientToServer;
    private readonly Pipe serverToClient;
    private readonly CancellationTokenSource stop = new();
    private readonly Task serverTask;
    private McpClient client = null!;

    private SegmentToolbox(ServiceProvider provider, string tenant, Pipe clientToServer, Pipe serverToClient)
    {
        this.provider = provider;
        this.clientToServer = clientToServer;
        this.serverToClient = serverToClient;
        Tenant = tenant;
        serverTask = provider.GetRequiredService<McpServer>().RunAsync(stop.Token);
    }

    public string Tenant { get; }

    /// <summary>The tools the agent may use: every read-only tool of the server (nothing it calls changes data).</summary>
    public IReadOnlyList<McpClientTool> ReadOnlyTools { get; private set; } = [];

    public DefinitionService Definitions => provider.GetRequiredService<DefinitionService>();

    public ISegmentStore Store => provider.GetRequiredService<ISegmentStore>();

    public SegmentPrompts Prompts => provider.GetRequiredService<SegmentPrompts>();

    public static async Task<SegmentToolbox> StartAsync(
        IClickHouseEngine engine, StorageSchema schema, string tenant, string? promptsDirectory, CancellationToken cancellationToken)
    {
        var services = new ServiceCollection();

        // Standard output belongs to the answer; the server's own logs are not for the person asking.
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddSegmentMcpServices(engine, schema, promptsDirectory);
        services.AddSingleton<ITenantAccessor>(new FixedTenant(tenant));
        var clientToServer = new Pipe();
        var serverToClient = new Pipe();
        services.AddMcpServer()
            .WithStreamServerTransport(clientToServer.Reader.AsStream(), serverToClient.Writer.AsStream())
            .WithSegmentMcp();
        var toolbox = new SegmentToolbox(services.BuildServiceProvider(), tenant, clientToServer, serverToClient);
        toolbox.client = await McpClient.CreateAsync(
            new StreamClientTransport(clientToServer.Writer.AsStream(), serverToClient.Reader.AsStream()),
            cancellationToken: cancellationToken).ConfigureAwait(false);
        var tools = await toolbox.client.ListToolsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        toolbox.ReadOnlyTools = [.. tools.Where(t => t.ProtocolTool.Annotations?.ReadOnlyHint == true)];
        return toolbox;
    }

    /// <summary>Calls a tool by name as the MCP client would; a tool error is an outcome, not an exception.</summary>
    public async Task<ToolOutcome> CallAsync(string tool, IReadOnlyDictionary<string, object?> arguments, CancellationToken cancellationToken)
    {
        var result = await client.CallToolAsync(tool, arguments, cancellationToken: cancellationToken).ConfigureAwait(false);
        var text = string.Join('\n', result.Content.OfType<TextContentBlock>().Select(b => b.Text));
        return new ToolOutcome(tool, result.IsError ?? false, text, result.StructuredContent);
    }

    public async ValueTask DisposeAsync()
    {
        await client.DisposeAsync().ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        await clientToServer.Writer.CompleteAsync().ConfigureAwait(false);
        await serverToClient.Writer.CompleteAsync().ConfigureAwait(false);
        try
        {
            await serverTask.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The server stops by cancellation.
        }

        await provider.DisposeAsync().ConfigureAwait(false);
        stop.Dispose();
    }
}
