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
        try
        {
            await using var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
            {
                Command = "dotnet",
                Arguments = [HostProcess.AssemblyPath, "serve", "--company", "demo", "--data", data, "--evaluate-every", "0"],
                Name = "segmentmcp",
            }));
            var tools = await client.ListToolsAsync();
            Assert.Equal(McpServerTests.ToolNames, tools.Select(t => t.Name).Order(StringComparer.Ordinal));

            var result = await client.CallToolAsync("describe_schema", new Dictionary<string, object?>());
            Assert.False(result.IsError ?? false);
            var schema = JsonNode.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text)!;
            Assert.Equal("demo", (string?)schema["tenant"]);
            Assert.Equal(0, (long)schema["events"]!);
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
    public async Task Usage_errors_go_to_stderr_with_exit_code_2()
    {
        var (exitCode, output, error) = await HostProcess.RunAsync(null, "serve", "--http");
        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.Contains("--keys", error, StringComparison.Ordinal);
    }
}
