using System.Data.Common;
using SegmentMcp.Core.Storage.Server;

namespace SegmentMcp.Tests.Storage;

/// <summary>
/// A server connection string is checked before anything connects: the driver would otherwise ignore a misspelt key
/// and read an unreadable value as its default, reaching localhost:8123 instead of the server meant.
/// </summary>
public sealed class ServerConnectionStringTests
{
    [Theory]
    [InlineData("Host=db1;Port=8123;Username=default;Password=")]
    [InlineData(" host = db1 ; PORT = 8443 ; protocol = https ; Compression = false ; Timeout = 2.5 ")]
    [InlineData("Host=10.0.0.5;Port=8123;set_max_threads=2;Database=other;UseSession=true")]
    [InlineData("Host=::1;Password=\"a;b=c\"")]
    public void The_key_form_goes_to_the_driver_as_written(string connectionString)
    {
        Assert.Equal(connectionString.Trim(), ServerConnectionString.Normalize(connectionString));
    }

    [Theory]
    [InlineData("http://db1:8123", "http", "db1", "8123", null, null)]
    [InlineData("https://db1", "https", "db1", "443", null, null)]
    [InlineData("http://reader@127.0.0.1:18123/", "http", "127.0.0.1", "18123", "reader", null)]
    [InlineData("http://reader:p%40ss%3Bword@db1:8123", "http", "db1", "8123", "reader", "p@ss;word")]
    public void The_url_form_becomes_keys(string url, string protocol, string host, string port, string? user, string? password)
    {
        var keys = new DbConnectionStringBuilder { ConnectionString = ServerConnectionString.Normalize(url) };

        Assert.Equal(protocol, keys["Protocol"]);
        Assert.Equal(host, keys["Host"]);
        Assert.Equal(port, keys["Port"]);
        Assert.Equal(user, keys.TryGetValue("Username", out var u) ? u : null);
        Assert.Equal(password, keys.TryGetValue("Password", out var p) ? p : null);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("localhost", "not a list of Key=Value pairs")]
    [InlineData("Hots=db1", "unknown key 'hots'")]
    [InlineData("Host=db1;Port=abc", "Port must be a port number from 1 to 65535, not 'abc'")]
    [InlineData("Host=db1;Port=81230", "Port must be a port number from 1 to 65535, not '81230'")]
    [InlineData("Host=db1;Protocol=htps", "Protocol must be http or https, not 'htps'")]
    [InlineData("Host=http://db1", "Host must be a host name or IP address")]
    [InlineData("Host=db1:8123", "Host must be a host name or IP address")]
    [InlineData("Host=db1;Compression=yes", "Compression must be true or false, not 'yes'")]
    [InlineData("Host=db1;Timeout=-1", "Timeout must be a number of seconds above 0")]
    [InlineData("Host=db1;JsonReadMode=fast", "JsonReadMode must be ")]
    [InlineData("clickhouse://db1:9000", "the native protocol")]
    [InlineData("http://db1:8123/analytics", "the database is --database")]
    [InlineData("http://db1:8123?user=x", "only scheme, user, password, host and port")]
    public void A_mistake_names_the_key_and_the_rule(string connectionString, string expected)
    {
        var error = Assert.Throws<FormatException>(() => ServerConnectionString.Normalize(connectionString));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_key_lists_the_known_ones_and_the_setting_prefix()
    {
        var error = Assert.Throws<FormatException>(() => ServerConnectionString.Normalize("Host=db1;User=admin"));

        Assert.All(["Host", "Port", "Username", "Password", "Protocol", "set_NAME"], key => Assert.Contains(key, error.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void A_password_is_never_echoed()
    {
        var error = Assert.Throws<FormatException>(() => ServerConnectionString.Normalize("Password=hunter2-secret;Hots=db1"));

        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_server_engine_refuses_a_mistake_before_connecting()
    {
        var error = Assert.Throws<FormatException>(() => new ClickHouseServerEngine("Host=127.0.0.1;Prot=1"));

        Assert.Contains("unknown key 'prot'", error.Message, StringComparison.Ordinal);
    }
}
