using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.Storage;
using SegmentMcp.Mcp;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Mcp;

/// <summary>One seeded database (two tenants) shared by the in-process tests; each test saves its own segments.</summary>
public sealed class McpFixture : IAsyncLifetime
{
    public StorageSchema Schema { get; private set; } = null!;

    public IClickHouseEngine Engine => TestEngines.Embedded;

    public async Task InitializeAsync()
    {
        Schema = await TestEngines.NewSchemaAsync(Engine, "mcp_pipes");
        await McpTestData.SeedAsync(Engine, Schema, "acme", string.Empty);
        await McpTestData.SeedAsync(Engine, Schema, "globex", "g-");
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>Every tool, resource, prompt and completion through a real MCP client over pipes, errors included.</summary>
[Trait("Category", "Engine")]
public sealed class McpServerTests(McpFixture fixture) : IClassFixture<McpFixture>, IAsyncLifetime
{
    private McpPipeServer server = null!;

    public static readonly string[] ToolNames =
    [
        "add_to_list", "check_membership", "count_members", "create_list", "create_segment", "delete_list", "delete_segment", "describe_schema", "explain_segment", "export_changes", "export_segment",
        "get_list", "get_profile", "get_segment", "import_file", "import_list", "list_lists", "list_members", "list_segments", "members_at", "membership_changes", "preview_segment",
        "refresh_segments", "remove_from_list", "segment_breakdown", "segment_growth", "segment_overlap", "segment_versions", "update_segment",
    ];

    public async Task InitializeAsync() => server = await McpPipeServer.StartAsync(fixture.Engine, fixture.Schema, "acme");

    public async Task DisposeAsync() => await server.DisposeAsync();

    private static JsonElement Definition(string json) => JsonDocument.Parse(json).RootElement;

    private Task<JsonNode> PreviewAsync(string definition) => server.CallAsync("preview_segment", new { definition = Definition(definition) });

    [Fact]
    public async Task Lists_every_tool_with_annotations_and_output_schemas()
    {
        var tools = await server.Client.ListToolsAsync();
        Assert.Equal(ToolNames, tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        foreach (var tool in tools)
        {
            Assert.False(string.IsNullOrWhiteSpace(tool.Description));
            Assert.Contains("Example", tool.Description, StringComparison.Ordinal);
            Assert.NotNull(tool.ProtocolTool.OutputSchema);
            Assert.DoesNotContain("tenant", tool.ProtocolTool.InputSchema.GetRawText(), StringComparison.OrdinalIgnoreCase);
        }

        // One JSON type per argument, so clients that convert typed-in values by it (the MCP Inspector) send numbers.
        foreach (var tool in tools)
        {
            var schema = JsonNode.Parse(tool.ProtocolTool.InputSchema.GetRawText())!;
            var required = schema["required"]?.AsArray().Select(r => (string?)r).ToHashSet() ?? [];
            foreach (var (name, argument) in schema["properties"]!.AsObject())
            {
                Assert.False(argument!["type"] is JsonArray, $"{tool.Name}.{name}: {argument.ToJsonString()}");
                Assert.False(argument["items"]?["type"] is JsonArray, $"{tool.Name}.{name}: {argument.ToJsonString()}");
                Assert.False(argument.AsObject().ContainsKey("default") && argument["default"] is null, $"{tool.Name}.{name}: {argument.ToJsonString()}");
                Assert.True(argument["type"] is not null || name == "definition", $"{tool.Name}.{name} has no type");
            }

            Assert.All(required, r => Assert.True(schema["properties"]![r!] is not null, $"{tool.Name}: required {r} is not a property"));
        }

        var limit = JsonNode.Parse(tools.Single(t => t.Name == "preview_segment").ProtocolTool.InputSchema.GetRawText())!;
        Assert.Equal("integer", (string?)limit["properties"]!["limit"]!["type"]);
        Assert.Equal("string", (string?)limit["properties"]!["properties"]!["items"]!["type"]);
        Assert.DoesNotContain("limit", limit["required"]!.AsArray().Select(r => (string?)r));

        var annotations = tools.ToDictionary(t => t.Name, t => t.ProtocolTool.Annotations!);
        Assert.True(annotations["delete_segment"].DestructiveHint);
        Assert.True(annotations["describe_schema"].ReadOnlyHint);
        Assert.True(annotations["preview_segment"].IdempotentHint);
        Assert.False(annotations["create_segment"].ReadOnlyHint);
    }

    [Fact]
    public async Task Describe_schema_reports_counts_types_and_samples()
    {
        var schema = await server.CallAsync("describe_schema");
        Assert.Equal("acme", (string?)schema["tenant"]);
        Assert.Equal(4, (long)schema["profiles"]!);
        Assert.Equal(6, (long)schema["events"]!);
        var city = schema["properties"]!.AsArray().Single(p => (string?)p!["name"] == "city")!;
        Assert.Equal(4, (long)city["profiles_with_value"]!);
        Assert.Equal("Boston", (string?)city["sample_values"]![0]);
        Assert.Equal(["string"], city["types"]!.AsArray().Select(t => (string?)t));
        var orders = schema["metrics"]!.AsArray().Single(m => (string?)m!["name"] == "Placed Order")!;
        Assert.Equal(2, (long)orders["events"]!);
        Assert.Equal(2, (long)orders["profiles"]!);
        Assert.NotNull(orders["first_seen"]);
        Assert.Equal(["sku"], orders["properties"]!.AsArray().Select(p => (string?)p!["name"]));

        // The orders' amounts are their numeric value, named as conditions name it; emails have none.
        Assert.Equal("$value", (string?)orders["value"]!["name"]);
        Assert.Equal(["number"], orders["value"]!["types"]!.AsArray().Select(t => (string?)t));
        Assert.Equal([30.0, 120.0], orders["value"]!["sample_values"]!.AsArray().Select(v => (double)v!).Order());
        var emails = schema["metrics"]!.AsArray().Single(m => (string?)m!["name"] == "Opened Email")!;
        Assert.False(emails.AsObject().ContainsKey("value"));
        Assert.False(schema.AsObject().ContainsKey("note"));

        var one = await server.CallAsync("describe_schema", new { metric = "Opened Email" });
        Assert.Equal("Opened Email", (string?)Assert.Single(one["metrics"]!.AsArray())!["name"]);
        var error = await server.FailAsync("describe_schema", new { metric = "Opened Emial" });
        Assert.Contains("Did you mean 'Opened Email'", error, StringComparison.Ordinal);
        var cityOnly = await server.CallAsync("describe_schema", new { property = "city" });
        Assert.Equal(4, (long)Assert.Single(cityOnly["properties"]!.AsArray())!["profiles_with_value"]!);
        Assert.Empty(cityOnly["metrics"]!.AsArray());
        Assert.Equal(6, (long)cityOnly["events"]!);

        // Looking closer at one name lists its values with counts (left out of the whole schema's view).
        Assert.False(city.AsObject().ContainsKey("top_values"));
        Assert.False(orders.AsObject().ContainsKey("sampled_events"));
        var cityValues = Assert.Single(cityOnly["properties"]!.AsArray())!;
        var top = cityValues["top_values"]!.AsArray();
        Assert.Equal("Boston", (string?)top[0]!["value"]);
        Assert.Equal(4, top.Sum(v => (long)v!["count"]!));
        Assert.Equal(top.Count, (long)cityValues["distinct_values"]!);
        Assert.False(cityValues.AsObject().ContainsKey("min"));
        var ordersOnly = Assert.Single((await server.CallAsync("describe_schema", new { metric = "Placed Order" }))["metrics"]!.AsArray())!;
        Assert.Equal(2, (long)ordersOnly["sampled_events"]!);
        Assert.Equal((30.0, 120.0), ((double)ordersOnly["value"]!["min"]!, (double)ordersOnly["value"]!["max"]!));
        Assert.Equal(2, (long)ordersOnly["value"]!["distinct_values"]!);
        var unknown = await server.FailAsync("describe_schema", new { property = "cty" });
        Assert.StartsWith("property: no profile property 'cty'", unknown, StringComparison.Ordinal);
        Assert.Contains("Did you mean 'city'", unknown, StringComparison.Ordinal);
        Assert.Contains("cursor", await server.FailAsync("describe_schema", new { cursor = "not-a-cursor" }), StringComparison.Ordinal);

        // A name of the other kind is told what it is and which call looks at it.
        Assert.Equal(
            "property: no profile property 'sku' in this workspace. 'sku' is a property of 'Placed Order' events, not of profiles. Call describe_schema with {\"metric\": \"Placed Order\"} to see its values on those events.",
            await server.FailAsync("describe_schema", new { property = "sku" }));
        Assert.EndsWith(
            "'city' is a profile property, not a metric. Call describe_schema with {\"property\": \"city\"} to look closer at it.",
            await server.FailAsync("describe_schema", new { metric = "city" }),
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preview_counts_pages_and_reads_back_without_saving()
    {
        var first = await server.CallAsync("preview_segment", new { definition = Definition(McpTestData.BostonOpeners), limit = 1 });
        Assert.Equal(2, (long)first["count"]!);
        Assert.Equal("p1", (string?)Assert.Single(first["members"]!.AsArray()));
        Assert.False(string.IsNullOrEmpty((string?)first["read_back"]));
        var second = await server.CallAsync("preview_segment", new { definition = Definition(McpTestData.BostonOpeners), limit = 1, cursor = (string?)first["next_cursor"] });
        Assert.Equal("p2", (string?)Assert.Single(second["members"]!.AsArray()));
        Assert.Null(second["next_cursor"]);
        Assert.Null(second["profiles"]);

        var described = await server.CallAsync("preview_segment", new { definition = Definition(McpTestData.BostonOpeners), properties = new[] { "plan", "age" } });
        var profiles = described["profiles"]!.AsArray();
        Assert.Equal(["p1", "p2"], profiles.Select(p => (string?)p!["profile_id"]));
        Assert.Equal("premium", (string?)profiles[0]!["properties"]!["plan"]);
        Assert.Equal(41, (double)profiles[0]!["properties"]!["age"]!);
        Assert.Equal(["plan"], profiles[1]!["properties"]!.AsObject().Select(p => p.Key));
        Assert.Contains("properties: give 1 to 20", await server.FailAsync("preview_segment", new { definition = Definition(McpTestData.BostonOpeners), properties = new[] { " " } }), StringComparison.Ordinal);

        // The page's values (one statement for the page) are get_profile's (one profile at a time).
        var everything = await server.CallAsync("preview_segment", new { definition = Definition("""{"name": "All", "condition": {"property": {"name": "city", "op": "is_set"}}}"""), properties = new[] { "city", "plan", "age" } });
        Assert.Equal(4, everything["profiles"]!.AsArray().Count);
        foreach (var listed in everything["profiles"]!.AsArray())
        {
            var single = await server.CallAsync("get_profile", new { profile_id = (string?)listed!["profile_id"] });
            var expected = single["properties"]!.AsObject().Where(p => p.Key is "city" or "plan" or "age").ToDictionary(p => p.Key, p => p.Value!.ToJsonString());
            Assert.Equal(expected, listed["properties"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.ToJsonString()));
        }

        var past = await server.CallAsync("preview_segment", new { definition = Definition(McpTestData.BostonOpeners), as_of = McpTestData.Now.AddDays(-10).ToString("o") });
        Assert.Equal(0, (long)past["count"]!);
        var list = await server.CallAsync("list_segments");
        Assert.DoesNotContain(list["segments"]!.AsArray(), s => (string?)s!["name"] == "Boston openers");
    }

    [Fact]
    public async Task A_compared_value_no_data_holds_comes_back_as_a_value_hint_with_the_closest_values()
    {
        var slipped = await PreviewAsync("""
                {"name": "slips", "condition": {"any": [
                  {"property": {"name": "city", "op": "eq", "value": "boston"}},
                  {"event": {"metric": "Opened Email", "where": [{"name": "subject", "op": "in", "value": ["Sale", "Newz"]}], "op": "gte", "value": 1}}]}}
                """);
        var hints = slipped["value_hints"]!.AsArray();
        Assert.Equal(["condition.any[0].property.value", "condition.any[1].event.where[0].value"], hints.Select(h => (string?)h!["path"]));
        Assert.Equal(["boston", "Newz"], hints.Select(h => (string?)h!["value"]));
        Assert.Equal("Boston", (string?)hints[0]!["closest"]![0]!["value"]);
        Assert.Equal(3, (long)hints[0]!["closest"]![0]!["count"]!);
        Assert.Null(hints[0]!["metric"]);
        Assert.Equal("Opened Email", (string?)hints[1]!["metric"]);
        Assert.Equal("News", (string?)hints[1]!["closest"]![0]!["value"]);
        Assert.Equal(
            "No profile has ever had city = \"boston\"; values are compared exactly, case included (\"ignore_case\": true on the filter compares without case). Closest values now: \"Boston\" (3 profiles), \"Denver\" (1 profile).",
            (string?)hints[0]!["message"]);
        Assert.Contains("values are compared exactly, case included. Closest values: \"News\"", (string?)hints[1]!["message"], StringComparison.Ordinal);

        // The same value without case matches the Bostonians and is no slip; a misspelling still is, in any case.
        var anyCase = await PreviewAsync("""{"name": "any case", "condition": {"property": {"name": "city", "op": "eq", "value": "boston", "ignore_case": true}}}""");
        Assert.Equal(3, (long)anyCase["count"]!);
        Assert.False(anyCase.AsObject().ContainsKey("value_hints"));
        Assert.Equal("Profiles whose city is boston (ignoring case)", (string?)anyCase["read_back"]);
        var misspelt = await PreviewAsync("""{"name": "any case", "condition": {"property": {"name": "city", "op": "eq", "value": "BOSTN", "ignore_case": true}}}""");
        Assert.StartsWith("No profile has ever had city = \"BOSTN\" in any case. Closest values now: \"Boston\"", (string?)misspelt["value_hints"]![0]!["message"], StringComparison.Ordinal);

        // Values the data holds: no hints, and the field is left out.
        var exact = await server.CallAsync("preview_segment", new { definition = Definition(McpTestData.BostonOpeners) });
        Assert.False(exact.AsObject().ContainsKey("value_hints"));

        // A segment is saved with such a value (the data may hold it later), and the hint comes with it.
        var created = await server.CallAsync("create_segment", new { definition = Definition("""{"name": "Denverites", "condition": {"property": {"name": "city", "op": "eq", "value": "Denvr"}}}""") });
        Assert.Equal(0, (long)created["size"]!);
        Assert.Equal("Denver", (string?)created["value_hints"]![0]!["closest"]![0]!["value"]);
        var got = await server.CallAsync("get_segment", new { segment_id = (string?)created["segment_id"] });
        Assert.Equal("condition.property.value", (string?)got["value_hints"]![0]!["path"]);
        await server.CallAsync("delete_segment", new { segment_id = (string?)created["segment_id"] });
    }

    [Fact]
    public async Task A_comparison_reading_numbers_or_dates_on_a_property_holding_none_comes_back_as_a_value_hint()
    {
        var slipped = await PreviewAsync("""
                {"name": "kinds", "condition": {"any": [
                  {"property": {"name": "city", "op": "gt", "value": 3}},
                  {"property": {"name": "city", "op": "after", "value": "2026-01-01"}},
                  {"event": {"metric": "Opened Email", "measure": {"sum": "subject"}, "op": "gt", "value": 0}}]}}
                """);
        Assert.Equal(0, (long)slipped["count"]!);
        var hints = slipped["value_hints"]!.AsArray();
        Assert.Equal(["condition.any[0].property.op", "condition.any[1].property.op", "condition.any[2].event.measure"], hints.Select(h => (string?)h!["path"]));
        Assert.Equal("Boston", (string?)hints[0]!["closest"]![0]!["value"]);
        Assert.Equal(
            "No profile has ever had a number as city, and 'gt' reads it as one, so the comparison holds for no profile (a number is a JSON number or a numeric string such as \"42.5\"). Most common values now: \"Boston\" (3 profiles), \"Denver\" (1 profile).",
            (string?)hints[0]!["message"]);
        Assert.StartsWith("No profile has ever had an ISO-8601 date as city, and 'after' reads it as one", (string?)hints[1]!["message"], StringComparison.Ordinal);
        Assert.StartsWith("No \"Opened Email\" event has a number as subject, and 'sum' reads it as one, so there is nothing to sum", (string?)hints[2]!["message"], StringComparison.Ordinal);

        // Properties holding the kind compared: no hints.
        var fine = await PreviewAsync("""{"name": "fine", "condition": {"event": {"metric": "Placed Order", "measure": {"sum": "$value"}, "op": "gt", "value": 0}}}""");
        Assert.False(fine.AsObject().ContainsKey("value_hints"));
    }

    [Fact]
    public async Task An_empty_conjunction_comes_back_with_each_conditions_count_alone()
    {
        // p3 lives in Denver and ordered 60 days ago; p1 ordered 5 days ago in Boston: each condition holds for one.
        var empty = await PreviewAsync("""
                {"name": "Recent Denver buyers", "condition": {"all": [
                  {"property": {"name": "city", "op": "eq", "value": "Denver"}},
                  {"event": {"metric": "Placed Order", "window": {"last_days": 30}, "op": "gte", "value": 1}}]}}
                """);
        Assert.Equal(0, (long)empty["count"]!);
        var counts = empty["condition_counts"]!.AsArray();
        Assert.Equal(["condition.all[0]", "condition.all[1]"], counts.Select(c => (string?)c!["path"]));
        Assert.Equal([1L, 1L], counts.Select(c => (long)c!["count"]!));
        Assert.Equal("Profiles whose city is Denver", (string?)counts[0]!["read_back"]);

        // Members, or another shape: no counts.
        Assert.False((await server.CallAsync("preview_segment", new { definition = Definition(McpTestData.BostonOpeners) })).AsObject().ContainsKey("condition_counts"));
        Assert.False((await server.CallAsync("preview_segment", new
        {
            definition = Definition("""{"name": "Nobody", "condition": {"property": {"name": "city", "op": "eq", "value": "Paris"}}}"""),
        })).AsObject().ContainsKey("condition_counts"));
    }

    [Fact]
    public async Task Compare_to_says_who_would_enter_and_exit_and_the_update_logs_exactly_those()
    {
        var saved = (string)(await server.CallAsync("create_segment", new
        {
            definition = Definition("""{"name": "Boston residents", "condition": {"property": {"name": "city", "op": "eq", "value": "Boston"}}}"""),
        }))["segment_id"]!;
        var draft = Definition("""{"name": "Boston residents", "condition": {"property": {"name": "plan", "op": "eq", "value": "free"}}}""");

        var preview = await server.CallAsync("preview_segment", new { definition = draft, compare_to = saved, limit = 1 });
        var compared = preview["compared_to"]!;
        Assert.Equal(saved, (string?)compared["segment_id"]);
        Assert.Equal((3L, 1L, 1L, 2L), ((long)compared["matches"]!, (long)compared["in_both"]!, (long)compared["would_enter"]!, (long)compared["would_exit"]!));
        Assert.Equal(["p3"], compared["would_enter_examples"]!.AsArray().Select(m => (string?)m));
        Assert.Equal(["p1", "p4"], compared["would_exit_examples"]!.AsArray().Select(m => (string?)m));

        // The same sets as the two definitions previewed apart.
        var draftMembers = (await server.CallAsync("preview_segment", new { definition = draft }))["members"]!.AsArray().Select(m => (string)m!).ToHashSet();
        var savedMembers = (await server.CallAsync("list_members", new { segment_id = saved }))["members"]!.AsArray().Select(m => (string)m!).ToHashSet();
        Assert.Equal(draftMembers.Intersect(savedMembers).Count(), (long)compared["in_both"]!);
        Assert.Equal(draftMembers.Except(savedMembers).Order(StringComparer.Ordinal), compared["would_enter_examples"]!.AsArray().Select(m => (string?)m));

        // Later pages carry no comparison; a draft built on the segment itself can only narrow it.
        Assert.False((await server.CallAsync("preview_segment", new { definition = draft, compare_to = saved, cursor = (string?)preview["next_cursor"] })).AsObject().ContainsKey("compared_to"));
        var narrowed = (await server.CallAsync("preview_segment", new
        {
            definition = Definition("{\"name\": \"n\", \"condition\": {\"all\": [{\"segment\": {\"id\": \"" + saved + "\"}}, {\"property\": {\"name\": \"plan\", \"op\": \"eq\", \"value\": \"premium\"}}]}}"),
            compare_to = saved,
        }))["compared_to"]!;
        Assert.Equal((1L, 0L, 2L), ((long)narrowed["in_both"]!, (long)narrowed["would_enter"]!, (long)narrowed["would_exit"]!));
        Assert.Contains("compare_to: no segment 'boston-residentz'", await server.FailAsync("preview_segment", new { definition = draft, compare_to = "boston-residentz" }), StringComparison.Ordinal);

        // What the preview said is what the update logs.
        var before = DateTime.UtcNow.ToString("o");
        await server.CallAsync("update_segment", new { segment_id = saved, definition = draft });
        var changes = await server.CallAsync("membership_changes", new { segment_id = saved, since = before });
        Assert.Equal(["p3"], changes["entered"]!.AsArray().Select(c => (string?)c!["profile_id"]));
        Assert.Equal(["p1", "p4"], changes["exited"]!.AsArray().Select(c => (string?)c!["profile_id"]).Order(StringComparer.Ordinal));
        await server.CallAsync("delete_segment", new { segment_id = saved });
    }

    [Fact]
    public async Task Invalid_definitions_list_every_problem_with_its_path_and_suggestions()
    {
        var error = await server.FailAsync("preview_segment", new
        {
            definition = Definition("""
                {"name": "typos", "condition": {"all": [
                  {"event": {"metric": "Opened Emial", "op": "gte", "value": 1}},
                  {"property": {"name": "ctiy", "op": "eq", "value": "Boston"}}]}}
                """),
        });
        Assert.Contains("condition.all[0].event.metric", error, StringComparison.Ordinal);
        Assert.Contains("'Opened Email'", error, StringComparison.Ordinal);
        Assert.Contains("condition.all[1].property.name", error, StringComparison.Ordinal);
        Assert.Contains("'city'", error, StringComparison.Ordinal);

        // A missing field and a misspelt name are reported together, not one after the other.
        var both = await server.FailAsync("create_segment", new
        {
            definition = Definition("""{"name": "both", "condition": {"not": {"event": {"metric": "Opened Emial", "window": {"last_days": 7}}}}}"""),
        });
        Assert.Contains("condition.not.event.op: Missing required field 'op'", both, StringComparison.Ordinal);
        Assert.Contains("condition.not.event.metric: Unknown metric 'Opened Emial'. Did you mean 'Opened Email'", both, StringComparison.Ordinal);
        Assert.DoesNotContain((await server.CallAsync("list_segments", new { }))["segments"]!.AsArray(), s => (string?)s!["name"] == "both");
        Assert.Contains("limit", await server.FailAsync("preview_segment", new { definition = Definition(McpTestData.Buyers), limit = 5000 }), StringComparison.Ordinal);
        Assert.Contains("as_of", await server.FailAsync("preview_segment", new { definition = Definition(McpTestData.Buyers), as_of = "yesterday" }), StringComparison.Ordinal);

        // A draft is never saved: it needs no name and may be its bare condition; a saved segment needs both.
        var named = await server.CallAsync("preview_segment", new { definition = Definition(McpTestData.BostonOpeners) });
        var unnamed = await server.CallAsync("preview_segment", new { definition = Definition("""{"condition": {"property": {"name": "city", "op": "eq", "value": "Boston"}}}""") });
        var bare = await server.CallAsync("preview_segment", new { definition = Definition("""{"property": {"name": "city", "op": "eq", "value": "Boston"}}""") });
        Assert.Equal((string?)unnamed["read_back"], (string?)bare["read_back"]);
        Assert.Equal(unnamed["members"]!.ToJsonString(), bare["members"]!.ToJsonString());
        Assert.True((long)bare["count"]! >= (long)named["count"]!);
        Assert.Contains("name: Missing required field 'name'", await server.FailAsync("create_segment", new { definition = Definition("""{"condition": {"property": {"name": "city", "op": "is_set"}}}""") }), StringComparison.Ordinal);
        Assert.Contains(
            "property: 'property' is a condition: a definition holds its condition inside \"condition\"",
            await server.FailAsync("create_segment", new { definition = Definition("""{"name": "bare", "property": {"name": "city", "op": "is_set"}}""") }),
            StringComparison.Ordinal);

        // Shapes of other query languages are answered with this language's spelling.
        var foreign = await server.FailAsync("preview_segment", new
        {
            definition = Definition("""{"name": "x", "condition": {"and": [{"event": {"metric": "Opened Email", "last_days": 7, "count": {"$gte": 2}}}]}}"""),
        });
        Assert.Contains("condition.and: Unknown condition 'and'. Did you mean 'all'?", foreign, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Segment_lifecycle_create_read_count_list_update_changes_delete()
    {
        var created = await server.CallAsync("create_segment", new { definition = Definition(McpTestData.BostonOpeners) });
        var id = (string)created["segment_id"]!;
        Assert.Equal(2, (long)created["size"]!);

        // The same definition created again (a retried call) is a copy, and the note names the original.
        // (Other tests of this class may have saved the same definition: the original named is any of them.)
        var copy = await server.CallAsync("create_segment", new { definition = Definition(McpTestData.BostonOpeners) });
        var copyId = (string)copy["segment_id"]!;
        Assert.NotEqual(id, copyId);
        Assert.Matches(
            $"^Segment '[a-z0-9-]+' already has this exact definition, so '{copyId}' is a copy of it. If an earlier create_segment only seemed to fail, delete_segment '{copyId}'.$",
            (string?)copy["note"]);
        await server.CallAsync("delete_segment", new { segment_id = copyId });

        Assert.NotNull(created["evaluated_at"]);
        Assert.False(string.IsNullOrEmpty((string?)created["read_back"]));

        var got = await server.CallAsync("get_segment", new { segment_id = id });
        Assert.Equal("Boston openers", (string?)got["name"]);
        Assert.Equal(1, (int)got["version"]!);
        Assert.NotNull(got["definition"]!["condition"]);
        Assert.False(got.AsObject().ContainsKey("value_hints"));

        var listed = await server.CallAsync("list_segments", new { limit = 1000 });
        Assert.Contains(listed["segments"]!.AsArray(), s => (string?)s!["id"] == id);
        var found = (await server.CallAsync("list_segments", new { search = " BOSTON open " }))["segments"]!.AsArray();
        Assert.Contains(found, s => (string?)s!["id"] == id);
        Assert.All(found, s => Assert.Contains("boston open", ((string?)s!["name"])!.ToLowerInvariant(), StringComparison.Ordinal));
        Assert.Empty((await server.CallAsync("list_segments", new { search = "no segment is called this" }))["segments"]!.AsArray());
        var count = await server.CallAsync("count_members", new { segment_id = id });
        Assert.Equal(2, (long)count["count"]!);

        var page1 = await server.CallAsync("list_members", new { segment_id = id, limit = 1 });
        Assert.Equal(2, (long)page1["count"]!);
        var page2 = await server.CallAsync("list_members", new { segment_id = id, limit = 1, cursor = (string?)page1["next_cursor"] });
        Assert.Equal(["p1", "p2"], page1["members"]!.AsArray().Concat(page2["members"]!.AsArray()).Select(m => (string?)m));

        var updated = await server.CallAsync("update_segment", new
        {
            segment_id = id,
            definition = Definition("""{"property": {"name": "city", "op": "eq", "value": "Boston"}}"""),
        });
        Assert.Equal(2, (int)updated["version"]!);
        Assert.Equal(3, (long)updated["size"]!);
        var afterUpdate = await server.CallAsync("get_segment", new { segment_id = id });
        Assert.Equal("Boston openers", (string?)afterUpdate["name"]);
        Assert.Equal("Boston openers", (string?)afterUpdate["definition"]!["name"]);

        // Both versions, newest first, each with its read-back and definition; a page of one leads to the other.
        var versions = await server.CallAsync("segment_versions", new { segment_id = id });
        Assert.Equal(2, (int)versions["current_version"]!);
        Assert.Null((string?)versions["next_cursor"]);
        var items = versions["versions"]!.AsArray();
        Assert.Equal([2, 1], items.Select(v => (int)v!["version"]!));
        Assert.Equal("Profiles whose city is Boston", (string?)items[0]!["read_back"]);
        Assert.Equal((string?)created["read_back"], (string?)items[1]!["read_back"]);
        Assert.Equal("Boston", (string?)items[0]!["definition"]!["condition"]!["property"]!["value"]);
        Assert.NotNull(items[1]!["saved_at"]);
        var newest = await server.CallAsync("segment_versions", new { segment_id = id, limit = 1 });
        var older = await server.CallAsync("segment_versions", new { segment_id = id, limit = 1, cursor = (string?)newest["next_cursor"] });
        Assert.Equal([2, 1], newest["versions"]!.AsArray().Concat(older["versions"]!.AsArray()).Select(v => (int)v!["version"]!));
        Assert.Null((string?)older["next_cursor"]);
        Assert.StartsWith("limit: 101 is out of range; give 1 to 100", await server.FailAsync("segment_versions", new { segment_id = id, limit = 101 }), StringComparison.Ordinal);
        Assert.Contains("Did you mean", await server.FailAsync("segment_versions", new { segment_id = id + "x" }), StringComparison.Ordinal);

        // Who they are, in the same call: each member's properties as of the evaluation, a missing one left out.
        var described = await server.CallAsync("list_members", new { segment_id = id, properties = new[] { "plan", "city" } });
        Assert.Equal(["p1", "p2", "p4"], described["members"]!.AsArray().Select(m => (string?)m));
        var profiles = described["profiles"]!.AsArray();
        Assert.Equal(["p1", "p2", "p4"], profiles.Select(p => (string?)p!["profile_id"]));
        Assert.Equal("premium", (string?)profiles[0]!["properties"]!["plan"]);
        Assert.Equal("free", (string?)profiles[1]!["properties"]!["plan"]);
        Assert.Equal("Boston", (string?)profiles[2]!["properties"]!["city"]);
        Assert.False(profiles[2]!["properties"]!.AsObject().ContainsKey("plan"));
        Assert.Contains("Did you mean 'city'", await server.FailAsync("list_members", new { segment_id = id, properties = new[] { "cty" } }), StringComparison.Ordinal);

        var changes = await server.CallAsync("membership_changes", new { segment_id = id, properties = new[] { "plan" } });
        Assert.Equal(["p1", "p2", "p4"], changes["entered"]!.AsArray().Select(c => (string?)c!["profile_id"]).Order());
        Assert.Equal(["p1", "p2", "p4"], changes["profiles"]!.AsArray().Select(p => (string?)p!["profile_id"]));
        Assert.Equal("premium", (string?)changes["profiles"]![0]!["properties"]!["plan"]);
        Assert.Empty(changes["exited"]!.AsArray());
        var own = await server.CallAsync("membership_changes", new { segment_id = id, profile_id = "p2" });
        Assert.Equal(["p2"], own["entered"]!.AsArray().Select(c => (string?)c!["profile_id"]));
        Assert.StartsWith("profile_id: no profile 'P2' in this workspace. Did you mean 'p2'?", await server.FailAsync("membership_changes", new { segment_id = id, profile_id = "P2" }), StringComparison.Ordinal);

        Assert.Contains("Did you mean", await server.FailAsync("get_segment", new { segment_id = id + "x" }), StringComparison.Ordinal);

        // Segments are also called by name, by tools and in references: the id is named with it.
        var name = (string)(await server.CallAsync("get_segment", new { segment_id = id }))["name"]!;
        Assert.Contains($"Did you mean '{id}' (named \"{name}\")?", await server.FailAsync("count_members", new { segment_id = name.ToUpperInvariant() }), StringComparison.Ordinal);
        Assert.Contains(
            $"condition.segment.id: Unknown segment '{name}' for this tenant. Did you mean '{id}' (named \"{name}\")?",
            await server.FailAsync("preview_segment", new { definition = Definition("""{"name": "ref", "condition": {"segment": {"id": "NAME"}}}""".Replace("NAME", name, StringComparison.Ordinal)) }),
            StringComparison.Ordinal);
        var deleted = await server.CallAsync("delete_segment", new { segment_id = id });
        Assert.True((bool)deleted["deleted"]!);
        Assert.False((bool)(await server.CallAsync("delete_segment", new { segment_id = id }))["deleted"]!);
        await server.FailAsync("count_members", new { segment_id = id });
    }

    [Fact]
    public async Task Check_membership_gives_evidence_per_condition()
    {
        var member = await server.CallAsync("check_membership", new { profile_id = "p1", definition = Definition(McpTestData.BostonOpeners) });
        Assert.True((bool)member["member"]!);
        var conditions = member["conditions"]!.AsArray();
        Assert.Equal(["condition", "condition.all[0]", "condition.all[1]"], conditions.Select(c => (string?)c!["path"]));
        Assert.Equal(2, (long)conditions[1]!["evidence"]!["events_in_window"]!);
        Assert.Equal("Boston", (string?)conditions[2]!["evidence"]!["value"]);

        var outsider = await server.CallAsync("check_membership", new { profile_id = "p3", definition = Definition(McpTestData.BostonOpeners) });
        Assert.False((bool)outsider["member"]!);
        Assert.True((bool)outsider["conditions"]![1]!["matched"]!);
        Assert.False((bool)outsider["conditions"]![2]!["matched"]!);
        Assert.Equal("Denver", (string?)outsider["conditions"]![2]!["evidence"]!["value"]);
        Assert.False(member.AsObject().ContainsKey("note"));
        Assert.False(outsider.AsObject().ContainsKey("note"));

        // An id no data has: a negated condition holds for it, and the note says the answer is about nobody.
        var nobody = await server.CallAsync("check_membership", new
        {
            profile_id = "P1",
            definition = Definition("""{"name": "Non-buyers", "condition": {"not": {"event": {"metric": "Placed Order", "op": "gte", "value": 1}}}}"""),
        });
        Assert.True((bool)nobody["member"]!);
        Assert.StartsWith("No event or profile record in this workspace has the id 'P1', so this is the answer for a profile with no data at all. Did you mean 'p1'?", (string?)nobody["note"], StringComparison.Ordinal);

        Assert.Contains("exactly one", await server.FailAsync("check_membership", new { profile_id = "p1" }), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_membership_gives_evidence_for_behavioural_conditions()
    {
        // p1 opened an email 1 and 2 days ago (subjects Sale, News) and ordered 5 days ago; p3 ordered 60 days ago.
        var p1 = await server.CallAsync("check_membership", new
        {
            profile_id = "p1",
            definition = Definition("""
                {"name": "Behaviour", "condition": {"all": [
                  {"first_time": {"metric": "Opened Email", "window": {"last_days": 7}}},
                  {"regularly": {"metric": "Opened Email", "period": "day", "periods": 7, "min_periods": 2, "op": "gte", "value": 1}},
                  {"last_event": {"metric": "Opened Email", "property": "subject", "op": "eq", "value": "Sale"}},
                  {"sequence": {"steps": [{"metric": "Placed Order"}, {"metric": "Opened Email", "where": [{"name": "subject", "op": "eq", "value": "Sale"}]}], "within_hours": 240, "window": {"last_days": 30}}}]}}
                """),
        });
        Assert.True((bool)p1["member"]!);
        var evidence = p1["conditions"]!.AsArray().Skip(1).Select(c => c!["evidence"]!).ToList();
        Assert.Equal(2, (long)evidence[0]["events_in_window"]!);
        Assert.Equal(0, (long)evidence[0]["events_before_window"]!);
        Assert.NotNull(evidence[0]["first_ever"]);
        Assert.Equal(7, evidence[1]["periods"]!.AsArray().Count);
        Assert.Equal(2, (long)evidence[1]["periods_meeting"]!);
        Assert.Equal("Sale", (string?)evidence[2]["value"]);
        Assert.Equal([1L, 2L], evidence[3]["steps"]!.AsArray().Select(step => (long)step!["events_in_window"]!));
        Assert.Equal(1, (long)evidence[3]["steps"]![1]!["matching_in_window"]!);
        Assert.False(evidence[3]["steps"]![0]!.AsObject().ContainsKey("matching_in_window"));
        Assert.StartsWith("events_… counts, first and last are of every event of the metric; matching_… of those passing the where filters", (string?)evidence[3]["note"], StringComparison.Ordinal);

        var p3 = await server.CallAsync("check_membership", new
        {
            profile_id = "p3",
            definition = Definition("""{"name": "Lapsed", "condition": {"stopped": {"metric": "Placed Order", "before_days": [30, 90], "recent_days": 30}}}"""),
        });
        Assert.True((bool)p3["member"]!);
        var stopped = p3["conditions"]![0]!["evidence"]!;
        Assert.Equal(1, (long)stopped["events_between"]!);
        Assert.Equal(0, (long)stopped["events_recent"]!);
    }

    [Fact]
    public async Task Check_membership_says_when_the_stored_members_lag_the_answer_now()
    {
        // A workspace of its own: an order written after the evaluation makes p2 a buyer before the next one.
        const string tenant = "drift";
        await McpTestData.SeedAsync(fixture.Engine, fixture.Schema, tenant, string.Empty);
        await using var own = await McpPipeServer.StartAsync(fixture.Engine, fixture.Schema, tenant);
        var id = (string)(await own.CallAsync("create_segment", new { definition = Definition(McpTestData.Buyers) }))["segment_id"]!;

        var p1 = await own.CallAsync("check_membership", new { profile_id = "p1", segment_id = id });
        Assert.Equal((true, true), ((bool)p1["member"]!, (bool)p1["stored_member"]!));
        Assert.NotNull(p1["stored_evaluated_at"]);
        Assert.False(p1.AsObject().ContainsKey("note"));

        var order = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["tenant"] = tenant,
            ["metric"] = "Placed Order",
            ["profile_id"] = "p2",
            ["ts"] = DateTime.UtcNow.AddMinutes(-1).ToString("yyyy-MM-dd HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture),
            ["value"] = 5,
            ["properties"] = new Dictionary<string, string>(),
        });
        await fixture.Engine.InsertJsonEachRowAsync(fixture.Schema.Events, System.Text.Encoding.UTF8.GetBytes(order), null);
        var p2 = await own.CallAsync("check_membership", new { profile_id = "p2", segment_id = id });
        Assert.Equal((true, false), ((bool)p2["member"]!, (bool)p2["stored_member"]!));
        Assert.Contains("do not include this profile, but evaluated now it matches: the next evaluation", (string?)p2["note"], StringComparison.Ordinal);

        // After a refresh they agree again; a draft has no stored members.
        await own.CallAsync("refresh_segments", new { });
        var refreshed = await own.CallAsync("check_membership", new { profile_id = "p2", segment_id = id });
        Assert.Equal((true, true), ((bool)refreshed["member"]!, (bool)refreshed["stored_member"]!));
        Assert.False(refreshed.AsObject().ContainsKey("note"));
        Assert.False((await own.CallAsync("check_membership", new { profile_id = "p2", definition = Definition(McpTestData.Buyers) })).AsObject().ContainsKey("stored_member"));
    }

    [Fact]
    public async Task Check_membership_evidence_counts_what_the_condition_reads()
    {
        // p1 opened an email 1 day ago (Sale) and 2 days ago (News) and ordered 5 days ago for 120.
        var p1 = await server.CallAsync("check_membership", new
        {
            profile_id = "p1",
            definition = Definition("""
                {"name": "Filtered", "condition": {"any": [
                  {"event": {"metric": "Opened Email", "where": [{"name": "subject", "op": "eq", "value": "Sale"}], "window": {"last_days": 30}, "op": "gte", "value": 2}},
                  {"event": {"metric": "Placed Order", "measure": {"sum": "$value"}, "window": {"last_days": 30}, "op": "gt", "value": 100}},
                  {"event": {"metric": "Placed Order", "measure": {"avg": "$value"}, "window": {"last_days": 1}, "op": "gte", "value": 0}},
                  {"regularly": {"metric": "Opened Email", "where": [{"name": "subject", "op": "eq", "value": "Sale"}], "period": "day", "periods": 7, "min_periods": 2, "op": "gte", "value": 1}},
                  {"first_time": {"metric": "Opened Email", "where": [{"name": "subject", "op": "eq", "value": "News"}], "window": {"last_days": 7}}},
                  {"stopped": {"metric": "Opened Email", "where": [{"name": "subject", "op": "eq", "value": "News"}], "before_days": [1, 7], "recent_days": 1}}]}}
                """),
        });
        var checks = p1["conditions"]!.AsArray().Skip(1).ToList();
        var evidence = checks.Select(c => c!["evidence"]!).ToList();

        // Two opens in the window, one of them a Sale: the count compared with 2 is 1, so the condition fails.
        Assert.False((bool)checks[0]!["matched"]!);
        Assert.Equal((2L, 1L, 1.0), ((long)evidence[0]["events_in_window"]!, (long)evidence[0]["matching_events"]!, (double)evidence[0]["measured_value"]!));
        Assert.Equal(McpTestData.Now.AddDays(-1), (DateTime)evidence[0]["last_matching"]!, TimeSpan.FromSeconds(1));
        Assert.Contains("matching_events", (string?)evidence[0]["note"], StringComparison.Ordinal);

        // A measure shows the number compared; one of no events is null, and the condition is false.
        Assert.True((bool)checks[1]!["matched"]!);
        Assert.Equal(120.0, (double)evidence[1]["measured_value"]!);
        Assert.False(evidence[1].AsObject().ContainsKey("matching_events"));
        Assert.False((bool)checks[2]!["matched"]!);
        Assert.Null(evidence[2]["measured_value"]);

        // Only the Sale open counts for regularly: one day of the seven meets, not the two the condition asks for.
        Assert.False((bool)checks[3]!["matched"]!);
        Assert.Equal(1, (long)evidence[3]["periods_meeting"]!);
        Assert.Equal(1, evidence[3]["periods"]!.AsArray().Sum(period => (long)period!["events"]!));

        // The first News open is 2 days ago, although an open (Sale) came later and the metric's first is older.
        Assert.True((bool)checks[4]!["matched"]!);
        Assert.Equal(McpTestData.Now.AddDays(-2), (DateTime)evidence[4]["first_matching_ever"]!, TimeSpan.FromSeconds(1));
        Assert.Equal((2L, 1L), ((long)evidence[4]["events_in_window"]!, (long)evidence[4]["matching_in_window"]!));

        // Stopped: of the two opens between 1 and 7 days ago one is News, and none is in the last day.
        Assert.True((bool)checks[5]!["matched"]!);
        Assert.Equal((2L, 1L, 0L), ((long)evidence[5]["events_between"]!, (long)evidence[5]["matching_between"]!, (long)evidence[5]["matching_recent"]!));
    }

    [Fact]
    public async Task Explain_overlap_refresh_and_profile()
    {
        var a = (string)(await server.CallAsync("create_segment", new { definition = Definition(McpTestData.BostonOpeners) }))["segment_id"]!;
        var b = (string)(await server.CallAsync("create_segment", new { definition = Definition(McpTestData.Buyers) }))["segment_id"]!;

        var explained = await server.CallAsync("explain_segment", new { segment_id = a });
        var sql = (string)explained["sql"]!;
        Assert.Contains("{tenant:String}", sql, StringComparison.Ordinal);
        Assert.DoesNotContain("Boston", sql, StringComparison.Ordinal);
        Assert.Contains(explained["parameters"]!.AsArray(), p => ((string?)p!["value"])!.Contains("Boston", StringComparison.Ordinal));

        var overlap = await server.CallAsync("segment_overlap", new { segment_ids = new[] { a, b } });
        Assert.Equal(2, (long)overlap["sizes"]![a]!);
        Assert.Equal(2, (long)overlap["sizes"]![b]!);
        Assert.Equal(1, (long)Assert.Single(overlap["pairs"]!.AsArray())!["both"]!);
        Assert.Contains("2 to 8", await server.FailAsync("segment_overlap", new { segment_ids = new[] { a } }), StringComparison.Ordinal);

        var progress = new List<ProgressNotificationValue>();
        var refreshed = await server.CallAsync("refresh_segments", null, new SyncProgressRecorder(progress));
        Assert.Contains(refreshed["segments"]!.AsArray(), s => (string?)s!["segment_id"] == a);
        Assert.NotNull(refreshed["statistics"]);

        // Who the Boston openers (p1, p2) are: both in Boston, one on each plan (a tie, in value order), one age known.
        var breakdown = await server.CallAsync("segment_breakdown", new { segment_id = a, properties = new[] { "city", "plan", "age" } });
        Assert.Equal(2, (long)breakdown["members"]!);
        var byProperty = breakdown["properties"]!.AsArray().ToDictionary(p => (string)p!["property"]!, p => p!);
        Assert.Equal("""[{"value":"Boston","count":2,"share":1}]""", byProperty["city"]["top_values"]!.ToJsonString());
        Assert.Equal("""[{"value":"free","count":1,"share":0.5},{"value":"premium","count":1,"share":0.5}]""", byProperty["plan"]["top_values"]!.ToJsonString());
        Assert.Equal((1L, 1L, 41.0), ((long)byProperty["age"]["with_value"]!, (long)byProperty["age"]["without_value"]!, (double)byProperty["age"]["numbers"]!["median"]!));
        Assert.Null(byProperty["city"]["numbers"]);
        Assert.Contains("Did you mean 'city'", await server.FailAsync("segment_breakdown", new { segment_id = a, properties = new[] { "cty" } }), StringComparison.Ordinal);

        // The buyers' order amounts ($value, any metric's own number) in the last 30 days: p1's 120 (p3's is older).
        var amounts = await server.CallAsync("segment_breakdown", new { segment_id = b, events = new[] { new { metric = "Placed Order", property = "$value", last_days = 30 } } });
        var numbers = amounts["events"]![0]!["numbers"]!;
        Assert.Equal((1L, 120.0, 120.0, 1L, 120.0), ((long)numbers["events"]!, (double)numbers["sum"]!, (double)numbers["mean"]!, (long)numbers["profiles"]!, (double)numbers["mean_per_profile"]!));
        Assert.Null((await server.CallAsync("segment_breakdown", new { segment_id = b, events = new[] { new { metric = "Placed Order", property = "sku", last_days = 30 } } }))["events"]![0]!["numbers"]);
        Assert.Contains(
            "no profile property 'subject' in this workspace. 'subject' is a property of 'Opened Email' events, not of profiles.",
            await server.FailAsync("segment_breakdown", new { segment_id = a, properties = new[] { "subject" } }),
            StringComparison.Ordinal);
        Assert.StartsWith("properties: give 1 to 10", await server.FailAsync("segment_breakdown", new { segment_id = a, properties = Array.Empty<string>() }), StringComparison.Ordinal);
        // A draft is evaluated now (or at as_of), nothing saved: Boston's profiles are p1, p2 and p4.
        var draft = await server.CallAsync("segment_breakdown", new { definition = Definition("""{"name": "Bostonians", "condition": {"property": {"name": "city", "op": "eq", "value": "Boston"}}}"""), properties = new[] { "plan" } });
        Assert.Null(draft["segment_id"]);
        Assert.Equal(3, (long)draft["members"]!);
        Assert.Equal((2L, 1L), ((long)draft["properties"]![0]!["with_value"]!, (long)draft["properties"]![0]!["without_value"]!));
        Assert.StartsWith("as_of: only for a draft", await server.FailAsync("segment_breakdown", new { segment_id = a, properties = new[] { "city" }, as_of = "2026-01-01" }), StringComparison.Ordinal);
        Assert.StartsWith("Give exactly one of segment_id", await server.FailAsync("segment_breakdown", new { properties = new[] { "city" } }), StringComparison.Ordinal);
        // By event property: the Boston openers' emails of the last 30 days by subject (p1: Sale and News, p2: Sale).
        var opened = await server.CallAsync("segment_breakdown", new { segment_id = a, events = new[] { new { metric = "Opened Email", property = "subject", last_days = 30 } } });
        var subjects = opened["events"]![0]!;
        Assert.Equal((3L, 2L, 0L, 2L), ((long)subjects["events"]!, (long)subjects["profiles"]!, (long)subjects["without_events"]!, (long)subjects["distinct_values"]!));
        Assert.Equal("""[{"value":"Sale","events":2,"profiles":2,"share":1},{"value":"News","events":1,"profiles":1,"share":0.5}]""", subjects["top_values"]!.ToJsonString());
        Assert.Contains(
            "events[0].property: 'Opened Email' events have no property 'city'. 'city' is a profile property, not a property of 'Opened Email' events.",
            await server.FailAsync("segment_breakdown", new { segment_id = a, events = new[] { new { metric = "Opened Email", property = "city" } } }),
            StringComparison.Ordinal);
        Assert.StartsWith(
            "events[0].last_dys: not a field. Did you mean 'last_days'",
            await server.FailAsync("segment_breakdown", new { segment_id = a, events = new[] { new { metric = "Opened Email", property = "subject", last_dys = 30 } } }),
            StringComparison.Ordinal);
        Assert.StartsWith("events[0].last_days: give a whole number", await server.FailAsync("segment_breakdown", new { segment_id = a, events = new[] { new { metric = "Opened Email", property = "subject", last_days = 0 } } }), StringComparison.Ordinal);
        Assert.StartsWith("events[0].last_days: give a whole number", await server.FailAsync("segment_breakdown", new { segment_id = a, events = new[] { new { metric = "Opened Email", property = "subject", last_days = "30" } } }), StringComparison.Ordinal);
        Assert.StartsWith("events[0].metric: required", await server.FailAsync("segment_breakdown", new { segment_id = a, events = new[] { new { metric = 3, property = "subject" } } }), StringComparison.Ordinal);
        Assert.Equal(
            "events[0]: give an object {\"metric\": M, \"property\": P, \"last_days\": N}. Did you mean {\"metric\": \"Opened Email\", \"property\": \"subject\", \"last_days\": 7}?",
            await server.FailAsync("segment_breakdown", new { segment_id = a, events = new[] { "Opened Email:subject:7" } }));
        Assert.StartsWith(
            "events[0].properties: not a field. One property per item",
            await server.FailAsync("segment_breakdown", new { segment_id = a, events = new[] { new { metric = "Opened Email", properties = new[] { "subject" } } } }),
            StringComparison.Ordinal);
        Assert.StartsWith("property: not an argument of segment_breakdown. Did you mean 'properties'?", await server.FailAsync("segment_breakdown", new { segment_id = a, property = "city" }), StringComparison.Ordinal);
        Assert.StartsWith("top: 51 is out of range", await server.FailAsync("segment_breakdown", new { segment_id = a, properties = new[] { "city" }, top = 51 }), StringComparison.Ordinal);

        // Evaluated today only: one day, whose entries are its two members.
        var growth = await server.CallAsync("segment_growth", new { segment_id = a, days = 7 });
        Assert.Equal(2, (long)growth["size"]!);
        var today = Assert.Single(growth["history"]!.AsArray())!;
        Assert.Equal((2L, 2L, 0L), ((long)today["size"]!, (long)today["entered"]!, (long)today["exited"]!));
        Assert.StartsWith("days: 0 is out of range", await server.FailAsync("segment_growth", new { segment_id = a, days = 0 }), StringComparison.Ordinal);

        // The same log per segment in list_segments: from the time a's members entered, its two entries; from a millisecond
        // later, none; without the argument, no counts.
        JsonNode? Listed(JsonNode list) => list["segments"]!.AsArray().Single(item => (string?)item!["id"] == a);
        var entries = (await server.CallAsync("membership_changes", new { segment_id = a }))["entered"]!.AsArray();
        Assert.Equal(2, entries.Count);
        var evaluatedAt = entries.Select(e => DateTimeOffset.Parse((string)e!["at"]!, CultureInfo.InvariantCulture)).Distinct().Single();
        var moved = Listed(await server.CallAsync("list_segments", new { changes_since = evaluatedAt.ToString("O", CultureInfo.InvariantCulture) }))!;
        Assert.Equal((2L, 0L), ((long)moved["entered"]!, (long)moved["exited"]!));
        var later = Listed(await server.CallAsync("list_segments", new { changes_since = evaluatedAt.AddMilliseconds(1).ToString("O", CultureInfo.InvariantCulture) }))!;
        Assert.Equal((0L, 0L), ((long)later["entered"]!, (long)later["exited"]!));
        Assert.False(Listed(await server.CallAsync("list_segments", new { }))!.AsObject().ContainsKey("entered"));
        Assert.StartsWith("changes_since:", await server.FailAsync("list_segments", new { changes_since = "last week" }), StringComparison.Ordinal);

        var profile = await server.CallAsync("get_profile", new { profile_id = "p1" });
        Assert.Equal("Boston", (string?)profile["properties"]!["city"]);
        Assert.Equal(41, (double)profile["properties"]!["age"]!);
        Assert.Equal("Opened Email", (string?)profile["recent_events"]![0]!["metric"]);
        Assert.Contains(a, profile["segments"]!.AsArray().Select(s => (string?)s));

        // Its activity per metric, latest first; recent events of one metric, or fewer of them.
        var activity = profile["activity"]!.AsArray();
        Assert.Equal([("Opened Email", 2L), ("Placed Order", 1L)], activity.Select(m => ((string)m!["metric"]!, (long)m["events"]!)));
        Assert.True((DateTime)activity[0]!["first"]! < (DateTime)activity[0]!["last"]!);
        Assert.Equal((DateTime)activity[1]!["first"]!, (DateTime)activity[1]!["last"]!);
        var orders = await server.CallAsync("get_profile", new { profile_id = "p1", metric = "Placed Order" });
        var order = Assert.Single(orders["recent_events"]!.AsArray())!;
        Assert.Equal(("Placed Order", 120.0, "A1"), ((string)order["metric"]!, (double)order["value"]!, (string)order["properties"]!["sku"]!));
        Assert.Single((await server.CallAsync("get_profile", new { profile_id = "p1", limit = 1 }))["recent_events"]!.AsArray());
        Assert.False(profile.AsObject().ContainsKey("as_of"));

        // As of 3 days ago: the email opens (1 and 2 days ago) had not happened; the order (5 days ago) had.
        var earlier = await server.CallAsync("get_profile", new { profile_id = "p1", as_of = DateTime.UtcNow.AddDays(-3).ToString("O") });
        Assert.Equal(["Placed Order"], earlier["recent_events"]!.AsArray().Select(e => (string?)e!["metric"]));
        Assert.Equal(["Placed Order"], earlier["activity"]!.AsArray().Select(m => (string?)m!["metric"]));
        Assert.Equal("Boston", (string?)earlier["properties"]!["city"]);
        Assert.NotNull(earlier["as_of"]);
        Assert.StartsWith("properties, recent_events and activity are as of as_of", (string?)earlier["note"], StringComparison.Ordinal);
        Assert.Contains("Did you mean 'Placed Order'", await server.FailAsync("get_profile", new { profile_id = "p1", metric = "Placed Ordr" }), StringComparison.Ordinal);
        Assert.EndsWith("'city' is a profile property, not a metric.", await server.FailAsync("get_profile", new { profile_id = "p1", metric = "city" }), StringComparison.Ordinal);
        Assert.StartsWith("limit: 0 is out of range; give 1 to 100", await server.FailAsync("get_profile", new { profile_id = "p1", limit = 0 }), StringComparison.Ordinal);
        Assert.StartsWith("profile_id: no profile 'nobody' in this workspace. Ids are exact", await server.FailAsync("get_profile", new { profile_id = "nobody" }), StringComparison.Ordinal);

        // Case and surrounding white space are the usual slips in a retyped id: the id that exists is named.
        Assert.StartsWith("profile_id: no profile ' P1' in this workspace. Did you mean 'p1'?", await server.FailAsync("get_profile", new { profile_id = " P1" }), StringComparison.Ordinal);

        // A property value given as an id (an email address, usually) names the profile that has it, a value of a few
        // profiles names them all.
        Assert.StartsWith(
            "profile_id: no profile 'denver' in this workspace. 'Denver' is the city of profile 'p3': call get_profile with \"profile_id\": \"p3\". Ids are exact",
            await server.FailAsync("get_profile", new { profile_id = "denver" }),
            StringComparison.Ordinal);
        Assert.Contains("'Boston' is the city of profiles 'p1', 'p2', 'p4'.", await server.FailAsync("get_profile", new { profile_id = "Boston" }), StringComparison.Ordinal);
        var checkedByValue = await server.CallAsync("check_membership", new { profile_id = "Denver", segment_id = b });
        Assert.Contains("'Denver' is the city of profile 'p3': call check_membership with \"profile_id\": \"p3\".", (string)checkedByValue["note"]!, StringComparison.Ordinal);

        await server.CallAsync("delete_segment", new { segment_id = a });
        await server.CallAsync("delete_segment", new { segment_id = b });

        // The next refresh removes what the deleted segments stored.
        var purging = await server.CallAsync("refresh_segments", new { });
        var purged = purging["purged_segment_ids"]!.AsArray().Select(id => (string?)id).ToList();
        Assert.Contains(a, purged);
        Assert.Contains(b, purged);
        Assert.DoesNotContain(a, (await server.CallAsync("refresh_segments", new { }))["purged_segment_ids"]!.AsArray().Select(id => (string?)id));
    }

    [Fact]
    public async Task Resources_serve_the_language_schema_the_catalog_and_segments()
    {
        var dsl = await server.Client.ReadResourceAsync("segmentmcp://dsl/schema");
        var schema = JsonNode.Parse(Assert.IsType<TextResourceContents>(Assert.Single(dsl.Contents)).Text)!;
        Assert.Contains("anniversary_in_next_days", schema.ToJsonString(), StringComparison.Ordinal);

        var catalog = await server.Client.ReadResourceAsync("segmentmcp://schema");
        var names = JsonNode.Parse(Assert.IsType<TextResourceContents>(Assert.Single(catalog.Contents)).Text)!;
        Assert.Equal("acme", (string?)names["tenant"]);
        Assert.NotNull(names["metrics"]!["Placed Order"]);

        var id = (string)(await server.CallAsync("create_segment", new { definition = Definition(McpTestData.Buyers) }))["segment_id"]!;
        var segment = await server.Client.ReadResourceAsync($"segmentmcp://segments/{id}");
        Assert.Equal("Buyers", (string?)JsonNode.Parse(Assert.IsType<TextResourceContents>(Assert.Single(segment.Contents)).Text)!["name"]);
        await Assert.ThrowsAnyAsync<McpException>(() => server.Client.ReadResourceAsync("segmentmcp://segments/does-not-exist").AsTask());

        // resources/list offers the saved segment itself, named and described, beside the static resources.
        var listed = await server.Client.ListResourcesAsync();
        var resource = Assert.Single(listed, r => r.Uri == $"segmentmcp://segments/{id}");
        Assert.Equal("Buyers", resource.ProtocolResource.Title);
        Assert.Contains("members as of", resource.Description, StringComparison.Ordinal);
        Assert.Contains(listed, r => r.Uri == "segmentmcp://schema");
        await server.CallAsync("delete_segment", new { segment_id = id });
        Assert.DoesNotContain(await server.Client.ListResourcesAsync(), r => r.Uri == $"segmentmcp://segments/{id}");
    }

    [Fact]
    public async Task Resources_list_pages_through_every_saved_segment_of_the_workspace_only()
    {
        // A workspace of its own, with more saved segments than one page holds.
        const string tenant = "resource-pages";
        var store = new SegmentStore(fixture.Engine, fixture.Schema);
        var ids = new List<string>();
        for (var i = 0; i < SegmentResources.SegmentsPerPage + 5; i++)
        {
            ids.Add((await store.SaveAsync(tenant, null, $"Segment {i:D3}", null, McpTestData.Buyers, CancellationToken.None)).Id);
        }

        await using var own = await McpPipeServer.StartAsync(fixture.Engine, fixture.Schema, tenant);
        var first = await own.Client.ListResourcesAsync(new ListResourcesRequestParams());
        Assert.NotNull(first.NextCursor);
        var second = await own.Client.ListResourcesAsync(new ListResourcesRequestParams { Cursor = first.NextCursor });
        Assert.Null(second.NextCursor);
        var segments = first.Resources.Concat(second.Resources).Select(r => r.Uri).Where(uri => uri.StartsWith("segmentmcp://segments/", StringComparison.Ordinal)).ToList();
        Assert.Equal(ids.Order(StringComparer.Ordinal).Select(id => $"segmentmcp://segments/{Uri.EscapeDataString(id)}"), segments);
        Assert.Contains(first.Resources, r => r.Uri == "segmentmcp://schema");
        Assert.DoesNotContain(second.Resources, r => r.Uri == "segmentmcp://schema");

        // Another workspace's client sees none of them.
        Assert.DoesNotContain(await server.Client.ListResourcesAsync(), r => r.Uri.Contains("segment-0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_subscribed_segment_notifies_when_members_change_a_version_is_saved_or_it_is_deleted()
    {
        // resources/subscribe is the revisions' up to 2025-11-25 (2026-07-28 replaced it by subscriptions/listen).
        await using var server = await McpPipeServer.StartAsync(fixture.Engine, fixture.Schema, "acme", new ModelContextProtocol.Client.McpClientOptions { ProtocolVersion = "2025-11-25" });
        Assert.True(server.Client.ServerCapabilities.Resources?.Subscribe);
        var id = (string)(await server.CallAsync("create_segment", new
        {
            definition = Definition("""{"name": "Watched", "condition": {"property": {"name": "city", "op": "eq", "value": "Boston"}}}"""),
        }))["segment_id"]!;
        var uri = $"segmentmcp://segments/{id}";
        var updates = System.Threading.Channels.Channel.CreateUnbounded<string>();
        var changes = System.Threading.Channels.Channel.CreateUnbounded<string?>();
        var listChanges = System.Threading.Channels.Channel.CreateUnbounded<string>();
        await using var listChanged = server.Client.RegisterNotificationHandler(NotificationMethods.ResourceListChangedNotification, (notification, token) => listChanges.Writer.WriteAsync(notification.Method, token));
        await using (await server.Client.SubscribeToResourceAsync(uri, async (update, token) =>
        {
            await changes.Writer.WriteAsync(update.Meta?["segmentmcp/change"]?.ToJsonString(), token);
            await updates.Writer.WriteAsync(update.Uri, token);
        }))
        {
            // An evaluation that changes nothing says nothing; a new version does (the notification goes out before the result).
            await server.CallAsync("refresh_segments", new { });
            await server.CallAsync("update_segment", new { segment_id = id, definition = Definition("""{"condition": {"property": {"name": "city", "op": "eq", "value": "Denver"}}}""") });
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            Assert.Equal(uri, await updates.Reader.ReadAsync(wait.Token));
            Assert.Contains("\"version\":2,\"new_version\":true", await changes.Reader.ReadAsync(wait.Token), StringComparison.Ordinal);
            await Task.Delay(200);
            Assert.False(updates.Reader.TryRead(out _), "one notification per change");

            // The session was promised resources.listChanged: deleting a segment changes resources/list.
            // (Each update's _meta says what changed; the listen test checks it.)
            await server.CallAsync("delete_segment", new { segment_id = id });
            Assert.Equal(uri, await updates.Reader.ReadAsync(wait.Token));
            Assert.Equal(NotificationMethods.ResourceListChangedNotification, await listChanges.Reader.ReadAsync(wait.Token));
        }

        var unknown = await Assert.ThrowsAsync<McpProtocolException>(() => server.Client.SubscribeToResourceAsync("segmentmcp://segments/no-such-segment"));
        Assert.Contains("Resource not found: no saved segment 'no-such-segment'", unknown.Message, StringComparison.Ordinal);
        var other = await Assert.ThrowsAsync<McpProtocolException>(() => server.Client.SubscribeToResourceAsync("segmentmcp://schema"));
        Assert.Contains("Only saved segments send updates: subscribe to segmentmcp://segments/{id}", other.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Listening_streams_a_watched_segments_updates_and_the_list_changes_tagged_with_the_request()
    {
        // 2026-07-28 replaced resources/subscribe by subscriptions/listen: one request whose stream carries what it asked for.
        await using var server = await McpPipeServer.StartAsync(fixture.Engine, fixture.Schema, "acme", new ModelContextProtocol.Client.McpClientOptions { ProtocolVersion = "2026-07-28" });
        Assert.True(server.Client.ServerCapabilities.Resources?.Subscribe);
        var watched = (string)(await server.CallAsync("create_segment", new { definition = Definition("""{"name": "Watched", "condition": {"property": {"name": "city", "op": "eq", "value": "Boston"}}}""") }))["segment_id"]!;
        var other = (string)(await server.CallAsync("create_segment", new { definition = Definition("""{"name": "Other", "condition": {"property": {"name": "city", "op": "eq", "value": "Boston"}}}""") }))["segment_id"]!;
        var uri = $"segmentmcp://segments/{watched}";

        await using (var stream = await ListenStream.OpenAsync(server.Client, "watch-1", new SubscriptionsListenNotifications
        {
            ResourceSubscriptions = [uri, uri],
            ResourcesListChanged = true,
            ToolsListChanged = true,
        }))
        {
            // Granted: the segment once and the resource list; the tool list never changes, so it is not promised.
            Assert.Equal([uri], stream.Granted.ResourceSubscriptions);
            Assert.True(stream.Granted.ResourcesListChanged);
            Assert.Null(stream.Granted.ToolsListChanged);

            // An evaluation that changes nothing sends nothing, and another segment's new version is not this stream's
            // concern; renaming it changes resources/list. What arrives next is therefore the list change.
            await server.CallAsync("refresh_segments", new { });
            await server.CallAsync("update_segment", new { segment_id = other, definition = Definition("""{"name": "Other, renamed", "condition": {"property": {"name": "city", "op": "eq", "value": "Denver"}}}""") });
            await stream.ListChangedAsync();

            // A new version of the watched segment (same name: the list is unchanged), then its deletion.
            var saved = await server.CallAsync("update_segment", new { segment_id = watched, definition = Definition("""{"condition": {"property": {"name": "city", "op": "eq", "value": "Denver"}}}""") });
            var change = await stream.UpdatedAsync(uri);
            Assert.Equal((2, true, (long)saved["size"]!, (string?)saved["evaluated_at"]), ((int)change["version"]!, (bool)change["new_version"]!, (long)change["size"]!, (string?)change["evaluated_at"]));
            Assert.True((long)change["entered"]! + (long)change["exited"]! > 0, "Boston's members left and Denver's came");
            await server.CallAsync("delete_segment", new { segment_id = watched });
            Assert.Equal([NotificationMethods.ResourceListChangedNotification, $"{NotificationMethods.ResourceUpdatedNotification} {uri} {{\"deleted\":true}}"], await stream.NextSortedAsync(2));
        }

        // Once cancelled, a stream gets nothing more: the next list change reaches only the stream open then.
        await using (var second = await ListenStream.OpenAsync(server.Client, "watch-2", new SubscriptionsListenNotifications { ResourcesListChanged = true }))
        {
            Assert.Null(second.Granted.ResourceSubscriptions);
            await server.CallAsync("create_segment", new { definition = Definition("""{"name": "Third", "condition": {"property": {"name": "plan", "op": "eq", "value": "free"}}}""") });
            await second.ListChangedAsync();
        }

        // A workspace holds at most 100 open streams; the 101st is refused, and ending one makes room again.
        var open = new List<ListenStream>();
        for (var i = 0; i < SegmentSubscriptions.MaxListenersPerTenant; i++)
        {
            open.Add(await ListenStream.OpenAsync(server.Client, $"many-{i}", new SubscriptionsListenNotifications { ResourcesListChanged = true }));
        }

        var tooMany = await ListenStream.RefusedAsync(server.Client, new SubscriptionsListenNotifications { ResourcesListChanged = true });
        Assert.Contains("already has 100 open subscriptions/listen requests", tooMany.Message, StringComparison.Ordinal);
        await open[0].DisposeAsync();
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                // The server ends a stream when the client's cancellation reaches it, a moment after the client gave up.
                await (await ListenStream.OpenAsync(server.Client, $"room-again-{attempt}", new SubscriptionsListenNotifications { ResourcesListChanged = true })).DisposeAsync();
                break;
            }
            catch (McpProtocolException refusedAgain) when (attempt < 100 && refusedAgain.Message.Contains("already has 100", StringComparison.Ordinal))
            {
                await Task.Delay(50);
            }
        }

        foreach (var stream in open.Skip(1))
        {
            await stream.DisposeAsync();
        }

        var unknown = await ListenStream.RefusedAsync(server.Client, new SubscriptionsListenNotifications { ResourceSubscriptions = [$"segmentmcp://segments/{other}", "segmentmcp://segments/no-such-segment"] });
        Assert.Contains("Resource not found: no saved segment 'no-such-segment'", unknown.Message, StringComparison.Ordinal);
        Assert.Contains("notifications.resourceSubscriptions[1]", unknown.Message, StringComparison.Ordinal);
        var schema = await ListenStream.RefusedAsync(server.Client, new SubscriptionsListenNotifications { ResourceSubscriptions = ["segmentmcp://schema"] });
        Assert.Contains("Only saved segments send updates: subscribe to segmentmcp://segments/{id}, not 'segmentmcp://schema' (notifications.resourceSubscriptions[0])", schema.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prompts_render_with_the_tenant_catalog()
    {
        var prompts = await server.Client.ListPromptsAsync();
        Assert.Equal(["audit_segment", "build_segment", "compare_segments", "explain_profile", "segments_report"], prompts.Select(p => p.Name).Order(StringComparer.Ordinal));

        var built = await server.Client.GetPromptAsync("build_segment", new Dictionary<string, object?> { ["goal"] = "Bostonians who open emails" });
        var text = Assert.IsType<TextContentBlock>(Assert.Single(built.Messages).Content).Text;
        Assert.Contains("Bostonians who open emails", text, StringComparison.Ordinal);
        Assert.Contains("Opened Email", text, StringComparison.Ordinal);
        Assert.Contains("preview_segment", text, StringComparison.Ordinal);
        Assert.DoesNotContain("{{$", text, StringComparison.Ordinal);

        // Only the optional arguments the caller set are shown, each with its name.
        Assert.Contains("Starting points the person gave: none.", text, StringComparison.Ordinal);
        var started = await server.Client.GetPromptAsync("build_segment", new Dictionary<string, object?> { ["goal"] = "buyers", ["metric"] = "Placed Order", ["value"] = " " });
        Assert.Contains("Starting points the person gave: metric \"Placed Order\".", Assert.IsType<TextContentBlock>(Assert.Single(started.Messages).Content).Text, StringComparison.Ordinal);

        foreach (var (name, arguments) in new (string, Dictionary<string, object?>)[]
        {
            ("explain_profile", new() { ["profile_id"] = "p1" }),
            ("compare_segments", new() { ["segment_ids"] = "a,b" }),
            ("audit_segment", new() { ["segment_id"] = "a" }),
            ("segments_report", new() { ["since"] = "2026-11-30" }),
        })
        {
            var rendered = await server.Client.GetPromptAsync(name, arguments);
            Assert.Contains("acme", Assert.IsType<TextContentBlock>(Assert.Single(rendered.Messages).Content).Text, StringComparison.Ordinal);
        }

        var report = await server.Client.GetPromptAsync("segments_report", new Dictionary<string, object?> { ["since"] = "2026-11-30" });
        var reportText = Assert.IsType<TextContentBlock>(Assert.Single(report.Messages).Content).Text;
        Assert.Contains("since 2026-11-30", reportText, StringComparison.Ordinal);
        Assert.Contains("list_segments with changes_since", reportText, StringComparison.Ordinal);
        Assert.DoesNotContain("{{$", reportText, StringComparison.Ordinal);

        var error = await Assert.ThrowsAsync<McpProtocolException>(() => server.Client.GetPromptAsync("build_segment", new Dictionary<string, object?>()).AsTask());
        Assert.Contains("goal", error.Message, StringComparison.Ordinal);
        Assert.Equal(McpErrorCode.InvalidParams, error.ErrorCode);
        var unknown = await Assert.ThrowsAsync<McpProtocolException>(() => server.Client.GetPromptAsync("build_segmnt", new Dictionary<string, object?>()).AsTask());
        Assert.Equal(McpErrorCode.InvalidParams, unknown.ErrorCode);
        Assert.Contains("Did you mean 'build_segment'", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_agent_prompt_is_not_an_mcp_prompt_and_renders_with_the_catalog()
    {
        var prompts = new SegmentPrompts(McpTestData.PromptsDirectory());
        Assert.DoesNotContain(prompts.List().Prompts, p => p.Name.Contains("agent", StringComparison.Ordinal));
        await using var services = Core.App.SegmentServices.Build(fixture.Engine, fixture.Schema);
        var text = await prompts.RenderAgentAsync(
            "acme",
            new Dictionary<string, string> { ["now"] = "2026-11-20T12:00:00.000Z" },
            services.GetRequiredService<ISegmentStore>(),
            services.GetRequiredService<Core.App.DefinitionService>(),
            CancellationToken.None);
        Assert.Contains("workspace acme", text, StringComparison.Ordinal);
        Assert.Contains("Now is 2026-11-20T12:00:00.000Z", text, StringComparison.Ordinal);
        Assert.Contains("metric \"Placed Order\"", text, StringComparison.Ordinal);
        Assert.Contains("preview_segment", text, StringComparison.Ordinal);
        Assert.DoesNotContain("{{$", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Completions_for_metrics_properties_values_and_segment_ids()
    {
        var prompt = new PromptReference { Name = "build_segment" };
        Assert.Contains("Opened Email", (await server.Client.CompleteAsync(prompt, "metric", "Op")).Completion.Values);
        Assert.Equal(["city"], (await server.Client.CompleteAsync(prompt, "property", "ci")).Completion.Values);
        var values = await server.Client.CompleteAsync(new CompleteRequestParams
        {
            Ref = prompt,
            Argument = new Argument { Name = "value", Value = string.Empty },
            Context = new CompleteContext { Arguments = new Dictionary<string, string> { ["property"] = "city" } },
        });
        Assert.Equal(["Boston", "Denver"], values.Completion.Values);

        var id = (string)(await server.CallAsync("create_segment", new { definition = Definition(McpTestData.Buyers) }))["segment_id"]!;
        var ids = await server.Client.CompleteAsync(new ResourceTemplateReference { Uri = "segmentmcp://segments/{id}" }, "id", id[..3]);
        Assert.Contains(id, ids.Completion.Values);
        await server.CallAsync("delete_segment", new { segment_id = id });
    }

    private sealed class SyncProgressRecorder(List<ProgressNotificationValue> values) : IProgress<ProgressNotificationValue>
    {
        public void Report(ProgressNotificationValue value)
        {
            lock (values)
            {
                values.Add(value);
            }
        }
    }
}
