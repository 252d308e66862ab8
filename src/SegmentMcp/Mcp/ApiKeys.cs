using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Mcp;

/// <summary>
/// Bearer keys → tenants, from a file: a JSON object <c>{"KEY": "tenant", …}</c>, or lines <c>KEY TENANT</c>
/// (<c>#</c> starts a comment). Keys are compared by their SHA-256 in constant time; no key is ever logged.
/// </summary>
internal sealed class ApiKeys
{
    private readonly List<(byte[] Hash, string Tenant, int Index)> keys;

    private ApiKeys(List<(byte[] Hash, string Tenant, int Index)> keys)
    {
        this.keys = keys;
    }

    public int Count => keys.Count;

    public static ApiKeys Load(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Parses the text of a keys file; <paramref name="path"/> only names it in errors.</summary>
    public static ApiKeys Parse(string text, string path)
    {
        var pairs = new List<(string Key, string Tenant)>();
        if (text.TrimStart().StartsWith('{'))
        {
            using var document = JsonDocument.Parse(text);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                pairs.Add((property.Name, property.Value.GetString() ?? string.Empty));
            }
        }
        else
        {
            foreach (var raw in text.Split('\n'))
            {
                var line = raw.Split('#', 2)[0].Trim();
                if (line.Length == 0)
                {
                    continue;
                }

                var parts = line.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (parts.Length != 2)
                {
                    throw new InvalidOperationException($"{path}: each line must be 'KEY TENANT', not '{line[..Math.Min(line.Length, 8)]}…'.");
                }

                pairs.Add((parts[0], parts[1]));
            }
        }

        var loaded = new List<(byte[], string, int)>();
        foreach (var (key, tenant) in pairs)
        {
            if (key.Length < 16)
            {
                throw new InvalidOperationException($"{path}: every key must be at least 16 characters (tenant '{tenant}' has a shorter one).");
            }

            Identifiers.RequireToken(tenant);
            loaded.Add((Hash(key), tenant, loaded.Count));
        }

        return loaded.Count == 0 ? throw new InvalidOperationException($"{path}: no keys.") : new ApiKeys(loaded);
    }

    /// <summary>The tenant of a presented key, or null.</summary>
    public (string Tenant, int Index)? Find(string presented)
    {
        var hash = Hash(presented);
        (string, int)? found = null;
        foreach (var (expected, tenant, index) in keys)
        {
            if (CryptographicOperations.FixedTimeEquals(expected, hash))
            {
                found = (tenant, index);
            }
        }

        return found;
    }

    /// <summary>Middleware: a valid <c>Authorization: Bearer KEY</c> makes the request's user carry the tenant; anything else is 401.</summary>
    public RequestDelegate Authenticate(RequestDelegate next) => async context =>
    {
        var header = context.Request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        var match = header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) ? Find(header[Scheme.Length..].Trim()) : null;
        if (match is not { } found)
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await context.Response.WriteAsync(header.Length == 0 ? "Missing bearer key." : "Unknown bearer key.", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        context.User = new ClaimsPrincipal(new ClaimsIdentity(
            [
                new Claim(HttpTenant.ClaimType, found.Tenant),
                new Claim(ClaimTypes.NameIdentifier, $"key-{found.Index}"),
                new Claim(ClaimTypes.Name, found.Tenant),
            ],
            authenticationType: "Bearer"));
        await next(context).ConfigureAwait(false);
    };

    private static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));
}
