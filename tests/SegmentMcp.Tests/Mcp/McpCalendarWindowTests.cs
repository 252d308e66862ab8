using System.Text.Json;

namespace SegmentMcp.Tests.Mcp;

/// <summary>
/// "Who ordered last month?" and "who ordered today, in New York?" through a real MCP client over pipes: calendar
/// windows in a preview, a membership check's evidence, and the hint a model gets for a window written in words.
/// </summary>
[Trait("Category", "Engine")]
public sealed class McpCalendarWindowTests(McpFixture fixture) : IClassFixture<McpFixture>, IAsyncLifetime
{
    // Tuesday 1 December 2026, 03:00 UTC: 30 November, 22:00, in New York.
    private const string AsOf = "2026-12-01T03:00:00Z";

    private const string Orders = """
        {"profile_id": "ann", "metric": "Placed Order", "timestamp": "2026-11-12T15:00:00Z"}
        {"profile_id": "bob", "metric": "Placed Order", "timestamp": "2026-11-30T20:00:00Z"}
        {"profile_id": "cid", "metric": "Placed Order", "timestamp": "2026-12-01T01:30:00Z"}
        {"profile_id": "dee", "metric": "Placed Order", "timestamp": "2026-10-20T09:00:00Z"}
        """;

    private readonly string file = Path.Combine(Directory.CreateTempSubdirectory("segmentmcp-calendar-").FullName, "orders.ndjson");
    private readonly string tenant = "calendar-" + Guid.NewGuid().ToString("N")[..8];
    private McpPipeServer server = null!;

    public async Task InitializeAsync()
    {
        server = await McpPipeServer.StartAsync(fixture.Engine, fixture.Schema, tenant);
        await File.WriteAllTextAsync(file, Orders + "\n");
        await server.CallAsync("import_file", new { path = file, kind = "events" });
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
    }

    private static JsonElement Ordered(string window) =>
        JsonDocument.Parse("""{"name": "Buyers", "condition": {"event": {"metric": "Placed Order", "window": """ + window + """, "op": "gte", "value": 1}}}""").RootElement;

    [Theory]
    [InlineData("""{"previous": "month"}""", new[] { "ann", "bob" }, "Profiles who placed an order last month")]
    [InlineData("""{"this": "month"}""", new[] { "cid" }, "Profiles who placed an order this month")]
    [InlineData("""{"this": "day", "time_zone": "America/New_York"}""", new[] { "bob", "cid" }, "Profiles who placed an order today (America/New_York time)")]
    [InlineData("""{"previous": "month", "periods": 2, "time_zone": "America/New_York"}""", new[] { "dee" }, "Profiles who placed an order in the previous 2 calendar months (America/New_York time)")]
    public async Task A_preview_follows_the_calendar_and_its_time_zone(string window, string[] members, string readBack)
    {
        var preview = await server.CallAsync("preview_segment", new { definition = Ordered(window), as_of = AsOf });

        Assert.Equal(members, preview["members"]!.AsArray().Select(m => (string?)m));
        Assert.Equal(readBack, (string?)preview["read_back"]);
    }

    [Fact]
    public async Task A_membership_check_gives_the_window_the_calendar_resolved_to()
    {
        var check = await server.CallAsync("check_membership", new { definition = Ordered("""{"this": "day", "time_zone": "America/New_York"}"""), profile_id = "bob", as_of = AsOf });

        Assert.True((bool)check["member"]!);
        var evidence = check["conditions"]![0]!["evidence"]!;
        Assert.Equal(("2026-11-30T05:00:00Z", 1L), ((string?)evidence["from"], (long)evidence["events_in_window"]!));
    }

    [Fact]
    public async Task A_window_written_in_words_is_answered_with_the_calendar_window_meant()
    {
        var error = await server.FailAsync("preview_segment", new { definition = Ordered("\"last month\"") });

        Assert.Contains("condition.event.window", error, StringComparison.Ordinal);
        Assert.Contains("Did you mean {\"previous\": \"month\"}?", error, StringComparison.Ordinal);
    }
}
