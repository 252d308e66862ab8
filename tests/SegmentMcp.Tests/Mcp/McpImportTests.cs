using System.Text.Json;
using System.Text.Json.Nodes;

namespace SegmentMcp.Tests.Mcp;

/// <summary><c>import_file</c> through a real MCP client over pipes: exports of other tools loaded as they are, and every refusal.</summary>
[Trait("Category", "Engine")]
public sealed class McpImportTests(McpFixture fixture) : IClassFixture<McpFixture>, IAsyncLifetime
{
    private const string Contacts = "Email,City,Plan,Orders Total\nann@example.com,Boston,premium,52.5\nbob@example.com,Denver,free,7\n";

    private const string Orders = "Email,Order Date,Total,Category\nann@example.com,2026-11-20T10:00:00Z,42.5,shoes\nann@example.com,2026-11-21 05:00:00 -0500,10,socks\nbob@example.com,2026-11-22T10:00:00Z,7,socks\n";

    private readonly string directory = Directory.CreateTempSubdirectory("segmentmcp-import-").FullName;

    // A workspace of its own per test: what one test loads, no other sees.
    private readonly string tenant = "import-" + Guid.NewGuid().ToString("N")[..8];
    private McpPipeServer server = null!;

    public async Task InitializeAsync() => server = await McpPipeServer.StartAsync(fixture.Engine, fixture.Schema, tenant);

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Loads_csv_exports_by_their_own_column_names_and_a_second_load_stores_nothing_twice()
    {
        var contacts = Write("contacts.csv", Contacts);
        var orders = Write("orders.csv", Orders);

        var people = await server.CallAsync("import_file", new { path = contacts, kind = "profiles", columns = new Dictionary<string, string> { ["profile_id"] = "Email" } });
        var events = await server.CallAsync(
            "import_file",
            new { path = orders, kind = "events", metric = "Placed Order", columns = new Dictionary<string, string> { ["profile_id"] = "Email", ["timestamp"] = "Order Date", ["value"] = "Total" } });
        var again = await server.CallAsync(
            "import_file",
            new { path = orders, kind = "events", metric = "Placed Order", columns = new Dictionary<string, string> { ["profile_id"] = "Email", ["timestamp"] = "Order Date", ["value"] = "Total" } });

        Assert.Equal((contacts, "profiles", "csv", 3L, 2L, 0L), ((string)people["path"]!, (string)people["kind"]!, (string)people["format"]!, (long)people["lines"]!, (long)people["rows_written"]!, (long)people["invalid_lines"]!));
        Assert.False(people.AsObject().ContainsKey("problems"));
        Assert.Equal(["City", "Plan", "Orders Total"], people["properties"]!.AsArray().Select(p => (string?)p));
        Assert.Equal(["Category"], events["properties"]!.AsArray().Select(p => (string?)p));
        Assert.Equal(("events", 4L, 3L), ((string)events["kind"]!, (long)events["lines"]!, (long)events["rows_written"]!));
        Assert.Equal(3L, (long)again["rows_written"]!);

        // The data answers questions at once: a property and an event condition over what the two files held.
        var preview = await server.CallAsync("preview_segment", new
        {
            definition = JsonDocument.Parse("""
                {"name": "Boston big spenders", "condition": {"all": [
                  {"property": {"name": "City", "op": "eq", "value": "Boston"}},
                  {"property": {"name": "Orders Total", "op": "gt", "value": 50}},
                  {"event": {"metric": "Placed Order", "where": [{"name": "Category", "op": "eq", "value": "shoes"}], "measure": {"sum": "$value"}, "op": "gte", "value": 40}}]}}
                """).RootElement,
        });
        Assert.Equal(1, (long)preview["count"]!);
        Assert.Equal(["ann@example.com"], preview["members"]!.AsArray().Select(m => (string?)m));

        // Loaded twice, stored once.
        var ann = await server.CallAsync("get_profile", new { profile_id = "ann@example.com" });
        Assert.Equal([("Placed Order", 2L)], ann["activity"]!.AsArray().Select(m => ((string)m!["metric"]!, (long)m["events"]!)));
        // A time written as Shopify's exports write it (a space before the zone) is read as the instant it names.
        Assert.Equal(new DateTime(2026, 11, 21, 10, 0, 0, DateTimeKind.Utc), ((DateTime)ann["activity"]![0]!["last"]!).ToUniversalTime());
        Assert.Equal(("Boston", "premium", 52.5), ((string)ann["properties"]!["City"]!, (string)ann["properties"]!["Plan"]!, (double)ann["properties"]!["Orders Total"]!));

        var schema = await server.CallAsync("describe_schema");
        Assert.Equal((2L, 3L), ((long)schema["profiles"]!, (long)schema["events"]!));

    }

