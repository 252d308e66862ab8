using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Mcp;

/// <summary>
/// Bearer keys → tenants, from a file: a JSON object <c>{"KEY": "tenant", …}</c>, or lines <c>KEY TENANT</c>
/// (<c>#</c> starts a comment). Keys are compared by their SHA-256 in constant time; no key is ever logged. A tenant
/// follows <see cref="TenantId"/>'s rule, as everywhere; on a line it is the rest after the key, trimmed, so a tenant
/// with a <c>#</c> or with spaces at its ends needs the JSON form.
/// </summary>
internal sealed class ApiKeys
{
    private readonly List<(byte[] Hash, string Tenant, int Index)> keys;

    private ApiKeys(List<(byte[] Hash, string Tenant, int Index)> keys)
    {
        this.keys = keys;
    }

    public int Count => keys.Count;

    /// <summary>The tenants the keys give access to, each once.</summary>
    public IReadOnlyList<string> Tenants => [.. keys.Select(k => k.Tenant).Distinct(StringComparer.Ordinal)];

    public static ApiKeys Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"--keys {path}: the keys file cannot be read ({exception.Message})", exception);
        }

        return Parse(text, path);
    }

    /// <summary>Parses the text of a keys file; <paramref name="path"/> only names it in errors.</summary>
    public static ApiKeys Parse(string text, string path)
    {
        var pairs = text.TrimStart().StartsWith('{') ? JsonPairs(text, path) : LinePairs(text, path);
        var loaded = new List<(byte[], string, int)>();
        var firstLine = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (key, tenant, line) in pairs)
        {
            if (key.Length < 16)
            {
                throw new InvalidOperationException($"{path}:{line}: every key must be at least 16 characters (tenant '{ToolSupport.Echo(tenant)}' has a shorter one).");
            }

            if (!TenantId.IsValid(tenant))
            {
                throw new InvalidOperationException($"{path}:{line}: '{ToolSupport.Echo(tenant)}' is not a valid tenant id ({TenantId.Rule}).");
            }

            // A key must name one tenant: listed twice it is either a copy-paste slip or one key opening two tenants.
            if (firstLine.TryGetValue(key, out var earlier))
            {
                throw new InvalidOperationException($"{path}: lines {earlier} and {line} list the same key; each key must appear once (give every tenant its own key).");
            }

            firstLine[key] = line;
            loaded.Add((Hash(key), tenant, loaded.Count));
        }

        return loaded.Count == 0 ? throw new InvalidOperationException($"{path}: no keys.") : new ApiKeys(loaded);
    }

    private static List<(string Key, string Tenant, int Line)> LinePairs(string text, string path)
    {
        var pairs = new List<(string, string, int)>();
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Split('#', 2)[0].Trim();
            if (line.Length == 0)
            {
                continue;
            }

            var parts = line.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length != 2)
            {
                throw new InvalidOperationException($"{path}:{i + 1}: each line must be 'KEY TENANT', not '{line[..Math.Min(line.Length, 8)]}…'.");
            }

            pairs.Add((parts[0], parts[1], i + 1));
        }

        return pairs;
    }

    /// <summary>The members of a JSON object with the line each starts on (a reader, not a DOM, so duplicates are seen).</summary>
    private static List<(string Key, string Tenant, int Line)> JsonPairs(string text, string path)
    {
        var pairs = new List<(string, string, int)>();
        var bytes = Encoding.UTF8.GetBytes(text);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new InvalidOperationException($"{path}: a JSON keys file is one object {{\"KEY\": \"tenant\", …}}.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var line = 1 + bytes.AsSpan(0, (int)reader.TokenStartIndex).Count((byte)'\n');
                var key = reader.GetString()!;
                if (!reader.Read() || reader.TokenType != JsonTokenType.String)
                {
                    throw new InvalidOperationException($"{path}:{line}: the tenant of a key must be a string.");
                }

                pairs.Add((key, reader.GetString()!, line));
            }
        }
        catch (JsonException exception)
        {
            throw new InvalidOperationException($"{path}: not valid JSON (line {exception.LineNumber + 1}).", exception);
        }

        return pairs;
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
