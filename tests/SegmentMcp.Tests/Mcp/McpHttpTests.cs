using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Mcp;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Mcp;

/// <summary>Streamable HTTP on Kestrel with two tenants' keys: every tool stays inside the caller's tenant, and bad keys get 401.</summary>
[Trait("Category", "Engine")]
public sealed class McpHttpTests : IAsyncLifetime
{
    private const string AcmeKey = "acme-key-0123456789abcdef";
    private const string GlobexKey = "globex-key-0123456789abcdef";
    private WebApplication app = null!;
    private string url = null!;
    private IClickHouseEngine engine = null!;
    private StorageSchema schema = null!;

    public async Task InitializeAsync()
    {
        engine = TestEngines.Embedded;
        schema = await TestEngines.NewSchemaAsync(engine, "mcp_http");
        await McpTestData.SeedAsync(engine, schema, "acme", string.Empty);
        await McpTestData.SeedAsync(engine, schema, "globex", "g-");
        url = $"http://127.0.0.1:{FreePort()}";
        var keys = ApiKeys.Parse($"{AcmeKey} acme\n{GlobexKey} globex\n", "keys");
        app = ServeCommand.BuildHttpApp(engine, schema, keys, url, new EvaluatorOptions { EvaluateEverySeconds = 0 }, McpTestData.PromptsDirectory());
        await app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    [Fact]
    public async Task Missing_or_wrong_keys_get_401()
    {
        using var http = new HttpClient();
        var body = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"tools/list"}""", System.Text.Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync(url, body)).StatusCode);
        using var wrong = new HttpRequestMessage(HttpMethod.Post, url) { Content = body };
        wrong.Headers.Authorization = new("Bearer", "acme-key-0123456789abcdeX");
        var response = await http.SendAsync(wrong);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync("not-a-key-at-all-0000"));
    }

    [Fact]
    public async Task Each_tool_sees_only_the_tenant_of_its_key()
    {
        await using var acme = await ConnectAsync(AcmeKey);
        await using var globex = await ConnectAsync(GlobexKey);

        // Every tool but those that read or write files on the server's machine, which is the user's own only on stdio.
        Assert.Equal(McpServerTests.ToolNames.Where(n => !n.StartsWith("export_", StringComparison.Ordinal) && !n.StartsWith("import_", StringComparison.Ordinal)), (await acme.ListToolsAsync()).Select(t => t.Name).Order(StringComparer.Ordinal));
        var acmeSchema = await CallAsync(acme, "describe_schema", new { });
        var globexSchema = await CallAsync(globex, "describe_schema", new { });
        Assert.Equal("acme", (string?)acmeSchema["tenant"]);
        Assert.Equal("globex", (string?)globexSchema["tenant"]);

        var definition = JsonDocument.Parse(McpTestData.BostonOpeners).RootElement;
        var preview = await CallAsync(globex, "preview_segment", new { definition });
        Assert.All(preview["members"]!.AsArray(), m => Assert.StartsWith("g-", (string?)m, StringComparison.Ordinal));

        var acmeId = (string)(await CallAsync(acme, "create_segment", new { definition }))["segment_id"]!;
        var globexId = (string)(await CallAsync(globex, "create_segment", new { definition }))["segment_id"]!;
        Assert.DoesNotContain((await CallAsync(globex, "list_segments", new { }))["segments"]!.AsArray(), s => (string?)s!["id"] == acmeId);

        // Crossed: globex's key with acme's segment id — every segment tool refuses, nothing leaks or changes.
        foreach (var (tool, arguments) in new (string, object)[]
        {
            ("get_segment", new { segment_id = acmeId }),
            ("count_members", new { segment_id = acmeId }),
            ("list_members", new { segment_id = acmeId }),
            ("membership_changes", new { segment_id = acmeId }),
            ("explain_segment", new { segment_id = acmeId }),
            ("check_membership", new { profile_id = "p1", segment_id = acmeId }),
            ("segment_overlap", new { segment_ids = new[] { acmeId, globexId } }),
            ("update_segment", new { segment_id = acmeId, definition }),
        })
        {
            var result = await globex.CallToolAsync(tool, McpPipeServer.Arguments(arguments));
            Assert.True(result.IsError, $"{tool} with a crossed key should fail");
        }

        Assert.False((bool)(await CallAsync(globex, "delete_segment", new { segment_id = acmeId }))["deleted"]!);
        Assert.Equal(1, (int)(await CallAsync(acme, "get_segment", new { segment_id = acmeId }))["version"]!);
        Assert.True((await globex.CallToolAsync("get_profile", McpPipeServer.Arguments(new { profile_id = "p1" }))).IsError);
        Assert.Equal("Boston", (string?)(await CallAsync(globex, "get_profile", new { profile_id = "g-p1" }))["properties"]!["city"]);
        var refreshed = await CallAsync(globex, "refresh_segments", new { });
        Assert.All(refreshed["segments"]!.AsArray(), s => Assert.NotEqual(acmeId, (string?)s!["segment_id"]));
        var check = await CallAsync(globex, "check_membership", new { profile_id = "p1", definition });
        Assert.False((bool)check["member"]!);

        var catalog = await globex.ReadResourceAsync("segmentmcp://schema");
        Assert.Contains("globex", Assert.IsType<TextResourceContents>(Assert.Single(catalog.Contents)).Text, StringComparison.Ordinal);
        var ids = await globex.CompleteAsync(new ResourceTemplateReference { Uri = "segmentmcp://segments/{id}" }, "id", string.Empty);
        Assert.DoesNotContain(acmeId, ids.Completion.Values);
        Assert.DoesNotContain(await globex.ListResourcesAsync(), r => r.Uri == $"segmentmcp://segments/{acmeId}");
        Assert.Contains(await acme.ListResourcesAsync(), r => r.Uri == $"segmentmcp://segments/{acmeId}");
    }

    [Fact]
    public async Task Listening_streams_each_tenant_the_updates_of_its_own_segments()
    {
        // A client that initializes (up to 2025-11-25) has no stream here to get updates on: none are offered, and
        // resources/subscribe says what works instead.
        await using var legacy = await ConnectAsync(AcmeKey, "2025-11-25");
        Assert.NotEqual(true, legacy.ServerCapabilities.Resources?.Subscribe);
        var refused = await Assert.ThrowsAsync<ModelContextProtocol.McpProtocolException>(() => legacy.SubscribeToResourceAsync("segmentmcp://segments/any"));
        Assert.Contains("subscribe with subscriptions/listen (protocol 2026-07-28), whose own response stream carries the updates", refused.Message, StringComparison.Ordinal);

        // 2026-07-28: the listen request's own response stream carries them, on a stateless server.
        await using var acme = await ConnectAsync(AcmeKey, "2026-07-28");
        await using var globex = await ConnectAsync(GlobexKey, "2026-07-28");
        Assert.True(acme.ServerCapabilities.Resources?.Subscribe);
        var definition = JsonDocument.Parse(McpTestData.Buyers).RootElement;
        var acmeUri = $"segmentmcp://segments/{(string)(await CallAsync(acme, "create_segment", new { definition }))["segment_id"]!}";
        var globexUri = $"segmentmcp://segments/{(string)(await CallAsync(globex, "create_segment", new { definition }))["segment_id"]!}";
        var crossed = await ListenStream.RefusedAsync(globex, new SubscriptionsListenNotifications { ResourceSubscriptions = [acmeUri] });
        Assert.Contains("Resource not found: no saved segment", crossed.Message, StringComparison.Ordinal);

        await using var acmeStream = await ListenStream.OpenAsync(acme, "acme-buyers", new SubscriptionsListenNotifications { ResourceSubscriptions = [acmeUri], ResourcesListChanged = true });
        await using var globexStream = await ListenStream.OpenAsync(globex, "globex-buyers", new SubscriptionsListenNotifications { ResourceSubscriptions = [globexUri], ResourcesListChanged = true });
        Assert.Equal([acmeUri], acmeStream.Granted.ResourceSubscriptions);

        // p2 places an order at acme: acme's next evaluation lets p2 in and tells acme's stream.
        var order = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["tenant"] = "acme",
            ["metric"] = "Placed Order",
            ["profile_id"] = "p2",
            ["ts"] = DateTime.UtcNow.AddMinutes(-1).ToString("yyyy-MM-dd HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture),
            ["value"] = 5,
            ["properties"] = new Dictionary<string, string>(),
        });
        await engine.InsertJsonEachRowAsync(schema.Events, System.Text.Encoding.UTF8.GetBytes(order), null);
        var refreshed = await CallAsync(acme, "refresh_segments", new { });
        Assert.Contains(refreshed["segments"]!.AsArray(), s => $"segmentmcp://segments/{(string?)s!["segment_id"]}" == acmeUri && (int)s["entered"]! == 1);
        var change = await acmeStream.UpdatedAsync(acmeUri);
        Assert.Equal((1L, 0L, false), ((long)change["entered"]!, (long)change["exited"]!, (bool)change["new_version"]!));

        // Globex heard nothing of it: the first thing on its stream is its own list change, which came later.
        await CallAsync(globex, "create_segment", new { definition = JsonDocument.Parse(McpTestData.BostonOpeners).RootElement });
        await globexStream.ListChangedAsync();
    }

    [Fact]
    public async Task A_stopping_server_answers_its_open_listen_requests()
    {
        await using var acme = await ConnectAsync(AcmeKey, "2026-07-28");
        await using var stream = await ListenStream.OpenAsync(acme, "until-stop", new SubscriptionsListenNotifications { ResourcesListChanged = true });

        // Held open, the request would hold up the shutdown until Kestrel gives up on it and cuts it off.
        var stopping = app.StopAsync();
        var answer = await stream.Request.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal("until-stop", answer.Id.ToString());
        await stopping;
    }

    private async Task<McpClient> ConnectAsync(string key, string? protocolVersion = null) =>
        await McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri(url),
                AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + key },
            }),
            new McpClientOptions { ProtocolVersion = protocolVersion });

    private static async Task<JsonNode> CallAsync(McpClient client, string tool, object arguments)
    {
        var result = await client.CallToolAsync(tool, McpPipeServer.Arguments(arguments));
        var text = Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
        Assert.False(result.IsError ?? false, $"{tool} failed: {text}");
        return JsonNode.Parse(text)!;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
