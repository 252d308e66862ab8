using System.Text.Json;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Mcp;

/// <summary>A database of its own: these tests evaluate every segment of the tenant.</summary>
public sealed class ListToolsFixture : IAsyncLifetime
{
    public StorageSchema Schema { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Schema = await TestEngines.NewSchemaAsync(TestEngines.Embedded, "mcp_lists");
        await McpTestData.SeedAsync(TestEngines.Embedded, Schema, "acme", string.Empty);
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>Static lists and members_at through a real MCP client: in_list follows adds and removes; history answers past times.</summary>
[Trait("Category", "Engine")]
public sealed class ListToolsTests(ListToolsFixture fixture) : IClassFixture<ListToolsFixture>, IAsyncLifetime
{
    private McpPipeServer server = null!;

    public async Task InitializeAsync() => server = await McpPipeServer.StartAsync(TestEngines.Embedded, fixture.Schema, "acme");

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task Lists_are_created_changed_listed_and_read_by_in_list_and_members_at_answers_from_the_log()
    {
        var tools = (await server.Client.ListToolsAsync()).ToDictionary(t => t.Name, t => t.ProtocolTool.Annotations!);
        Assert.True(tools["remove_from_list"].DestructiveHint);
        Assert.True(tools["add_to_list"].IdempotentHint);
        Assert.True(tools["list_lists"].ReadOnlyHint);
        Assert.True(tools["members_at"].ReadOnlyHint);

        var created = await server.CallAsync("create_list", new { name = "Beta testers", profile_ids = new[] { "p1", "p2", "p2" } });
        var id = (string)created["list_id"]!;
        Assert.StartsWith("beta-testers-", id, StringComparison.Ordinal);
        Assert.Equal(2, (long)created["size"]!);
        Assert.False(created.AsObject().ContainsKey("note"));

        var added = await server.CallAsync("add_to_list", new { list_id = id, profile_ids = new[] { "p1", "p3" } });
        Assert.Equal(1, (long)added["changed"]!);
        Assert.Equal(3, (long)added["size"]!);

        // An id no data has is kept, and named (P4: ids are case-sensitive).
        var slipped = await server.CallAsync("add_to_list", new { list_id = id, profile_ids = new[] { "P4", "p1" } });
        Assert.Equal(1, (long)slipped["changed"]!);
        Assert.StartsWith("1 of these ids ('P4') has no events or profile records in this workspace yet.", (string?)slipped["note"], StringComparison.Ordinal);
        await server.CallAsync("remove_from_list", new { list_id = id, profile_ids = new[] { "P4" } });
        var removed = await server.CallAsync("remove_from_list", new { list_id = id, profile_ids = new[] { "p3", "nobody" } });
        Assert.Equal(1, (long)removed["changed"]!);
        var all = await server.CallAsync("list_lists");
        var listed = Assert.Single(all["lists"]!.AsArray());

        // A list called by its name is answered with its id, as a segment is.
        var listByName = await server.FailAsync("add_to_list", new { list_id = "beta testers", profile_ids = new[] { "p2" } });
        Assert.Contains($"Did you mean '{id}' (named \"Beta testers\")?", listByName, StringComparison.Ordinal);
        Assert.Equal(id, (string?)listed!["list_id"]);
        Assert.Equal(2, (long)listed["size"]!);

        var definition = JsonDocument.Parse("{\"name\": \"Beta\", \"condition\": {\"in_list\": {\"id\": \"" + id + "\"}}}").RootElement;
        var preview = await server.CallAsync("preview_segment", new { definition });
        Assert.Equal(["p1", "p2"], preview["members"]!.AsArray().Select(m => (string?)m));
        Assert.Contains("on list", (string?)preview["read_back"], StringComparison.Ordinal);
        Assert.False(preview.AsObject().ContainsKey("value_hints"));

        // A list called by its name is no list: valid, but empty, so the hint names the list meant.
        var byName = await server.CallAsync("preview_segment", new { definition = JsonDocument.Parse("""{"name": "Beta", "condition": {"any": [{"in_list": {"id": "Beta testers"}}, {"property": {"name": "city", "op": "is_set"}}]}}""").RootElement });
        var hint = Assert.Single(byName["value_hints"]!.AsArray())!;
        Assert.Equal("condition.any[0].in_list.id", (string?)hint["path"]);
        Assert.Equal(
            $"No static list 'Beta testers' in this workspace, so no profile is on it. Did you mean '{id}' (named \"Beta testers\")? A reference names a list by its id (list_lists shows them).",
            (string?)hint["message"]);

        // create_segment evaluates at once: that is where the segment's history starts.
        var segment = (string)(await server.CallAsync("create_segment", new { definition }))["segment_id"]!;
        var createdAt = DateTime.UtcNow.ToString("o");
        await server.CallAsync("remove_from_list", new { list_id = id, profile_ids = new[] { "p1" } });
        await server.CallAsync("refresh_segments", new { });
        var then = await server.CallAsync("members_at", new { segment_id = segment, at = createdAt, limit = 1 });
        Assert.Equal("p1", (string?)Assert.Single(then["members"]!.AsArray()));
        var next = await server.CallAsync("members_at", new { segment_id = segment, at = createdAt, limit = 1, cursor = (string?)then["next_cursor"] });
        Assert.Equal("p2", (string?)Assert.Single(next["members"]!.AsArray()));
        Assert.Null(next["next_cursor"]);
        var now = await server.CallAsync("members_at", new { segment_id = segment, at = DateTime.UtcNow.ToString("o"), properties = new[] { "city" } });
        Assert.Equal(["p2"], now["members"]!.AsArray().Select(m => (string?)m));
        Assert.Equal("Boston", (string?)Assert.Single(now["profiles"]!.AsArray())!["properties"]!["city"]);
        Assert.False(now.AsObject().ContainsKey("note"));

        // The log knows no future: a later time is the last stored membership, and the note says it is no forecast.
        var later = await server.CallAsync("members_at", new { segment_id = segment, at = DateTime.UtcNow.AddDays(7).ToString("o") });
        Assert.Equal(["p2"], later["members"]!.AsArray().Select(m => (string?)m));
        Assert.Contains("is in the future: these are the members the last evaluation (", (string?)later["note"], StringComparison.Ordinal);
        Assert.Contains("call preview_segment with as_of", (string?)later["note"], StringComparison.Ordinal);

        var first = (string)then["first_evaluated_at"]!;
        var early = await server.FailAsync("members_at", new { segment_id = segment, at = "2000-01-01" });
        Assert.Contains($"before the segment's first evaluation at {DateTime.Parse(first, null, System.Globalization.DateTimeStyles.RoundtripKind):yyyy-MM-ddTHH:mm:ss.fff}Z", early, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_list_is_read_page_by_page_at_any_time_names_its_segments_and_is_deleted_only_when_none_uses_it()
    {
        var tools = (await server.Client.ListToolsAsync()).ToDictionary(t => t.Name, t => t.ProtocolTool.Annotations!);
        Assert.True(tools["get_list"].ReadOnlyHint);
        Assert.True(tools["delete_list"].DestructiveHint);

        var id = (string)(await server.CallAsync("create_list", new { name = "Suppression", profile_ids = new[] { "p3", "p1", "p2" } }))["list_id"]!;
        var between = DateTime.UtcNow;
        await Task.Delay(20);
        await server.CallAsync("remove_from_list", new { list_id = id, profile_ids = new[] { "p2" } });

        // Now, a page at a time with the profiles' values; later pages keep the first page's time.
        var first = await server.CallAsync("get_list", new { list_id = id, limit = 1, properties = new[] { "city" } });
        Assert.Equal("Suppression", (string?)first["name"]);
        Assert.Equal(2, (long)first["size"]!);
        Assert.Equal(["p1"], first["members"]!.AsArray().Select(m => (string?)m));
        Assert.Equal("Boston", (string?)Assert.Single(first["profiles"]!.AsArray())!["properties"]!["city"]);
        await server.CallAsync("add_to_list", new { list_id = id, profile_ids = new[] { "p2" } });
        var second = await server.CallAsync("get_list", new { list_id = id, limit = 1, cursor = (string?)first["next_cursor"] });
        Assert.Equal(["p3"], second["members"]!.AsArray().Select(m => (string?)m));
        Assert.Null(second["next_cursor"]);
        Assert.Equal((string?)first["at"], (string?)second["at"]);
        Assert.Equal(3, (long)(await server.CallAsync("get_list", new { list_id = id }))["size"]!);

        // Before the removal, the list as it was; before the list, no one.
        var then = await server.CallAsync("get_list", new { list_id = id, as_of = between.ToString("o") });
        Assert.Equal(["p1", "p2", "p3"], then["members"]!.AsArray().Select(m => (string?)m));
        Assert.Equal(3, (long)then["size"]!);
        var before = await server.CallAsync("get_list", new { list_id = id, as_of = "2000-01-01" });
        Assert.Empty(before["members"]!.AsArray());
        Assert.StartsWith("as_of 2000-01-01T00:00:00.000Z is before the list was created at ", (string?)before["note"], StringComparison.Ordinal);
        Assert.False(then.AsObject().ContainsKey("note"));

        // A segment that uses it is named everywhere, and the list outlives no segment reading it.
        var definition = JsonDocument.Parse("{\"name\": \"Not suppressed\", \"condition\": {\"not\": {\"in_list\": {\"id\": \"" + id + "\"}}}}").RootElement;
        var segment = (string)(await server.CallAsync("create_segment", new { definition }))["segment_id"]!;
        Assert.Equal([segment], (await server.CallAsync("get_list", new { list_id = id }))["used_by"]!.AsArray().Select(u => (string?)u));
        var listed = (await server.CallAsync("list_lists"))["lists"]!.AsArray().Single(l => (string?)l!["list_id"] == id)!;
        Assert.Equal([segment], listed["used_by"]!.AsArray().Select(u => (string?)u));
        var refused = await server.FailAsync("delete_list", new { list_id = id });
        Assert.Equal($"list_id: '{id}' is used by '{segment}'; change or delete those segments first.", refused);
        Assert.Equal(3, (long)(await server.CallAsync("get_list", new { list_id = id }))["size"]!);

        await server.CallAsync("delete_segment", new { segment_id = segment });
        Assert.True((bool)(await server.CallAsync("delete_list", new { list_id = id }))["deleted"]!);
        Assert.DoesNotContain((await server.CallAsync("list_lists"))["lists"]!.AsArray(), l => (string?)l!["list_id"] == id);
        Assert.Contains($"list_id: no list '{id}'", await server.FailAsync("get_list", new { list_id = id, as_of = between.ToString("o") }), StringComparison.Ordinal);
        Assert.False((bool)(await server.CallAsync("delete_list", new { list_id = id }))["deleted"]!);

        // The deleted list's history is gone too: a draft reading it, even in the past, finds no one on it.
        var past = await server.CallAsync("preview_segment", new { definition = JsonDocument.Parse("{\"name\": \"x\", \"condition\": {\"in_list\": {\"id\": \"" + id + "\"}}}").RootElement, as_of = between.ToString("o") });
        Assert.Equal(0, (long)past["count"]!);
    }

    [Fact]
    public async Task Get_list_checks_its_cursor_and_time()
    {
        var one = (string)(await server.CallAsync("create_list", new { name = "One", profile_ids = new[] { "p1", "p2" } }))["list_id"]!;
        var other = (string)(await server.CallAsync("create_list", new { name = "Other", profile_ids = new[] { "p1", "p2" } }))["list_id"]!;
        var page = await server.CallAsync("get_list", new { list_id = one, limit = 1 });
        Assert.Equal("cursor: this cursor belongs to another list; omit it to start from the beginning.", await server.FailAsync("get_list", new { list_id = other, cursor = (string?)page["next_cursor"] }));
        Assert.Contains("cursor: 'nonsense' is not a cursor of this tool", await server.FailAsync("get_list", new { list_id = one, cursor = "nonsense" }), StringComparison.Ordinal);
        Assert.StartsWith("as_of: ", await server.FailAsync("get_list", new { list_id = one, as_of = "yesterday" }), StringComparison.Ordinal);
        Assert.StartsWith("limit: ", await server.FailAsync("get_list", new { list_id = one, limit = 0 }), StringComparison.Ordinal);
        Assert.True((bool)(await server.CallAsync("delete_list", new { list_id = one }))["deleted"]!);
        Assert.True((bool)(await server.CallAsync("delete_list", new { list_id = other }))["deleted"]!);
    }

    [Fact]
    public async Task Bad_list_calls_are_tool_errors_naming_the_argument()
    {
        var unknown = await server.FailAsync("add_to_list", new { list_id = "no-such-list", profile_ids = new[] { "p1" } });
        Assert.Contains("list_id: no list 'no-such-list'", unknown, StringComparison.Ordinal);
        Assert.Contains("list_lists", unknown, StringComparison.Ordinal);
        var tooMany = await server.FailAsync("create_list", new { name = "Big", profile_ids = Enumerable.Range(0, 10_001).Select(i => $"u{i}").ToArray() });
        Assert.Contains("profile_ids: at most 10,000 items", tooMany, StringComparison.Ordinal);
        var blank = await server.FailAsync("create_list", new { name = "Blank", profile_ids = new[] { "p1", " " } });
        Assert.Contains("profile_ids[1]", blank, StringComparison.Ordinal);
    }
}
