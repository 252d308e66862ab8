using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Mcp;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Mcp;

/// <summary>
/// <c>serve --http --conformance-fixtures</c> without keys: the suite's fixtures sit next to the product's tools,
/// resources and prompts, every call acts as the one tenant, and the CLI refuses it anywhere but loopback.
/// </summary>
[Trait("Category", "Engine")]
public sealed class McpConformanceFixturesTests : IAsyncLifetime
{
    private WebApplication app = null!;
    private string url = null!;

    public async Task InitializeAsync()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine, "mcp_fixtures");
        await McpTestData.SeedAsync(engine, schema, "acme", string.Empty);
        url = $"http://127.0.0.1:{FreePort()}";
        app = ServeCommand.BuildHttpApp(
            engine, schema, keys: null, url, new EvaluatorOptions { EvaluateEverySeconds = 0 }, McpTestData.PromptsDirectory(), company: "acme", conformanceFixtures: true);
        await app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    [Fact]
    public async Task Fixtures_are_served_next_to_the_product_for_the_one_tenant()
    {
        await using var client = await ConnectAsync();

        var tools = (await client.ListToolsAsync()).Select(t => t.Name).ToList();
        Assert.Contains("describe_schema", tools);
        Assert.Contains("test_simple_text", tools);
        Assert.Contains("json_schema_2020_12_tool", tools);
        var schema = await client.CallToolAsync("describe_schema", McpPipeServer.Arguments(new { }));
        Assert.Equal("acme", (string?)JsonNode.Parse(Assert.IsType<TextContentBlock>(Assert.Single(schema.Content)).Text)!["tenant"]);
        Assert.True((await client.CallToolAsync("test_error_handling")).IsError);

        // The product's prompts come from its own list/get handlers; the SDK adds the fixtures' to both.
        var prompts = (await client.ListPromptsAsync()).Select(p => p.Name).ToList();
        Assert.Contains("build_segment", prompts);
        Assert.Contains("test_prompt_with_arguments", prompts);
        var prompt = await client.GetPromptAsync("test_prompt_with_arguments", new Dictionary<string, object?> { ["arg1"] = "hello", ["arg2"] = "world" });
        Assert.Equal("Prompt with arguments: arg1='hello', arg2='world'", Assert.IsType<TextContentBlock>(Assert.Single(prompt.Messages).Content).Text);
        var product = await client.GetPromptAsync("build_segment", new Dictionary<string, object?> { ["goal"] = "people in Boston" });
        Assert.Contains("Boston", Assert.IsType<TextContentBlock>(Assert.Single(product.Messages).Content).Text, StringComparison.Ordinal);

        var resources = (await client.ListResourcesAsync()).Select(r => r.Uri).ToList();
        Assert.Contains("segmentmcp://schema", resources);
        Assert.Contains("test://static-text", resources);
        var template = await client.ReadResourceAsync("test://template/123/data");
        Assert.Equal("123", (string?)JsonNode.Parse(Assert.IsType<TextResourceContents>(Assert.Single(template.Contents)).Text)!["id"]);
        await client.SubscribeToResourceAsync("test://watched-resource");
        await client.UnsubscribeFromResourceAsync("test://watched-resource");
    }

    [Fact]
    public async Task Elicitation_reaches_the_client_over_a_2025_11_25_session()
    {
        ElicitRequestParams? asked = null;
        await using var client = await ConnectAsync(new McpClientHandlers
        {
            ElicitationHandler = (request, _) =>
            {
                asked = request;
                return ValueTask.FromResult(new ElicitResult
                {
                    Action = "accept",
                    Content = new Dictionary<string, JsonElement> { ["username"] = JsonSerializer.SerializeToElement("ada"), ["email"] = JsonSerializer.SerializeToElement("ada@example.com") },
                });
            },
        });

        var result = await client.CallToolAsync("test_elicitation", McpPipeServer.Arguments(new { message = "Who are you?" }));

        Assert.Equal("Who are you?", asked?.Message);
        Assert.Contains("ada@example.com", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("serve", "--http", "--data", "DATA")]
    [InlineData("serve", "--http", "--conformance-fixtures", "--urls", "http://0.0.0.0:3001", "--data", "DATA")]
    [InlineData("serve", "--http", "--conformance-fixtures", "--urls", "http://127.0.0.1:3001;http://10.0.0.5:3001", "--data", "DATA")]
    [InlineData("serve", "--http", "--conformance-fixtures", "--allowed-hosts", "*", "--data", "DATA")]
    [InlineData("serve", "--http", "--conformance-fixtures", "--allowed-hosts", "https://mcp.example.com", "--data", "DATA")]
    [InlineData("serve", "--conformance-fixtures", "--data", "DATA")]
    [InlineData("serve", "--allowed-hosts", "mcp.example.com", "--data", "DATA")]
    public async Task Unsafe_or_malformed_serve_flags_exit_2(params string[] arguments)
    {
        var data = Path.Combine(Path.GetTempPath(), "segmentmcp-serve-usage-" + Guid.NewGuid().ToString("N"));
        var run = await HostProcess.RunAsync(null, [.. arguments.Select(a => a == "DATA" ? data : a)]);

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("segmentmcp serve: ", run.StandardError, StringComparison.Ordinal);
        Assert.False(Directory.Exists(data), "a usage error must not open the engine");
    }

    private async Task<McpClient> ConnectAsync(McpClientHandlers? handlers = null) =>
        await McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions { Endpoint = new Uri(url) }),
            new McpClientOptions { ProtocolVersion = "2025-11-25", Handlers = handlers ?? new McpClientHandlers() });

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
