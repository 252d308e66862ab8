using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SegmentMcp.Core.Ingest;
using SegmentMcp.Core.Storage;
using SegmentMcp.Mcp;

namespace SegmentMcp.Tests.Storage;

/// <summary>One tenant id rule: what ingest loads (company_id), a keys file names and every --company accepts.</summary>
public sealed class TenantIdTests
{
    public static TheoryData<string, bool> Ids => new()
    {
        { "acme", true },
        { "Acme Inc", true },
        { "bad/tenant", true },
        { "o'brien;--", true },
        { "ü-🙂", true },
        { new string('x', 256), true },
        { string.Concat(Enumerable.Repeat("🙂", 256)), true },
        { string.Empty, false },
        { new string('x', 257), false },
        { string.Concat(Enumerable.Repeat("🙂", 257)), false },
    };

    [Theory]
    [MemberData(nameof(Ids))]
    public void Ingest_keys_files_and_the_rule_agree(string id, bool valid)
    {
        Assert.Equal(valid, TenantId.IsValid(id));

        foreach (var encoder in new[] { JavaScriptEncoder.Default, JavaScriptEncoder.UnsafeRelaxedJsonEscaping })
        {
            var record = new Dictionary<string, object> { ["company_id"] = id, ["profile_id"] = "p1", ["properties"] = new Dictionary<string, object>() };
            var line = JsonSerializer.Serialize(record, new JsonSerializerOptions { Encoder = encoder });
            var reason = new RecordConverter(IngestKind.Profiles, null, DateTimeOffset.UnixEpoch).Convert(Encoding.UTF8.GetBytes(line), new RowBuffer(1024));
            Assert.True(valid == reason is null, $"{line}: {reason}");
        }

        var json = JsonSerializer.Serialize(new Dictionary<string, string> { ["acme-key-0123456789abcdef"] = id });
        AssertKeysFile(json, id, valid);
        if (id.Length > 0 && id.Trim() == id && !id.Contains('#', StringComparison.Ordinal))
        {
            AssertKeysFile($"acme-key-0123456789abcdef {id}\n", id, valid);
        }
    }

    [Fact]
    public void Require_names_the_flag_and_the_rule()
    {
        var error = Assert.Throws<ArgumentException>(() => TenantId.Require(new string('x', 300), "--company"));
        Assert.StartsWith("--company is longer than 256 characters (300): a tenant id is 1 to 256 characters.", error.Message, StringComparison.Ordinal);
        Assert.Equal("acme", TenantId.Require("acme"));
    }

    private static void AssertKeysFile(string text, string id, bool valid)
    {
        if (valid)
        {
            Assert.Equal((id, 0), ApiKeys.Parse(text, "keys").Find("acme-key-0123456789abcdef"));
            return;
        }

        var error = Assert.Throws<InvalidOperationException>(() => ApiKeys.Parse(text, "keys"));
        Assert.Contains("is not a valid tenant id (1 to 256 characters)", error.Message, StringComparison.Ordinal);
    }
}
