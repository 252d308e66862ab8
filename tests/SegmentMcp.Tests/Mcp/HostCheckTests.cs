using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Mcp;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Mcp;

/// <summary>DNS-rebinding protection: which Host and Origin values pass, and that the HTTP server refuses the rest with 403 before the key check.</summary>
[Trait("Category", "Engine")]
public sealed class HostCheckTests : IAsyncLifetime
{
    private const string Key = "acme-key-0123456789abcdef";
    private const string Initialize = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"host-check-test","version":"1.0.0"}}}""";
    private WebApplication app = null!;
    private string url = null!;
    private int port;

    public async Task InitializeAsync()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine, "mcp_hosts");
        port = FreePort();
        url = $"http://127.0.0.1:{port}";
        var keys = ApiKeys.Parse($"{Key} acme\n", "keys");
        var hosts = HostCheck.Create(url, ["mcp.example.com"]);
        app = ServeCommand.BuildHttpApp(engine, schema, keys, url, new EvaluatorOptions { EvaluateEverySeconds = 0 }, McpTestData.PromptsDirectory(), hosts);
        await app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("LOCALHOST:3001")]
    [InlineData("127.0.0.1:9")]
    [InlineData("[::1]:3001")]
    [InlineData("[::1]")]
    [InlineData("localhost.")]
    [InlineData("mcp.example.com:443")]
    [InlineData("mcp.internal")]
    public void Loopback_bound_and_listed_hosts_pass_on_any_port(string host)
    {
        var check = HostCheck.Create("http://mcp.internal:3001;http://127.0.0.1:3002", ["mcp.example.com", "10.0.0.5"]);

        Assert.True(check.AllowsHost(host));
        Assert.True(check.AllowsOrigin($"https://{host}"));
    }

    [Theory]
    [InlineData("evil.example.com")]
    [InlineData("evil.example.com:3001")]
    [InlineData("127.0.0.1.evil.example.com")]
    [InlineData("localhost.evil.example.com")]
    [InlineData("0.0.0.0:3001")]
    [InlineData("")]
    [InlineData(null)]
    public void Other_hosts_fail(string? host)
    {
        var check = HostCheck.Create("http://0.0.0.0:3001", ["mcp.example.com"]);

        Assert.False(check.AllowsHost(host));
        Assert.False(check.AllowsOrigin($"http://{host}"));
        Assert.DoesNotContain("0.0.0.0", check.Hosts);
    }

    [Fact]
    public void Origin_may_be_absent_but_not_opaque_and_star_allows_anything()
    {
        var check = HostCheck.Create("http://127.0.0.1:3001", []);
        Assert.True(check.AllowsOrigin(null));
        Assert.True(check.AllowsOrigin(string.Empty));
        Assert.False(check.AllowsOrigin("null"));
        Assert.False(check.AllowsOrigin("file:///tmp/page.html"));

        var any = HostCheck.Create("http://0.0.0.0:3001", ["*"]);
        Assert.True(any.AnyHost);
        Assert.True(any.AllowsHost("evil.example.com"));
        Assert.True(any.AllowsOrigin("null"));
    }

    [Theory]
    [InlineData("https://mcp.example.com")]
    [InlineData("mcp.example.com,")]
    [InlineData("*.example.com")]
    [InlineData("bad host")]
    public void Malformed_allowed_hosts_are_refused(string entry) =>
        Assert.Throws<FormatException>(() => HostCheck.Create("http://127.0.0.1:3001", [entry]));

    [Theory]
    [InlineData("http://127.0.0.1:3001", true)]
    [InlineData("http://localhost:3001;http://[::1]:3002", true)]
    [InlineData("http://127.0.0.2:3001", true)]
    [InlineData("http://0.0.0.0:3001", false)]
    [InlineData("http://*:3001", false)]
    [InlineData("http://127.0.0.1:3001;http://10.0.0.5:3001", false)]
    public void Loopback_only_means_every_address(string urls, bool loopback) =>
        Assert.Equal(loopback, HostCheck.IsLoopbackOnly(urls));

    [Theory]
    [InlineData("POST", "evil.example.com", null)]
    [InlineData("GET", "evil.example.com", null)]
    [InlineData("POST", null, "http://evil.example.com")]
    [InlineData("GET", null, "http://evil.example.com")]
    [InlineData("POST", "localhost", "null")]
    [InlineData("DELETE", "evil.example.com", "http://localhost")]
    public async Task Rebinding_attempts_get_403_even_with_a_valid_key(string method, string? host, string? origin)
    {
        foreach (var key in new string?[] { null, Key })
        {
            using var response = await SendAsync(method, host, origin, key);

            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Contains("--allowed-hosts", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("POST", null, null)]
    [InlineData("GET", null, null)]
    [InlineData("POST", "localhost", "http://localhost:5173")]
    [InlineData("GET", "[::1]", null)]
    [InlineData("POST", "mcp.example.com", "https://mcp.example.com")]
    public async Task Allowed_hosts_reach_the_key_check(string method, string? host, string? origin)
    {
        using var response = await SendAsync(method, host, origin, key: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("localhost", "http://localhost")]
    [InlineData("mcp.example.com:443", "https://mcp.example.com")]
    public async Task Allowed_hosts_with_a_key_initialize(string? host, string? origin)
    {
        using var response = await SendAsync("POST", host, origin, Key);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private async Task<HttpResponseMessage> SendAsync(string method, string? host, string? origin, string? key)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (method == "POST")
        {
            request.Content = new StringContent(Initialize, Encoding.UTF8, "application/json");
        }

        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (host is not null)
        {
            // The port stays the real one; the check ignores it.
            request.Headers.Host = host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? host : $"{host}:{port}";
        }

        if (origin is not null)
        {
            request.Headers.TryAddWithoutValidation("Origin", origin);
        }

        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Theory]
    [InlineData("http://127.0.0.1:3001", null)]
    [InlineData("http://127.0.0.1:0", null)]
    [InlineData("http://localhost", null)]
    [InlineData("http://*:3001", null)]
    [InlineData("http://+:3001/", null)]
    [InlineData("http://[::1]:3001", null)]
    [InlineData("http://127.0.0.1:3O01", "a port of digits")]
    [InlineData("http://127.0.0.1:99999", "a port of digits")]
    [InlineData("https://127.0.0.1:3001", "behind a reverse proxy that serves https")]
    [InlineData("ftp://127.0.0.1:3001", "must start with http://")]
    [InlineData("127.0.0.1:3001", "must start with http://")]
    [InlineData("http://127.0.0.1:3001/mcp", "may not have a path")]
    public void A_listen_url_Kestrel_would_misread_is_refused(string url, string? problem)
    {
        var found = HostCheck.ListenProblem(url);

        if (problem is null)
        {
            Assert.Null(found);
        }
        else
        {
            Assert.Contains(problem, found, StringComparison.Ordinal);
        }
    }
}
