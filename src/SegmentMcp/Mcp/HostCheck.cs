using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SegmentMcp.Mcp;

/// <summary>
/// DNS-rebinding protection for the HTTP transport, as the MCP transport spec requires: a request whose <c>Host</c>,
/// or <c>Origin</c> when it has one, names anything but localhost, 127.0.0.1, [::1], a host of <c>--urls</c> or an
/// <c>--allowed-hosts</c> entry gets 403 before anything else runs. Ports are ignored. A wildcard bind (0.0.0.0, *, +,
/// [::]) adds no name, because the names clients use for it are unknown: list them with <c>--allowed-hosts</c>.
/// <c>--allowed-hosts '*'</c> turns the check off, for a reverse proxy that checks the host itself.
/// </summary>
internal sealed class HostCheck
{
    private static readonly string[] Loopback = ["localhost", "127.0.0.1", "::1"];

    private readonly HashSet<string> allowed;

    private HostCheck(HashSet<string> allowed, bool anyHost)
    {
        this.allowed = allowed;
        AnyHost = anyHost;
    }

    /// <summary>True when <c>--allowed-hosts '*'</c> turned the check off.</summary>
    public bool AnyHost { get; }

    /// <summary>The allowed names (no port, no IPv6 brackets), compared ignoring case.</summary>
    public IReadOnlyCollection<string> Hosts => allowed;

    /// <summary>
    /// Loopback, the hosts of <paramref name="urls"/> (Kestrel's <c>;</c>-separated list) and <paramref name="extra"/>
    /// (each entry may itself be a comma-separated list). Throws <see cref="FormatException"/> naming a bad entry.
    /// </summary>
    public static HostCheck Create(string urls, IEnumerable<string> extra)
    {
        var allowed = new HashSet<string>(Loopback, StringComparer.OrdinalIgnoreCase);
        foreach (var host in BoundHosts(urls))
        {
            if (!IsWildcard(host))
            {
                allowed.Add(host);
            }
        }

        var anyHost = false;
        foreach (var entry in extra.SelectMany(e => e.Split(',', StringSplitOptions.TrimEntries)))
        {
            if (entry == "*")
            {
                anyHost = true;
                continue;
            }

            var host = entry.Contains("://", StringComparison.Ordinal) ? null : Normalize(entry);
            if (host is null || host.Length == 0 || host.Contains('*', StringComparison.Ordinal) || Uri.CheckHostName(host) == UriHostNameType.Unknown)
            {
                throw new FormatException($"'{entry}' is not a host name (for example mcp.example.com, 10.0.0.5 or [fd00::5]; a port is ignored; '*' alone allows any host)");
            }

            allowed.Add(host);
        }

        return new HostCheck(allowed, anyHost);
    }

    /// <summary>The hosts of Kestrel's <c>;</c>-separated <c>--urls</c>, normalized; wildcards stay as written.</summary>
    public static IEnumerable<string> BoundHosts(string urls) =>
        urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(BindingAddress.Parse)
            .Where(address => !address.IsUnixPipe)
            .Select(address => Normalize(address.Host) ?? address.Host);

    /// <summary>True when every address of <paramref name="urls"/> is loopback (localhost, 127.0.0.0/8, [::1]).</summary>
    public static bool IsLoopbackOnly(string urls)
    {
        var hosts = BoundHosts(urls).ToList();
        return hosts.Count > 0 && hosts.All(h =>
            string.Equals(h, "localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(h, out var ip) && IPAddress.IsLoopback(ip)));
    }

    /// <summary>Whether a <c>Host</c> header value (port ignored) is allowed.</summary>
    public bool AllowsHost(string? hostHeader) =>
        AnyHost || (Normalize(hostHeader) is { Length: > 0 } host && allowed.Contains(host));

    /// <summary>Whether an <c>Origin</c> header value is allowed: absent, or a URL whose host is allowed. <c>null</c> (opaque origins) is not.</summary>
    public bool AllowsOrigin(string? origin) =>
        AnyHost || string.IsNullOrEmpty(origin)
        || (Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.Host.Length > 0 && allowed.Contains(Normalize(uri.Host)!));

    /// <summary>Middleware: 403 with a JSON-RPC error body for a disallowed Host or Origin; otherwise the next step.</summary>
    public RequestDelegate Check(RequestDelegate next) => async context =>
    {
        var request = context.Request;
        var origin = request.Headers.Origin.ToString();
        string? refused = !AllowsHost(request.Host.Value) ? $"Host {(request.Host.HasValue ? request.Host.Value : "(none)")}"
            : !AllowsOrigin(origin) ? $"Origin {origin}"
            : null;
        if (refused is null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        context.RequestServices.GetService<ILoggerFactory>()?.CreateLogger<HostCheck>()
            .LogInformation("Refused a request from {Remote} with {Refused}: not an allowed host (DNS-rebinding protection; see --allowed-hosts).", context.Connection.RemoteIpAddress, refused);
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        context.Response.ContentType = "application/json";
        // The body is a JSON-RPC error, as MCP clients expect from the endpoint.
        var body = new JsonObject
        {
            ["jsonrpc"] = "2.0",
            ["error"] = new JsonObject
            {
                ["code"] = -32000,
                ["message"] = $"Forbidden: {refused} does not name a host this server allows (DNS-rebinding protection; start the server with --allowed-hosts NAME to accept another name).",
            },
            ["id"] = null,
        };
        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted).ConfigureAwait(false);
    };

    /// <summary>The host without port, IPv6 brackets or a trailing dot; null for nothing.</summary>
    private static string? Normalize(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        // HostString drops a port and understands [v6]:port as well as a bare v6 address.
        var host = new HostString(value.Trim()).Host.TrimEnd('.');
        return host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
    }

    /// <summary>
    /// Why Kestrel would not listen where <paramref name="url"/> says, or null: the http scheme and a port of digits
    /// (or none: 80), with the wildcards <c>*</c> and <c>+</c> allowed as the host.
    /// </summary>
    public static string? ListenProblem(string url)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        var scheme = schemeEnd < 0 ? "" : url[..schemeEnd];
        if (scheme.Equals("https", StringComparison.OrdinalIgnoreCase))
        {
            return "asks for TLS, which the server does not terminate itself: listen on http:// (loopback) behind a reverse proxy that serves https";
        }

        if (!scheme.Equals("http", StringComparison.OrdinalIgnoreCase))
        {
            return "must start with http://";
        }

        var rest = url[(schemeEnd + 3)..];
        var hostAndPort = rest.StartsWith('*') || rest.StartsWith('+') ? "localhost" + rest[1..] : rest;
        if (!Uri.TryCreate($"{scheme}://{hostAndPort}", UriKind.Absolute, out var parsed) || parsed.Host.Length == 0)
        {
            return "is not a URL a server can listen on: a host and a port of digits, e.g. http://127.0.0.1:3001";
        }

        if (parsed.AbsolutePath != "/" || parsed.Query.Length > 0)
        {
            return "may not have a path or query: MCP answers at the root, e.g. http://127.0.0.1:3001";
        }

        return null;
    }

    private static bool IsWildcard(string host) => host is "*" or "+" or "0.0.0.0" or "::";
}
