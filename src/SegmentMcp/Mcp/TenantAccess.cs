using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using ModelContextProtocol;

namespace SegmentMcp.Mcp;

/// <summary>The tenant a call acts for. It comes from how the server was started (stdio) or from the caller's key (HTTP), never from a tool argument.</summary>
internal interface ITenantAccessor
{
    string Tenant { get; }
}

/// <summary>stdio: one tenant for the whole process (<c>--company</c>).</summary>
internal sealed class FixedTenant(string tenant) : ITenantAccessor
{
    public string Tenant { get; } = tenant;
}

/// <summary>HTTP: the tenant claim that <see cref="ApiKeyAuthentication"/> put on the request's user.</summary>
internal sealed class HttpTenant(IHttpContextAccessor accessor) : ITenantAccessor
{
    public const string ClaimType = "segmentmcp:tenant";

    public string Tenant =>
        accessor.HttpContext?.User.FindFirstValue(ClaimType)
        ?? throw new McpException("This request carries no valid API key; send 'Authorization: Bearer KEY'.");
}
