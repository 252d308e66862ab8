using System.Data.Common;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using ClickHouse.Driver.ADO;

namespace SegmentMcp.Core.Storage.Server;

/// <summary>
/// Checks the connection string of a ClickHouse server before anything connects. ClickHouse.Driver ignores a key it
/// does not know and falls back to its default for a value it cannot read, so <c>Hots=db1</c> or <c>Port=81230</c>
/// would quietly reach localhost:8123; here each is an error naming the key. Also accepts the URL form people copy
/// from server docs, <c>http[s]://[user[:password]@]host[:port]</c>.
/// </summary>
public static partial class ServerConnectionString
{
    /// <summary>Prefix of the keys that pass a ClickHouse setting with every query (the driver's own convention).</summary>
    private const string SettingPrefix = "set_";

    /// <summary>The keys the driver reads: the properties its connection string builder declares, with their types.</summary>
    private static readonly Dictionary<string, Type> KnownKeys = typeof(ClickHouseConnectionStringBuilder)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
        .Where(property => property.CanWrite && property.GetIndexParameters().Length == 0)
        .ToDictionary(property => property.Name, property => property.PropertyType, StringComparer.OrdinalIgnoreCase);

    /// <summary>The keys a connection string may hold, in the driver's spelling.</summary>
    public static IReadOnlyCollection<string> Keys => KnownKeys.Keys;

    /// <summary>
    /// Returns the connection string in <c>Key=Value;…</c> form, or throws <see cref="FormatException"/> naming the
    /// key and the rule it breaks (never echoing a password).
    /// </summary>
    public static string Normalize(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var text = connectionString.Trim();
        if (text.Length == 0)
        {
            throw new FormatException("the connection string is empty; give \"Host=…;Port=8123;Username=…;Password=…\"");
        }

        var isUrl = UrlScheme().IsMatch(text);
        var builder = isUrl ? FromUrl(text) : FromKeys(text);
        foreach (string key in builder.Keys)
        {
            Check(key, builder[key]?.ToString() ?? string.Empty);
        }

        // The key form goes to the driver as written, so it reads exactly what the user wrote.
        return isUrl ? builder.ConnectionString : text;
    }

    private static DbConnectionStringBuilder FromKeys(string text)
    {
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = text;
        }
        catch (ArgumentException)
        {
            throw new FormatException(
                "the connection string is not a list of Key=Value pairs separated by ';' " +
                "(e.g. \"Host=db1;Port=8123;Username=default;Password=…\") nor a URL (http://user:password@db1:8123)");
        }

        return builder;
    }

    private static DbConnectionStringBuilder FromUrl(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            throw new FormatException(
                "a connection URL must be http://[user[:password]@]host[:port] or https://…; the native protocol " +
                "(clickhouse://, port 9000) is not used, SegmentMcp talks to the HTTP interface (port 8123 or 8443)");
        }

        if (url.AbsolutePath != "/" || url.Query.Length > 0 || url.Fragment.Length > 0)
        {
            throw new FormatException(
                "a connection URL holds only scheme, user, password, host and port; the database is --database, " +
                "other settings go in the Key=Value form");
        }

        var builder = new DbConnectionStringBuilder
        {
            ["Protocol"] = url.Scheme,
            ["Host"] = url.Host,
            ["Port"] = url.Port.ToString(CultureInfo.InvariantCulture),
        };
        if (url.UserInfo.Length > 0)
        {
            var parts = url.UserInfo.Split(':', 2);
            builder["Username"] = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2)
            {
                builder["Password"] = Uri.UnescapeDataString(parts[1]);
            }
        }

        return builder;
    }

    private static void Check(string key, string value)
    {
        if (key.StartsWith(SettingPrefix, StringComparison.OrdinalIgnoreCase) && key.Length > SettingPrefix.Length)
        {
            return;
        }

        if (!KnownKeys.TryGetValue(key, out var type))
        {
            throw new FormatException(
                $"unknown key '{key}' in the connection string; known keys: {string.Join(", ", KnownKeys.Keys.Order(StringComparer.Ordinal))}, " +
                $"and {SettingPrefix}NAME for a ClickHouse setting");
        }

        var problem = type switch
        {
            _ when type == typeof(bool) => bool.TryParse(value, out _) ? null : "true or false",
            _ when type == typeof(ushort) => ushort.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port > 0 ? null : "a port number from 1 to 65535",
            _ when type == typeof(int) => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > 0 ? null : "a whole number above 0",
            _ when type == typeof(TimeSpan) => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 ? null : "a number of seconds above 0",
            _ when type.IsEnum => Enum.GetNames(type).Contains(value, StringComparer.OrdinalIgnoreCase) ? null : string.Join(" or ", Enum.GetNames(type)),
            _ when key.Equals("Protocol", StringComparison.OrdinalIgnoreCase) => value is "http" or "https" ? null : "http or https",
            _ when key.Equals("Host", StringComparison.OrdinalIgnoreCase) => Uri.CheckHostName(value) != UriHostNameType.Unknown ? null : "a host name or IP address (no scheme, port or path)",
            _ => null,
        };
        if (problem is not null)
        {
            var shown = key.Equals("Password", StringComparison.OrdinalIgnoreCase) ? "" : $", not '{Shorten(value)}'";
            throw new FormatException($"connection string key {Spelling(key)} must be {problem}{shown}");
        }
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9+.-]*://")]
    private static partial Regex UrlScheme();

    private static string Spelling(string key) => KnownKeys.Keys.First(known => known.Equals(key, StringComparison.OrdinalIgnoreCase));

    private static string Shorten(string value) => value.Length <= 80 ? value : value[..80] + "…";
}
