using System.Text;
using System.Text.Json;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Tests.Mcp;

/// <summary>A small two-tenant dataset written through the storage tables (events, profile updates).</summary>
public static class McpTestData
{
    public static readonly DateTime Now = DateTime.UtcNow;

    public static async Task SeedAsync(IClickHouseEngine engine, StorageSchema schema, string tenant, string prefix)
    {
        var events = new StringBuilder();
        var updates = new StringBuilder();
        void Event(string profile, string metric, double daysAgo, double? value, object properties) =>
            events.AppendLine(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["tenant"] = tenant,
                ["metric"] = metric,
                ["profile_id"] = prefix + profile,
                ["ts"] = Now.AddDays(-daysAgo).ToString("yyyy-MM-dd HH:mm:ss.fff"),
                ["value"] = value,
                ["properties"] = properties,
            }));
        void Update(string profile, object properties) =>
            updates.AppendLine(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["tenant"] = tenant,
                ["profile_id"] = prefix + profile,
                ["updated_at"] = Now.AddDays(-40).ToString("yyyy-MM-dd HH:mm:ss.fff"),
                ["properties"] = properties,
            }));

        Update("p1", new Dictionary<string, string> { ["city"] = "sBoston", ["plan"] = "spremium", ["age"] = "n41" });
        Update("p2", new Dictionary<string, string> { ["city"] = "sBoston", ["plan"] = "sfree" });
        Update("p3", new Dictionary<string, string> { ["city"] = "sDenver", ["plan"] = "sfree" });
        Update("p4", new Dictionary<string, string> { ["city"] = "sBoston" });
        Event("p1", "Opened Email", 1, null, new Dictionary<string, string> { ["subject"] = "sSale" });
        Event("p1", "Opened Email", 2, null, new Dictionary<string, string> { ["subject"] = "sNews" });
        Event("p2", "Opened Email", 3, null, new Dictionary<string, string> { ["subject"] = "sSale" });
        Event("p3", "Opened Email", 4, null, new Dictionary<string, string> { ["subject"] = "sSale" });
        Event("p1", "Placed Order", 5, 120, new Dictionary<string, string> { ["sku"] = "sA1" });
        Event("p3", "Placed Order", 60, 30, new Dictionary<string, string> { ["sku"] = "sB2" });
        await engine.InsertJsonEachRowAsync(schema.ProfileUpdates, Encoding.UTF8.GetBytes(updates.ToString()), null);
        await engine.InsertJsonEachRowAsync(schema.Events, Encoding.UTF8.GetBytes(events.ToString()), null);
    }

    public static string PromptsDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "prompts");
            if (Directory.Exists(Path.Combine(candidate, "build_segment")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("prompts/");
    }

    public const string BostonOpeners = """
        {"name": "Boston openers", "condition": {"all": [
          {"event": {"metric": "Opened Email", "window": {"last_days": 30}, "op": "gte", "value": 1}},
          {"property": {"name": "city", "op": "eq", "value": "Boston"}}]}}
        """;

    public const string Buyers = """
        {"name": "Buyers", "condition": {"event": {"metric": "Placed Order", "op": "gte", "value": 1}}}
        """;
}