    [Fact]
    public async Task A_bad_line_loads_nothing_until_skip_invalid_loads_the_good_ones_and_lists_the_bad()
    {
        var file = Write("events.ndjson", string.Join('\n',
            """{"profile_id":"p1","metric":"Opened Email","timestamp":"2026-11-20T10:00:00Z"}""",
            """{"profile_id":"p2","metric":"Opened Email"}""",
            """{"company_id":"someone-else","profile_id":"p3","metric":"Opened Email","timestamp":"2026-11-20T10:00:00Z"}""",
            """{"profile_id":"p4","metric":"Opened Email","timestamp":"2026-11-21T10:00:00Z"}""") + "\n");

        var check = await server.CallAsync("import_file", new { path = file, kind = "events", dry_run = true });
        var refused = await server.FailAsync("import_file", new { path = file, kind = "events" });
        var empty = await server.CallAsync("describe_schema");
        var loaded = await server.CallAsync("import_file", new { path = file, kind = "events", skip_invalid = true });

        var lines = refused.Split('\n');
        Assert.Equal("events.ndjson: 2 bad lines, so nothing was loaded. Show the user; if they agree to leave the bad lines out, call again with skip_invalid: true.", lines[0]);
        Assert.StartsWith("line 2: ", lines[1], StringComparison.Ordinal);
        Assert.Contains("timestamp", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("line 3: ", lines[2], StringComparison.Ordinal);
        Assert.Contains("someone-else", lines[2], StringComparison.Ordinal);
        Assert.Equal(3, lines.Length);
        Assert.Equal(0, (long)empty["events"]!);
        Assert.Equal((true, 4L, 0L, 2L, 2L), ((bool)check["dry_run"]!, (long)check["lines"]!, (long)check["rows_written"]!, (long)check["valid_rows"]!, (long)check["invalid_lines"]!));
        Assert.Equal([2L, 3L], check["problems"]!.AsArray().Select(p => (long)p!["line"]!));
        Assert.False(check.AsObject().ContainsKey("properties")); // ndjson records name their own
        // The good records as they would be stored (the server's company, times in UTC), to check with the user.
        Assert.Equal(
            """[{"line":1,"profile_id":"p1","metric":"Opened Email","timestamp":"2026-11-20T10:00:00.000Z","value":null,"properties":{}},{"line":4,"profile_id":"p4","metric":"Opened Email","timestamp":"2026-11-21T10:00:00.000Z","value":null,"properties":{}}]""",
            check["sample"]!.ToJsonString());
        Assert.False(loaded.AsObject().ContainsKey("sample"));

        Assert.Equal(("ndjson", 4L, 2L, 2L), ((string)loaded["format"]!, (long)loaded["lines"]!, (long)loaded["rows_written"]!, (long)loaded["invalid_lines"]!));
        Assert.Equal([2L, 3L], loaded["problems"]!.AsArray().Select(p => (long)p!["line"]!));
        Assert.Equal(2, (long)(await server.CallAsync("describe_schema"))["events"]!);
    }

    [Fact]
    public async Task Refuses_what_it_cannot_read_naming_the_argument_and_loads_nothing()
    {
        var contacts = Write("contacts.csv", Contacts);
        var ndjson = Write("people.jsonl", """{"profile_id":"p1","properties":{"city":"Boston"}}""" + "\n");
        var sheet = Write("people.xlsx", "not csv");
        var email = new Dictionary<string, string> { ["profile_id"] = "Email" };

        Assert.StartsWith("path: 'contacts.csv' is relative, and the server's working folder is nothing the user chose.", await server.FailAsync("import_file", new { path = "contacts.csv", kind = "profiles" }), StringComparison.Ordinal);
        Assert.StartsWith($"path: there is no file '{Path.Combine(directory, "nope.csv")}'.", await server.FailAsync("import_file", new { path = Path.Combine(directory, "nope.csv"), kind = "profiles" }), StringComparison.Ordinal);
        Assert.Equal($"path: '{directory}' is a folder; give the file in it to load.", await server.FailAsync("import_file", new { path = directory, kind = "profiles" }));
        Assert.StartsWith("format: required for a file ending in '.xlsx'; give csv, ndjson or json (a spreadsheet must be saved as csv first).", await server.FailAsync("import_file", new { path = sheet, kind = "profiles" }), StringComparison.Ordinal);
        Assert.StartsWith("kind: 'contacts' is not events or profiles", await server.FailAsync("import_file", new { path = contacts, kind = "contacts" }), StringComparison.Ordinal);
        Assert.Equal("columns.properties: for ndjson and json records, whose properties are one object; in a csv every column that is no field's is a property.", await server.FailAsync("import_file", new { path = contacts, kind = "profiles", columns = new Dictionary<string, string> { ["properties"] = "City" } }));
        Assert.Equal("columns.profile_id: give the name of the file's key, as its records write it.", await server.FailAsync("import_file", new { path = ndjson, kind = "profiles", columns = new Dictionary<string, string> { ["profile_id"] = "" } }));
        Assert.StartsWith("columns.email: not a field; fields are profile_id, company_id, metric, timestamp, value, updated_at, properties.", await server.FailAsync("import_file", new { path = contacts, kind = "profiles", columns = new Dictionary<string, string> { ["email"] = "Email" } }), StringComparison.Ordinal);
        Assert.Equal("columns.profile_id: give the name of the file's column, as its header writes it.", await server.FailAsync("import_file", new { path = contacts, kind = "profiles", columns = new Dictionary<string, string> { ["profile_id"] = " " } }));
        Assert.StartsWith("metric: names the event of every row, for kind events", await server.FailAsync("import_file", new { path = contacts, kind = "profiles", columns = email, metric = "Signed Up" }), StringComparison.Ordinal);
        Assert.StartsWith("metric: columns.metric already names the column", await server.FailAsync("import_file", new { path = contacts, kind = "events", metric = "Signed Up", columns = new Dictionary<string, string> { ["metric"] = "Plan" } }), StringComparison.Ordinal);

        // A header without the profile id: nothing can be read, and the message names the columns the file has.
        var header = (await server.FailAsync("import_file", new { path = contacts, kind = "profiles" })).Split('\n');
        Assert.Equal("contacts.csv: Its header cannot be read, so no line can: map the fields to the file's columns with columns (and metric), or tell the user what the file lacks.", header[0]);
        Assert.StartsWith("line 1: ", header[1], StringComparison.Ordinal);
        Assert.Contains("(the header has: Email, City, Plan, Orders Total)", header[1], StringComparison.Ordinal);
        Assert.Contains("""(columns: {"profile_id": COLUMN})""", header[1], StringComparison.Ordinal);
        Assert.DoesNotContain("--map", header[1], StringComparison.Ordinal);
        var orders = Write("orders.csv", Orders);
        var noMetric = await server.FailAsync("import_file", new { path = orders, kind = "events", columns = new Dictionary<string, string> { ["profile_id"] = "Email", ["timestamp"] = "Order Date" } });
        Assert.Contains("(metric: NAME)", noMetric, StringComparison.Ordinal);

        var schema = await server.CallAsync("describe_schema");
        Assert.Equal(0, (long)schema["profiles"]!);
        Assert.Contains("Tell the user: import_file loads a CSV, NDJSON or JSON file from their computer (ask for its path), or they can load data with 'segmentmcp ingest", (string?)schema["note"], StringComparison.Ordinal);
        Assert.Equal(["contacts.csv", "orders.csv", "people.jsonl", "people.xlsx"], Directory.GetFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Puts_the_ids_of_a_file_on_a_new_or_an_existing_list_and_adds_nothing_when_a_line_is_bad()
    {
        var attendees = Write("attendees.csv", "Name,Email\nAnn,ann@example.com\n\"Bob, Jr.\",bob@example.com\nAnn again,ann@example.com\nCy,cy@example.com\n");
        var more = Write("more.txt", "cy@example.com\n\ndee@example.com\n");
        var broken = Write("broken.csv", "Name,Email\nEd,ed@example.com\nFay\n");
        await server.CallAsync("import_file", new { path = Write("people.csv", Contacts), kind = "profiles", columns = new Dictionary<string, string> { ["profile_id"] = "Email" } });

        var created = await server.CallAsync("import_list", new { path = attendees, name = "Webinar attendees", column = "Email" });
        var id = (string)created["list_id"]!;
        var added = await server.CallAsync("import_list", new { path = more, list_id = id });

        Assert.StartsWith("webinar-attendees-", id, StringComparison.Ordinal);
        Assert.Equal(("Webinar attendees", true, 3L, 3L, 0L, 3L), ((string)created["name"]!, (bool)created["created"]!, (long)created["ids_read"]!, (long)created["added"]!, (long)created["already_on"]!, (long)created["size"]!));
        Assert.StartsWith("1 of these ids ('cy@example.com') has no events or profile records in this workspace yet.", (string?)created["note"], StringComparison.Ordinal);
        Assert.Equal((false, 2L, 1L, 1L, 4L), ((bool)added["created"]!, (long)added["ids_read"]!, (long)added["added"]!, (long)added["already_on"]!, (long)added["size"]!));

        // Segments use it at once.
        var preview = await server.CallAsync("preview_segment", new { definition = JsonDocument.Parse($$$"""{"name": "Boston attendees", "condition": {"all": [{"in_list": {"id": "{{{id}}}"}}, {"property": {"name": "City", "op": "eq", "value": "Boston"}}]}}""").RootElement });
        Assert.Equal(["ann@example.com"], preview["members"]!.AsArray().Select(m => (string?)m));

        var bad = (await server.FailAsync("import_list", new { path = broken, name = "Broken", column = "Email" })).Split('\n');
        Assert.Equal("broken.csv: 1 bad line, so no id was added. Tell the user; for a csv, column names the column of the ids.", bad[0]);
        Assert.StartsWith("line 3: ", bad[1], StringComparison.Ordinal);
        Assert.StartsWith("name: give name to create a new list, or list_id", await server.FailAsync("import_list", new { path = more }), StringComparison.Ordinal);
        Assert.StartsWith("name: give name to create a new list, or list_id", await server.FailAsync("import_list", new { path = more, name = "X", list_id = id }), StringComparison.Ordinal);
        Assert.StartsWith("list_id: no list 'webinar-attendees' in this workspace. Did you mean", await server.FailAsync("import_list", new { path = more, list_id = "webinar-attendees" }), StringComparison.Ordinal);
        Assert.StartsWith("line 1: no column 'E-mail'", (await server.FailAsync("import_list", new { path = attendees, name = "Y", column = "E-mail" })).Split('\n')[1], StringComparison.Ordinal);
        Assert.Equal(
            $"name: a list called 'Webinar attendees' exists already ({id}, 4 on it). Pass list_id to add to it, delete_list it first if it was loaded wrong, or choose another name.",
            await server.FailAsync("import_list", new { path = more, name = "webinar attendees" }));
        var noColumn = (await server.FailAsync("import_list", new { path = attendees, name = "Headers" })).Split('\n');
        Assert.Equal("line 1: this looks like a CSV header (columns Name, Email) and no column is profile_id, so every row would be read as one id; name the column that holds the profile ids (column: NAME)", noColumn[1]);
        Assert.StartsWith("path: 'more.txt' is relative", await server.FailAsync("import_list", new { path = "more.txt", name = "Z" }), StringComparison.Ordinal);

        Assert.Equal("path: 'empty.csv' holds no profile ids (only blank lines, or a csv header without rows); nothing was changed.", await server.FailAsync("import_list", new { path = Write("empty.csv", "Name,Email\n"), name = "Empty", column = "Email" }));

        // Refused calls created no list.
        Assert.Equal([id], (await server.CallAsync("list_lists"))["lists"]!.AsArray().Select(l => (string?)l!["list_id"]));
    }

    [Fact]
    public async Task Loads_a_json_array_export_and_names_a_bad_record_by_its_place_in_the_array()
    {
        var good = Write("people.json", """
            [
              {"profile_id": "ann", "properties": {"city": "Boston"}},
              {"profile_id": "bob", "properties": {"city": "Denver"}}
            ]
            """);
        var bad = Write("orders.json", """[{"profile_id": "ann", "metric": "Placed Order", "timestamp": "2026-11-20T10:00:00Z"}, {"profile_id": "bob", "metric": "Placed Order"}]""");
        var cut = Write("cut.json", "[\n  {\"profile_id\": \"ann\"},\n");

        var loaded = await server.CallAsync("import_file", new { path = good, kind = "profiles" });
        Assert.Equal(("json", 2L, 2L), ((string)loaded["format"]!, (long)loaded["lines"]!, (long)loaded["rows_written"]!));

        var refused = await server.FailAsync("import_file", new { path = bad, kind = "events" });
        Assert.Equal(["orders.json: 1 bad line, so nothing was loaded. Show the user; if they agree to leave the bad lines out, call again with skip_invalid: true.", "record 2: missing field 'timestamp'"], refused.Split('\n'));
        var checkedOnly = await server.CallAsync("import_file", new { path = bad, kind = "events", dry_run = true });
        var problem = Assert.Single(checkedOnly["problems"]!.AsArray())!;
        Assert.Equal((2L, false), ((long)problem["record"]!, problem.AsObject().ContainsKey("line")));
        var sampled = Assert.Single(checkedOnly["sample"]!.AsArray())!;
        Assert.Equal((1L, false), ((long)sampled["record"]!, sampled.AsObject().ContainsKey("line")));

        Assert.Equal(
            ["cut.json: Its JSON array cannot be read, so none of its records can; tell the user what is wrong with the file.", "line 2: the file ends before the array's closing ']' (after record 1 and a comma): was the export cut short?"],
            (await server.FailAsync("import_file", new { path = cut, kind = "profiles" })).Split('\n'));
        Assert.StartsWith(
            "line 1: the file starts with '{', not '[': a JSON array of records starts with '['; a file of one JSON object a line is NDJSON (format: \"ndjson\")",
            (await server.FailAsync("import_file", new { path = Write("lines.txt", "{\"profile_id\": \"ann\"}\n"), kind = "profiles", format = "json" })).Split('\n')[1],
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task Loads_json_records_with_their_own_keys_after_naming_the_keys_that_look_like_the_fields()
    {
        var tracked = Write("tracked.json", """
            [
              {"event": "Order Completed", "userId": "ann", "timestamp": "2026-11-20T10:00:00Z", "properties": {"total": 30}},
              {"event": "Order Completed", "userId": null, "anonymousId": "anon-7", "timestamp": "2026-11-21T10:00:00Z"},
              {"event": "Order Completed", "user id": "bob", "timestamp": "2026-11-22T10:00:00Z"}
            ]
            """);

        // Each bad record names the key it has instead, in this tool's arguments.
        var refused = (await server.FailAsync("import_file", new { path = tracked, kind = "events" })).Split('\n');
        Assert.Equal(
            "tracked.json: Its records name the fields with their own keys, so nothing was loaded: call again with columns: {\"profile_id\":\"userId\",\"metric\":\"event\"}, and tell the user which keys were read as which fields.",
            refused[0]);
        Assert.Equal(
            [
                "record 1: missing field 'profile_id' (the record has 'userId': columns: {\"profile_id\": \"userId\"} reads it); missing field 'metric' (the record has 'event': columns: {\"metric\": \"event\"} reads it)",
                "record 2: missing field 'profile_id' (the record has 'anonymousId': columns: {\"profile_id\": \"anonymousId\"} reads it); missing field 'metric' (the record has 'event': columns: {\"metric\": \"event\"} reads it)",
                "record 3: missing field 'profile_id' (the record has 'user id': columns: {\"profile_id\": \"user id\"} reads it); missing field 'metric' (the record has 'event': columns: {\"metric\": \"event\"} reads it)",
            ],
            refused[1..]);

        // One key a field here: a record without it is named by the mapped key.
        var partly = await server.CallAsync("import_file", new { path = tracked, kind = "events", columns = new Dictionary<string, string> { ["profile_id"] = "userId", ["metric"] = "event" }, dry_run = true });
        Assert.Equal(
            ["missing field 'userId' (read as profile_id, columns)", "missing field 'userId' (read as profile_id, columns)"],
            partly["problems"]!.AsArray().Select(p => (string)p!["reason"]!));
        Assert.Equal(1L, (long)partly["valid_rows"]!);

        var loaded = await server.CallAsync("import_file", new { path = Write("tracked-ids.json", File.ReadAllText(tracked).Replace("\"user id\"", "\"userId\"", StringComparison.Ordinal).Replace("\"userId\": null, \"anonymousId\"", "\"userId\"", StringComparison.Ordinal)), kind = "events", columns = new Dictionary<string, string> { ["profile_id"] = "userId", ["metric"] = "event" } });
        Assert.Equal((3L, 0L), ((long)loaded["rows_written"]!, (long)loaded["invalid_lines"]!));
        var ann = await server.CallAsync("get_profile", new { profile_id = "ann" });
        Assert.Equal("Order Completed", (string?)ann["recent_events"]![0]!["metric"]);

        // Traits holding an object, flattened so that a condition can compare their members.
        var identified = Write("identify.json", """[{"userId": "ann", "traits": {"address": {"city": "Boston", "zip": "02134"}, "plan": "pro"}}]""");
        var traits = await server.CallAsync("import_file", new { path = identified, kind = "profiles", columns = new Dictionary<string, string> { ["profile_id"] = "userId", ["properties"] = "traits" }, flatten = true });
        Assert.Equal(1L, (long)traits["rows_written"]!);
        var properties = (await server.CallAsync("get_profile", new { profile_id = "ann" }))["properties"]!;
        Assert.Equal(("Boston", "02134", "pro"), ((string?)properties["address.city"], (string?)properties["address.zip"], (string?)properties["plan"]));
        var bostonians = await server.CallAsync("preview_segment", new { definition = new { name = "Bostonians", condition = new { property = new { name = "address.city", op = "eq", value = "Boston" } } } });
        Assert.Equal(1L, (long)bostonians["count"]!);
    }

    [Fact]
    public async Task Is_listed_as_a_stdio_tool_that_changes_data_without_destroying_any()
    {
        var tool = (await server.Client.ListToolsAsync()).Single(t => t.Name == "import_file").ProtocolTool;
        var schema = JsonNode.Parse(tool.InputSchema.GetRawText())!;

        Assert.False(tool.Annotations!.ReadOnlyHint);
        Assert.False(tool.Annotations.DestructiveHint);
        Assert.True(tool.Annotations.IdempotentHint);
        Assert.Equal(["kind", "path"], schema["required"]!.AsArray().Select(r => (string?)r).Order(StringComparer.Ordinal));
        Assert.Equal("object", (string?)schema["properties"]!["columns"]!["type"]);
        Assert.Equal(["profile_id", "company_id", "metric", "timestamp", "value", "updated_at"], schema["properties"]!["columns"]!["properties"]!.AsObject().Select(p => p.Key));
    }
}
