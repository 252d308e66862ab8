using System.Buffers.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Tests.Mcp;

/// <summary>What an attacker or a careless client sends: oversized and mistyped arguments, reference bombs, times out of range.</summary>
[Trait("Category", "Engine")]
public sealed class McpHardeningTests(McpFixture fixture) : IClassFixture<McpFixture>, IAsyncLifetime
{
    private McpPipeServer server = null!;

    public async Task InitializeAsync() => server = await McpPipeServer.StartAsync(fixture.Engine, fixture.Schema, "acme");

    public async Task DisposeAsync() => await server.DisposeAsync();

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement;

    private static JsonElement AnyOf(string segmentId, int references) =>
        Json("{\"name\": \"any of " + references + "\", \"condition\": {\"any\": [" + string.Join(", ", Enumerable.Repeat(Reference(segmentId), references)) + "]}}");

    private static string Reference(string segmentId) => "{\"segment\": {\"id\": \"" + segmentId + "\"}}";

    private async Task<string> CreateAsync(JsonElement definition) => (string)(await server.CallAsync("create_segment", new { definition }))["segment_id"]!;

    [Fact]
    public async Task Inlined_references_are_bounded_and_what_is_accepted_runs_on_the_engine()
    {
        // 4 leaves of different kinds, 16 × 4 = 64, 16 × 64 = 1,024: the largest definition the limits allow.
        var l0 = await CreateAsync(Json("""
            {"name": "mixed four", "condition": {"all": [
              {"event": {"metric": "Opened Email", "where": [{"name": "subject", "op": "eq", "value": "Sale"}], "window": {"last_days": 30}, "op": "gte", "value": 1}},
              {"property": {"name": "city", "op": "in", "value": ["Boston", "Denver"]}},
              {"not": {"event": {"metric": "Placed Order", "window": {"last_days": 2}, "op": "gte", "value": 1}}},
              {"event": {"metric": "Placed Order", "measure": {"sum": "$value"}, "op": "gte", "value": 0}}]}}
            """));
        var l1 = await CreateAsync(AnyOf(l0, 16));
        var l2 = await CreateAsync(AnyOf(l1, 16));
        var expected = (long)(await server.CallAsync("preview_segment", new { definition = Json("""
            {"name": "reference", "condition": {"all": [
              {"event": {"metric": "Opened Email", "where": [{"name": "subject", "op": "eq", "value": "Sale"}], "window": {"last_days": 30}, "op": "gte", "value": 1}},
              {"property": {"name": "city", "op": "in", "value": ["Boston", "Denver"]}},
              {"not": {"event": {"metric": "Placed Order", "window": {"last_days": 2}, "op": "gte", "value": 1}}},
              {"event": {"metric": "Placed Order", "measure": {"sum": "$value"}, "op": "gte", "value": 0}}]}}
            """) }))["count"]!;
        Assert.True(expected > 0);
        Assert.Equal(expected, (long)(await server.CallAsync("count_members", new { segment_id = l2 }))["count"]!);
        Assert.Equal(expected, (long)(await server.CallAsync("preview_segment", new { definition = AnyOf(l2, 1) }))["count"]!);

        // One more doubling is refused everywhere, naming where the size comes from.
        foreach (var tool in new[] { "preview_segment", "create_segment", "explain_segment" })
        {
            var error = await server.FailAsync(tool, new { definition = AnyOf(l2, 2) });
            Assert.Contains("2,048 leaf conditions", error, StringComparison.Ordinal);
            Assert.Contains("at most 1,024", error, StringComparison.Ordinal);
            Assert.Contains($"condition.any[0].segment.id → '{l2}' with 1,024 ('{l2}' → '{l1}' → '{l0}')", error, StringComparison.Ordinal);
        }

        // Growing a referenced segment is refused when a segment that references it would cross the bound.
        var grown = AnyOf(l0, 17);
        var refused = await server.FailAsync("update_segment", new { segment_id = l1, definition = grown });
        Assert.Contains($"Saved segment '{l2}' references this segment", refused, StringComparison.Ordinal);
        Assert.Equal(1, (int)(await server.CallAsync("get_segment", new { segment_id = l1 }))["version"]!);

        // Reference chains are at most four deep.
        var chain = l0;
        for (var depth = 1; depth <= 4; depth++)
        {
            chain = await CreateAsync(Json("{\"name\": \"depth " + depth + "\", \"condition\": " + Reference(chain) + "}"));
        }

        var tooDeep = await server.FailAsync("preview_segment", new { definition = Json("{\"name\": \"depth 5\", \"condition\": {\"not\": " + Reference(chain) + "}}") });
        Assert.Contains("condition.not.segment.id: Segment references nest 5 deep", tooDeep, StringComparison.Ordinal);
        Assert.Contains("at most 4 levels", tooDeep, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_heaviest_inlined_parameters_the_limits_allow_run_and_more_is_refused()
    {
        // Four leaves with 1,000-value lists (about 220 KB of JSON), referenced four times: close to the 1 MiB of
        // inlined conditions allowed. A fifth reference crosses it.
        var values = string.Join(", ", Enumerable.Range(0, 999).Select(i => $"\"{new string('v', 50)}{i}\"").Append("\"Boston\""));
        var city = "{\"property\": {\"name\": \"city\", \"op\": \"in\", \"value\": [" + values + "]}}";
        var opened = "{\"event\": {\"metric\": \"Opened Email\", \"where\": [{\"name\": \"subject\", \"op\": \"not_in\", \"value\": [" + values + "]}], \"op\": \"gte\", \"value\": 1}}";
        var heavy = Json("{\"name\": \"heavy\", \"condition\": {\"all\": [" + city + ", " + opened + ", " + city + ", " + opened + "]}}");
        var expected = (long)(await server.CallAsync("preview_segment", new { definition = heavy }))["count"]!;
        Assert.True(expected > 0);
        var id = await CreateAsync(heavy);

        Assert.Equal(expected, (long)(await server.CallAsync("preview_segment", new { definition = AnyOf(id, 4) }))["count"]!);
        var refused = await server.FailAsync("preview_segment", new { definition = AnyOf(id, 5) });
        Assert.Contains("characters of conditions; at most 1,048,576 are allowed", refused, StringComparison.Ordinal);
        Assert.Contains($"condition.any[0].segment.id → '{id}'", refused, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reference_bomb_stored_before_the_limits_fails_its_tick_with_a_clear_error_and_spares_the_rest()
    {
        var store = new SegmentStore(fixture.Engine, fixture.Schema);
        const string Tenant = "bombed";
        var leaf = await store.SaveAsync(Tenant, null, "leaf", null, """{"name": "leaf", "condition": {"property": {"name": "city", "op": "is_set"}}}""", CancellationToken.None);
        var level = leaf.Id;
        for (var i = 1; i <= 3; i++)
        {
            var refs = string.Join(", ", Enumerable.Repeat($$$"""{"segment": {"id": "{{{level}}}"}}""", 64));
            level = (await store.SaveAsync(Tenant, null, $"level {i}", null, $$$"""{"name": "level {{{i}}}", "condition": {"any": [{{{refs}}}]}}""", CancellationToken.None)).Id;
        }

        var evaluator = new SegmentEvaluator(fixture.Engine, fixture.Schema);
        var failed = await Assert.ThrowsAsync<TickFailedException>(() => evaluator.TickAsync(Tenant, null, null, CancellationToken.None));
        Assert.Contains($"{Tenant}/{level}", failed.Failures.Keys);
        Assert.Contains("262,144 leaf conditions", failed.Failures[$"{Tenant}/{level}"].Message, StringComparison.Ordinal);
        Assert.Contains(failed.Report.Segments, s => s.SegmentId == leaf.Id);
    }

    [Fact]
    public async Task Prompts_render_again_and_again_without_changing_their_arguments()
    {
        var before = await server.Client.ListPromptsAsync();
        for (var i = 0; i < 3; i++)
        {
            var built = await server.Client.GetPromptAsync("build_segment", new Dictionary<string, object?> { ["goal"] = $"goal number {i}" });
            Assert.Contains($"goal number {i}", Assert.IsType<TextContentBlock>(Assert.Single(built.Messages).Content).Text, StringComparison.Ordinal);
        }

        var after = await server.Client.ListPromptsAsync();
        foreach (var prompt in after)
        {
            var arguments = prompt.ProtocolPrompt.Arguments ?? [];
            Assert.DoesNotContain(arguments, a => a.Name is "tenant" or "catalog" or "segments");
            Assert.Equal(
                (before.Single(p => p.Name == prompt.Name).ProtocolPrompt.Arguments ?? []).Select(a => (a.Name, a.Required)),
                arguments.Select(a => (a.Name, a.Required)));
        }

        Assert.Equal(["goal"], after.Single(p => p.Name == "build_segment").ProtocolPrompt.Arguments!.Where(a => a.Required == true).Select(a => a.Name));
    }

    [Fact]
    public async Task Refresh_never_moves_stored_evaluation_into_the_future_or_back_in_time()
    {
        var id = await CreateAsync(Json(McpTestData.BostonOpeners));
        var saved = await server.CallAsync("get_segment", new { segment_id = id });
        var evaluatedAt = (DateTime)saved["evaluated_at"]!;
        var size = (long)saved["size"]!;

        var future = await server.FailAsync("refresh_segments", new { as_of = DateTime.UtcNow.AddDays(40).ToString("yyyy-MM-dd") });
        Assert.StartsWith("as_of:", future, StringComparison.Ordinal);
        Assert.Contains("in the future", future, StringComparison.Ordinal);

        var past = await server.FailAsync("refresh_segments", new { as_of = evaluatedAt.AddHours(-1).ToString("yyyy-MM-ddTHH:mm:ss.fffZ") });
        Assert.StartsWith("as_of:", past, StringComparison.Ordinal);
        Assert.Contains("nothing was evaluated", past, StringComparison.Ordinal);
        Assert.Contains("is before the last evaluation of '", past, StringComparison.Ordinal);

        // Nothing moved: the segment keeps its evaluation, and the next refresh and create work.
        var unchanged = await server.CallAsync("get_segment", new { segment_id = id });
        Assert.Equal(evaluatedAt, (DateTime)unchanged["evaluated_at"]!);
        Assert.Equal(size, (long)(await server.CallAsync("count_members", new { segment_id = id }))["count"]!);
        var refreshed = await server.CallAsync("refresh_segments", new { });
        Assert.True((DateTime)refreshed["evaluated_at"]! >= evaluatedAt);
        await CreateAsync(Json(McpTestData.Buyers));

        // preview_segment stores nothing, so any time in range is fine.
        var ahead = await server.CallAsync("preview_segment", new { definition = Json(McpTestData.Buyers), as_of = "2030-01-01" });
        Assert.Equal(new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc), (DateTime)ahead["evaluated_at"]!);
    }

    [Fact]
    public async Task A_segment_frozen_in_the_future_by_an_earlier_version_is_re_evaluated_at_now()
    {
        var id = await CreateAsync(Json(McpTestData.BostonOpeners));
        var expected = (long)(await server.CallAsync("count_members", new { segment_id = id }))["count"]!;
        Assert.True(expected > 0);

        // What refresh_segments {"as_of": "2027-…"} used to store: a future evaluation time, and nothing evaluated.
        var store = new SegmentStore(fixture.Engine, fixture.Schema);
        var future = DateTime.UtcNow.AddDays(400);
        await store.WriteStateAsync("acme", id, new SegmentState(1, future, DateTime.UtcNow, 0), CancellationToken.None);
        Assert.Equal(future.Date, ((DateTime)(await server.CallAsync("get_segment", new { segment_id = id }))["evaluated_at"]!).Date);

        var refreshed = await server.CallAsync("refresh_segments", new { });
        var now = (DateTime)refreshed["evaluated_at"]!;
        var segment = await server.CallAsync("get_segment", new { segment_id = id });
        Assert.Equal(now, (DateTime)segment["evaluated_at"]!);
        Assert.Equal(expected, (long)segment["size"]!);
        Assert.Equal(expected, (long)(await server.CallAsync("count_members", new { segment_id = id }))["count"]!);
        await CreateAsync(Json(McpTestData.Buyers));
    }

    [Fact]
    public async Task Oversized_arguments_are_refused_first_and_echoed_short()
    {
        var huge = new string('x', 10_000_000);
        foreach (var (tool, arguments) in new (string, object)[]
        {
            ("get_segment", new { segment_id = huge }),
            ("delete_segment", new { segment_id = huge }),
            ("check_membership", new { profile_id = huge, segment_id = "a" }),
            ("get_profile", new { profile_id = huge }),
            ("segment_overlap", new { segment_ids = new[] { "a", huge } }),
            ("preview_segment", new { definition = Json(McpTestData.Buyers), as_of = huge }),
            ("list_segments", new { cursor = huge }),
            ("describe_schema", new { metric = huge }),
        })
        {
            var error = await server.FailAsync(tool, arguments);
            Assert.True(error.Length < 300, $"{tool}: an error of {error.Length} characters");
            Assert.Contains("at most", error, StringComparison.Ordinal);
            Assert.Contains("10,000,000", error, StringComparison.Ordinal);
        }

        var unknown = await server.FailAsync("get_segment", new { segment_id = new string('y', 200) });
        Assert.Contains(new string('y', 79) + "…", unknown, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('y', 81), unknown, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("list_segments", """{"limit": 5.5}""", "limit: must be a whole number from 1 to 1000 (got 5.5)")]
    [InlineData("list_segments", """{"limit": 1e309}""", "limit: must be a whole number from 1 to 1000 (got 1e309)")]
    [InlineData("list_segments", """{"limit": 2147483648}""", "limit: must be a whole number from 1 to 1000 (got 2147483648)")]
    [InlineData("list_segments", """{"limit": "10"}""", "limit: must be a whole number from 1 to 1000 (got a string)")]
    [InlineData("list_segments", """{"limit": 0}""", "limit: 0 is out of range; give 1 to 1000")]
    [InlineData("get_segment", """{"segment_id": 123}""", "segment_id: must be a string (got 123)")]
    [InlineData("get_segment", """{}""", "segment_id: required; give a non-empty string.")]
    [InlineData("get_segment", """{"segment_id": null}""", "segment_id: required; give a non-empty string.")]
    [InlineData("segment_overlap", """{"segment_ids": "a,b"}""", "segment_ids: must be an array (got a string)")]
    [InlineData("segment_overlap", """{"segment_ids": ["a", 2]}""", "segment_ids[1]: must be a string (got 2)")]
    [InlineData("preview_segment", """{"definition": {"name": "x", "condition": {"property": {"name": "city", "op": "is_set"}}}, "as_of": "2026-02-30"}""", "as_of: '2026-02-30' is not an ISO-8601 time from 1900 to 2299")]
    [InlineData("preview_segment", """{"definition": {"name": "x", "condition": {"property": {"name": "city", "op": "is_set"}}}, "as_of": "1900-01-01T00:30:00+01:00"}""", "as_of: '1900-01-01T00:30:00+01:00' is not an ISO-8601 time from 1900 to 2299")]
    [InlineData("membership_changes", """{"segment_id": "x", "since": "yesterday"}""", "since: 'yesterday' is not an ISO-8601 time from 1900 to 2299; write e.g. 2026-11-20T10:00:00Z or 2026-11-20 (the server's time now is 2")]
    [InlineData("list_members", """{"segment_id": "x", "properties": "city, plan"}""", "properties: must be an array (got a string). Write [\"city\", \"plan\"].")]
    [InlineData("refresh_segments", """{"as_of": true}""", "as_of: must be a string (got true)")]
    [InlineData("list_members", """{"segment_id": "x", "offset": 100}""", "offset: not an argument of list_members. To page, pass the previous result's next_cursor as 'cursor'.\nlist_members takes segment_id, limit, cursor, properties.")]
    [InlineData("count_members", """{"segment": "x"}""", "segment: not an argument of count_members. Did you mean 'segment_id'?")]
    [InlineData("preview_segment", """{"name": "x", "condition": {"property": {"name": "city", "op": "is_set"}}}""", "condition: not an argument of preview_segment. A definition's fields go inside 'definition'")]
    [InlineData("count_members", """{"definition": {"condition": {"property": {"name": "city", "op": "is_set"}}}}""", "definition: not an argument of count_members. This tool reads saved segments only: preview_segment evaluates a draft definition")]
    [InlineData("segment_overlap", """{"segment_ids": ["a"], "condition": {"property": {"name": "city", "op": "is_set"}}}""", "condition: not an argument of segment_overlap. This tool reads saved segments only")]
    [InlineData("describe_schema", """{"tenant": "other"}""", "tenant: not an argument of describe_schema. The workspace is fixed by the server")]
    [InlineData("list_segments", """{"limit": 5, "sort": "size"}""", "sort: not an argument of list_segments.\nlist_segments takes cursor, limit, search, changes_since.")]
    public async Task Bad_arguments_are_tool_errors_naming_the_argument_and_the_rule(string tool, string arguments, string expected)
    {
        var parsed = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(arguments)!.ToDictionary(p => p.Key, p => (object?)p.Value);
        var result = await server.Client.CallToolAsync(tool, parsed);
        Assert.True(result.IsError);
        var text = Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
        Assert.StartsWith(expected, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Null_for_an_optional_argument_means_absent()
    {
        // The schemas give optional arguments one type; clients that send null for "not given" still succeed.
        var page = await server.CallAsync("list_segments", JsonSerializer.Deserialize<Dictionary<string, JsonElement>>("""{"limit": null, "cursor": null}"""));
        Assert.NotNull(page["segments"]);
        var preview = await server.CallAsync("preview_segment", new Dictionary<string, object?> { ["definition"] = Json(McpTestData.Buyers), ["limit"] = null, ["as_of"] = null, ["properties"] = null });
        Assert.True((long)preview["count"]! >= 0);
    }

    [Theory]
    [InlineData("""["preview_segment", "p1", "1900-01-01T00:30:00+01:00"]""", "preview_segment")]
    [InlineData("""["preview_segment", "p1", "not a time"]""", "preview_segment")]
    [InlineData("""["membership_changes", "SEGMENT", "2300-01-01T00:00:00Z", "p1"]""", "membership_changes")]
    [InlineData("""["describe_schema", "2147483648"]""", "describe_schema")]
    [InlineData("""["describe_schema", "21474837"]""", "describe_schema")]
    [InlineData("""["describe_schema", "-1"]""", "describe_schema")]
    public async Task Cursors_carrying_times_or_pages_out_of_range_are_invalid(string values, string tool)
    {
        var segment = await CreateAsync(Json(McpTestData.Buyers));
        var cursor = Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(values.Replace("SEGMENT", segment, StringComparison.Ordinal)));
        object arguments = tool switch
        {
            "preview_segment" => new { definition = Json(McpTestData.Buyers), cursor },
            "membership_changes" => new { segment_id = segment, cursor },
            _ => new { cursor },
        };
        var error = await server.FailAsync(tool, arguments);
        Assert.StartsWith("cursor:", error, StringComparison.Ordinal);
        Assert.Contains("not valid", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_segment_resource_is_the_specs_resource_not_found()
    {
        var error = await Assert.ThrowsAsync<McpProtocolException>(() => server.Client.ReadResourceAsync("segmentmcp://segments/no-such-segment").AsTask());
        Assert.Equal(McpErrorCode.InvalidParams, error.ErrorCode);
        Assert.Contains("no-such-segment", error.Message, StringComparison.Ordinal);

        var huge = await Assert.ThrowsAsync<McpProtocolException>(() => server.Client.ReadResourceAsync("segmentmcp://segments/" + new string('z', 100_000)).AsTask());
        Assert.Equal(McpErrorCode.InvalidParams, huge.ErrorCode);
        Assert.True(huge.Message.Length < 400);
    }
}
