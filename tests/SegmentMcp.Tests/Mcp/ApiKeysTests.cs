using SegmentMcp.Mcp;

namespace SegmentMcp.Tests.Mcp;

/// <summary>The keys file: both formats, and every mistake a startup error naming the file and the line.</summary>
public sealed class ApiKeysTests
{
    [Fact]
    public void Lines_and_json_map_keys_to_tenants()
    {
        var lines = ApiKeys.Parse("# keys\nacme-key-0123456789abcdef acme\n\nglobex-key-0123456789abcdef globex # ops\n", "keys.txt");
        Assert.Equal(("acme", 0), lines.Find("acme-key-0123456789abcdef"));
        Assert.Equal(("globex", 1), lines.Find("globex-key-0123456789abcdef"));
        Assert.Null(lines.Find("acme-key-0123456789abcdeX"));

        var json = ApiKeys.Parse("{\n  \"acme-key-0123456789abcdef\": \"acme\"\n}", "keys.json");
        Assert.Equal(("acme", 0), json.Find("acme-key-0123456789abcdef"));
    }

    [Theory]
    [InlineData("acme-key-0123456789abcdef acme\nother-key-0123456789abcdef other\nacme-key-0123456789abcdef acme\n", "keys.txt: lines 1 and 3 list the same key")]
    [InlineData("acme-key-0123456789abcdef acme\n# comment\nacme-key-0123456789abcdef globex\n", "keys.txt: lines 1 and 3 list the same key")]
    [InlineData("{\n  \"acme-key-0123456789abcdef\": \"acme\",\n  \"other-key-0123456789abcdef\": \"other\",\n  \"acme-key-0123456789abcdef\": \"globex\"\n}", "keys.txt: lines 2 and 4 list the same key")]
    [InlineData("short acme\n", "keys.txt:1: every key must be at least 16 characters")]
    [InlineData("acme-key-0123456789abcdef\n", "keys.txt:1: each line must be 'KEY TENANT'")]
    [InlineData("{\n  \"acme-key-0123456789abcdef\": \"\"\n}", "keys.txt:2: '' is not a valid tenant id")]
    [InlineData("{\"acme-key-0123456789abcdef\": 5}", "keys.txt:1: the tenant of a key must be a string")]
    [InlineData("{\"acme-key-0123456789abcdef\": \"acme\"", "keys.txt: not valid JSON")]
    [InlineData("# nothing\n", "keys.txt: no keys.")]
    public void Mistakes_are_startup_errors_naming_the_lines(string text, string message)
    {
        var error = Assert.Throws<InvalidOperationException>(() => ApiKeys.Parse(text, "keys.txt"));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("0123456789abcdef", error.Message, StringComparison.Ordinal);
    }
}
