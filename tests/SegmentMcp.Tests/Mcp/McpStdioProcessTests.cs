using System.Diagnostics;
using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Mcp;

/// <summary>The real executable over stdio, as an assistant starts it: initialize, list tools, call one, stderr-only logs.</summary>
[Trait("Category", "Engine")]
public sealed class McpStdioProcessTests
{
    [Fact]
    public async Task The_built_server_answers_over_stdio()
    {
        var data = Path.Combine(Path.GetTempPath(), "segmentmcp-stdio-tests", Guid.NewGuid().ToString("N"));
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        try
        {
            await using var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
            {
                Command = "dotnet",
                Arguments = [HostProcess.AssemblyPath, "serve", "--company", "demo", "--data", data, "--evaluate-every", "0"],
                Name = "segmentmcp",
                StandardErrorLines = errors.Enqueue,
            }));
            var tools = await client.ListToolsAsync();
            Assert.Equal(McpServerTests.ToolNames, tools.Select(t => t.Name).Order(StringComparer.Ordinal));

            var result = await client.CallToolAsync("describe_schema", new Dictionary<string, object?>());
            Assert.False(result.IsError ?? false);
            var schema = JsonNode.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text)!;
            Assert.Equal("demo", (string?)schema["tenant"]);
            Assert.Equal(0, (long)schema["events"]!);
            Assert.StartsWith("This workspace ('demo') has no profiles or events yet, so no segment can have members.", (string?)schema["note"], StringComparison.Ordinal);
            Assert.Contains("import_file loads a CSV, NDJSON or JSON file", (string?)schema["note"], StringComparison.Ordinal);

            // Which tenant and which data, on standard error, for the client's log.
            Assert.Contains($"segmentmcp serve: MCP over stdio for company 'demo' on the embedded engine at {data}, database segmentmcp", errors);
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    [Fact]
    public async Task A_data_directory_another_process_holds_is_named_to_the_model_and_used_once_free()
    {
        using var directory = new TemporaryDirectory();
        var data = Path.Combine(directory.Path, "data");
        ServerProcess? holder = await ServerProcess.StartAsync(dataPath: data);
        var holderId = holder.ProcessId;
        try
        {
            await using var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
            {
                Command = "dotnet",
                Arguments = [HostProcess.AssemblyPath, "serve", "--company", "demo", "--data", data, "--evaluate-every", "0"],
                Name = "segmentmcp",
            }));

            // The server stays up and tells the model what holds the directory, rather than exiting under the client.
            var refused = await client.CallToolAsync("list_segments", new Dictionary<string, object?>());
            Assert.True(refused.IsError);
            var text = Assert.IsType<TextContentBlock>(Assert.Single(refused.Content)).Text;
            Assert.StartsWith($"The segment database is not available: The embedded data directory '{data}' is in use by process {holderId} (", text, StringComparison.Ordinal);
            Assert.Contains("clickhouse-server --data", text, StringComparison.Ordinal);
            var resource = await Assert.ThrowsAnyAsync<ModelContextProtocol.McpException>(async () => await client.ReadResourceAsync("segmentmcp://schema"));
            Assert.Contains($"is in use by process {holderId} (", resource.Message, StringComparison.Ordinal);

            // Once the other process has let go, a later call opens the directory without restarting anything.
            await holder.DisposeAsync();
            holder = null;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            CallToolResult answered;
            do
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
                answered = await client.CallToolAsync("list_segments", new Dictionary<string, object?>());
            }
            while ((answered.IsError ?? false) && DateTime.UtcNow < deadline);

            var listed = Assert.IsType<TextContentBlock>(Assert.Single(answered.Content)).Text;
            Assert.False(answered.IsError ?? false, listed);
            Assert.Empty(JsonNode.Parse(listed)!["segments"]!.AsArray());
        }
        finally
        {
            if (holder is not null)
            {
                await holder.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task The_http_server_says_where_it_listens_and_reads_no_configuration_from_its_working_directory()
    {
        using var directory = new TemporaryDirectory();
        var keys = Path.Combine(directory.Path, "keys.txt");
        await File.WriteAllTextAsync(keys, "a-long-random-key-for-acme-0001 acme\n");
        // A configuration file the server must not read (it would move it to port 1), beside a tree it must not watch.
        await File.WriteAllTextAsync(Path.Combine(directory.Path, "appsettings.json"), """{ "Urls": "http://127.0.0.1:1", "Kestrel": { "Endpoints": { "Http": { "Url": "http://127.0.0.1:1" } } } }""");
        for (var i = 0; i < 200; i++)
        {
            Directory.CreateDirectory(Path.Combine(directory.Path, "tree", $"d{i}", "e", "f"));
        }

        var info = HostProcess.StartInfo(
            "serve", "--http", "--urls", "http://127.0.0.1:0", "--keys", keys, "--data", Path.Combine(directory.Path, "data"), "--evaluate-every", "0");
        info.WorkingDirectory = directory.Path;
        info.RedirectStandardInput = true;
        using var process = Process.Start(info)!;
        try
        {
            string? line;
            do
            {
                line = await process.StandardError.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            }
            while (line is not null && !line.StartsWith("segmentmcp serve: MCP over Streamable HTTP at ", StringComparison.Ordinal));

            Assert.NotNull(line);
            var match = System.Text.RegularExpressions.Regex.Match(line, @"at (http://127\.0\.0\.1:(\d+)/), the tenant of each of 1 bearer key\(s\)$");
            Assert.True(match.Success, line);
            Assert.NotEqual("0", match.Groups[2].Value);

            using var http = new HttpClient();
            using var response = await http.PostAsync(new Uri(match.Groups[1].Value), new StringContent("{}"));
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task A_port_in_use_is_one_line_and_exit_code_1()
    {
        using var directory = new TemporaryDirectory();
        var keys = Path.Combine(directory.Path, "keys.txt");
        await File.WriteAllTextAsync(keys, "a-long-random-key-for-acme-0001 acme\n");
        using var taken = new TakenPort();
        var port = taken.Port;

        var (exitCode, output, error) = await HostProcess.RunAsync(
            null, "serve", "--http", "--urls", $"http://127.0.0.1:{port}", "--keys", keys, "--data", Path.Combine(directory.Path, "data"), "--evaluate-every", "0");

        Assert.Equal(1, exitCode);
        Assert.Empty(output);
        Assert.Contains($"segmentmcp serve: Failed to bind to address http://127.0.0.1:{port}: address already in use.", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_errors_go_to_stderr_with_exit_code_2()
    {
        var (exitCode, output, error) = await HostProcess.RunAsync(null, "serve", "--http");
        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.Contains("--keys", error, StringComparison.Ordinal);
    }
}
