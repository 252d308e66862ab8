using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Mcp;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Mcp;

/// <summary>
/// JSON-RPC written by hand over Streamable HTTP, for what a well-behaved client library cannot even send: strings that
/// are not valid Unicode (a lone UTF-16 surrogate escape).
/// </summary>
[Trait("Category", "Engine")]
public sealed class McpRawProtocolTests : IAsyncLifetime
{
    private const string Key = "raw-key-0123456789abcdef";
    private readonly HttpClient http = new();
    private WebApplication app = null!;
    private string url = null!;
    private string? session;

    public async Task InitializeAsync()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine, "mcp_raw");
        await McpTestData.SeedAsync(engine, schema, "acme", string.Empty);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        url = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        listener.Stop();
        app = ServeCommand.BuildHttpApp(engine, schema, ApiKeys.Parse($"{Key} acme", "keys"), url, new EvaluatorOptions { EvaluateEverySeconds = 0 }, McpTestData.PromptsDirectory());
        await app.StartAsync();
        await SendAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}""");
        await SendAsync("""{"jsonrpc":"2.0","method":"notifications/initialized"}""");
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }

    [Theory]
    [InlineData("get_segment", """{"segment_id": "a\ud800b"}""", "segment_id: not valid Unicode text")]
    [InlineData("get_profile", """{"profile_id": "\udc00"}""", "profile_id: not valid Unicode text")]
    [InlineData("segment_overlap", """{"segment_ids": ["a", "\ud83d"]}""", "segment_ids[1]: not valid Unicode text")]
    [InlineData("preview_segment", """{"definition": {"name": "x\udc00", "condition": {"property": {"name": "city", "op": "is_set"}}}}""", "definition.name: not valid Unicode text")]
    [InlineData("preview_segment", """{"definition": {"name": "x", "condition": {"property": {"name": "c\ud800", "op": "is_set"}}}}""", "definition.condition.property.name: not valid Unicode text")]
    public async Task Invalid_unicode_in_arguments_is_a_tool_error_naming_the_argument(string tool, string arguments, string expected)
    {
        var response = await SendAsync("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"" + tool + "\",\"arguments\":" + arguments + "}}");
        var result = response!["result"]!;
        Assert.True((bool)result["isError"]!);
        Assert.StartsWith(expected, (string)result["content"]![0]!["text"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_segment_resource_is_invalid_params_with_the_uri_in_data()
    {
        var response = await SendAsync("""{"jsonrpc":"2.0","id":8,"method":"resources/read","params":{"uri":"segmentmcp://segments/no-such-segment"}}""");
        var error = response!["error"]!;
        Assert.Equal(-32602, (int)error["code"]!);
        Assert.Equal("segmentmcp://segments/no-such-segment", (string?)error["data"]?["uri"]);
    }

    private async Task<JsonNode?> SendAsync(string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Key);
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (session is not null)
        {
            request.Headers.Add("Mcp-Session-Id", session);
        }

        using var response = await http.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        if (response.Headers.TryGetValues("Mcp-Session-Id", out var ids))
        {
            session = ids.First();
        }

        var text = await response.Content.ReadAsStringAsync();
        if (text.Length == 0)
        {
            return null;
        }

        // A server-sent event stream carries the JSON-RPC response in a data line; a JSON body is the response itself.
        var data = text.Split('\n').Where(l => l.StartsWith("data:", StringComparison.Ordinal)).Select(l => l[5..].Trim()).LastOrDefault(l => l.Length > 0);
        return JsonNode.Parse(data ?? text);
    }
}
