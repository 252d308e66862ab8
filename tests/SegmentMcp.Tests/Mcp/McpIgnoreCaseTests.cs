using System.Text.Json;

namespace SegmentMcp.Tests.Mcp;

/// <summary>
/// Text typed by people in every case (a contacts export's cities and emails) through a real MCP client over pipes:
/// the case-sensitive filter is told about the other cases, and <c>"ignore_case": true</c> matches them all, in a
/// preview, a saved segment kept current and a membership check alike.
/// </summary>
[Trait("Category", "Engine")]
public sealed class McpIgnoreCaseTests(McpFixture fixture) : IClassFixture<McpFixture>, IAsyncLifetime
{
    private const string Contacts = """
        Id,Email,City
        ann,ann@example.com,Boston
        bob,bob@Example.COM,BOSTON
        cid,cid@example.com,boston
        dee,dee@example.org,Denver
        eve,eve@EXAMPLE.COM,Boston
        """;

    private readonly string file = Path.Combine(Directory.CreateTempSubdirectory("segmentmcp-case-").FullName, "contacts.csv");

    // A workspace of its own: the counts below are this file's alone.
    private readonly string tenant = "case-" + Guid.NewGuid().ToString("N")[..8];
    private McpPipeServer server = null!;

    public async Task InitializeAsync()
    {
        server = await McpPipeServer.StartAsync(fixture.Engine, fixture.Schema, tenant);
        await File.WriteAllTextAsync(file, Contacts + "\n");
        await server.CallAsync("import_file", new { path = file, kind = "profiles", columns = new Dictionary<string, string> { ["profile_id"] = "Id" } });
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        Directory.Delete(Path.GetDirectoryName(file)!, recursive: true);
    }

    private static JsonElement Definition(string condition) =>
        JsonDocument.Parse($$"""{"name": "Bostonians", "condition": {{condition}}}""").RootElement;

    [Fact]
    public async Task A_case_sensitive_value_held_in_other_cases_is_named_and_ignore_case_matches_every_case()
    {
        var exact = await server.CallAsync("preview_segment", new { definition = Definition("""{"property": {"name": "City", "op": "eq", "value": "Boston"}}""") });
        Assert.Equal(["ann", "eve"], exact["members"]!.AsArray().Select(m => (string?)m));
        var hint = Assert.Single(exact["value_hints"]!.AsArray())!;
        Assert.Equal(("condition.property.value", "Boston"), ((string?)hint["path"], (string?)hint["value"]));
        Assert.Equal([("BOSTON", 1L), ("boston", 1L)], hint["closest"]!.AsArray().Select(c => ((string)c!["value"]!, (long)c["count"]!)));
        Assert.Equal(
            "Profiles now also have City = \"BOSTON\" (1 profile), \"boston\" (1 profile): values are compared exactly, case included, so this filter tells them apart from \"Boston\"; with \"ignore_case\": true it does not.",
            (string?)hint["message"]);

        var anyCase = await server.CallAsync("preview_segment", new { definition = Definition("""{"property": {"name": "City", "op": "eq", "value": "boston", "ignore_case": true}}""") });
        Assert.Equal(["ann", "bob", "cid", "eve"], anyCase["members"]!.AsArray().Select(m => (string?)m));
        Assert.False(anyCase.AsObject().ContainsKey("value_hints"));

        // Negated and substring tests ignore case alike.
        var notBoston = await server.CallAsync("preview_segment", new { definition = Definition("""{"property": {"name": "City", "op": "neq", "value": "BOSTON", "ignore_case": true}}""") });
        Assert.Equal(["dee"], notBoston["members"]!.AsArray().Select(m => (string?)m));
        var domain = await server.CallAsync("preview_segment", new { definition = Definition("""{"property": {"name": "Email", "op": "ends_with", "value": "@example.com", "ignore_case": true}}""") });
        Assert.Equal(4L, (long)domain["count"]!);
    }

    [Fact]
    public async Task Describe_schema_groups_the_spellings_of_a_value_before_any_filter_is_written()
    {
        var city = (await server.CallAsync("describe_schema", new { property = "City" }))["properties"]![0]!;
        var group = Assert.Single(city["case_variants"]!.AsArray())!;
        Assert.Equal([("Boston", 2L), ("BOSTON", 1L), ("boston", 1L)], group.AsArray().Select(v => ((string)v!["value"]!, (long)v["count"]!)));

        // Emails differ in case only in their domains here: each address is its own text, so none is grouped.
        var email = (await server.CallAsync("describe_schema", new { property = "Email" }))["properties"]![0]!.AsObject();
        Assert.False(email.ContainsKey("case_variants"));
    }

    [Fact]
    public async Task A_saved_ignore_case_segment_keeps_its_flag_follows_changes_and_explains_a_member()
    {
        var created = await server.CallAsync("create_segment", new { definition = Definition("""{"property": {"name": "City", "op": "in", "value": ["BOSTON"], "ignore_case": true}}""") });
        var id = (string)created["segment_id"]!;
        Assert.Equal(4L, (long)created["size"]!);
        Assert.Equal("Profiles whose City is one of BOSTON (ignoring case)", (string?)created["read_back"]);

        var saved = await server.CallAsync("get_segment", new { segment_id = id });
        Assert.True((bool)saved["definition"]!["condition"]!["property"]!["ignore_case"]!);

        // Dee moves to boston (lower case): the next tick takes her in.
        await File.WriteAllTextAsync(file, "Id,City\ndee,boston\n");
        await server.CallAsync("import_file", new { path = file, kind = "profiles", columns = new Dictionary<string, string> { ["profile_id"] = "Id" } });
        await server.CallAsync("refresh_segments");
        Assert.Equal(5L, (long)(await server.CallAsync("count_members", new { segment_id = id }))["count"]!);

        var check = await server.CallAsync("check_membership", new { segment_id = id, profile_id = "dee" });
        Assert.True((bool)check["member"]!);
        Assert.Equal("boston", (string?)check["conditions"]![0]!["evidence"]!["value"]);
    }
}
