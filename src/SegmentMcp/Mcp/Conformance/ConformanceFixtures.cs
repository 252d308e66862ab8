using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace SegmentMcp.Mcp.Conformance;

/// <summary>
/// <c>serve --http --conformance-fixtures</c> (off by default): the tools, resources and prompts that the MCP
/// conformance suite (<c>@modelcontextprotocol/conformance</c>, run by <c>.ci/conformance</c>) calls by name, served
/// next to the product's own. None of them reads or writes tenant data.
/// </summary>
internal static class ConformanceFixtures
{
    /// <summary>A 1×1 red PNG.</summary>
    public static ReadOnlyMemory<byte> Png { get; } = Convert.FromBase64String("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC");

    /// <summary>One millisecond of silence: 8 samples of 8-bit mono WAV at 8 kHz.</summary>
    public static ReadOnlyMemory<byte> Wav { get; } = Convert.FromBase64String("UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==");

    /// <summary>Adds the fixtures. The SDK merges them with the product's own tools, resources and prompt handlers.</summary>
    public static IMcpServerBuilder WithConformanceFixtures(this IMcpServerBuilder builder) => builder
        .WithTools<ConformanceTools>()
        .WithTools([ConformanceTools.JsonSchema202012Tool()])
        .WithResources<ConformanceResources>()
        .WithPrompts<ConformancePrompts>()
        // The fixtures never change, so a subscription never has an update to deliver: both calls only need to succeed.
        .WithSubscribeToResourcesHandler((request, _) => ValueTask.FromResult(RequireUri(request.Params?.Uri)))
        .WithUnsubscribeFromResourcesHandler((request, _) => ValueTask.FromResult(RequireUri(request.Params?.Uri)));

    private static EmptyResult RequireUri(string? uri) =>
        string.IsNullOrEmpty(uri) ? throw new McpProtocolException("'uri' is required.", McpErrorCode.InvalidParams) : new EmptyResult();
}
