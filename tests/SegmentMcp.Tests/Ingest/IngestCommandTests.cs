using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Ingest;

/// <summary>The ingest and demo verbs as a user runs them (NDJSON and CSV): the real executable, its own data directory, exit codes.</summary>
[Trait("Category", "Engine")]
public sealed class IngestCommandTests : IDisposable
{
    private const string GoodEvent = """{"profile_id":"p1","metric":"Placed Order","timestamp":"2026-11-20T10:00:00Z","value":42.5,"properties":{"category":"shoes"}}""";
    private readonly string directory = Directory.CreateTempSubdirectory("segmentmcp-cli-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task Ingest_from_stdin_writes_and_a_rerun_adds_nothing()
    {
        var profiles = Write("profiles.ndjson", """{"profile_id":"p1","properties":{"city":"Boston"}}""");

        var first = await HostProcess.RunAsync(GoodEvent + "\n" + GoodEvent.Replace("p1", "p2", StringComparison.Ordinal) + "\n", "ingest", "--events", "-", "--profiles", profiles, "--company", "acme", "--data", Data);
        var again = await HostProcess.RunAsync(GoodEvent + "\n" + GoodEvent.Replace("p1", "p2", StringComparison.Ordinal) + "\n", "ingest", "--events", "-", "--profiles", profiles, "--company", "acme", "--data", Data);

        Assert.True(first.ExitCode == 0, first.StandardError);
        Assert.Contains("events:   2 rows written from stdin", first.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("profiles: 1 rows written from " + profiles, first.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(0, again.ExitCode);
    }

    [Fact]
    public async Task Bad_lines_are_reported_exactly_and_exit_1()
    {
        var events = Write("events.ndjson", GoodEvent, "{\"profile_id\":\"p1\"", GoodEvent.Replace("\"p1\"", "\"\"", StringComparison.Ordinal));

        var run = await HostProcess.RunAsync(null, "ingest", "--events", events, "--data", Data);
        var skipping = await HostProcess.RunAsync(null, "ingest", "--events", events, "--company", "acme", "--skip-invalid", "--data", Data);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal(
            [
                "line 1: missing field 'company_id' (or pass --company)",
                "line 2: not valid JSON at column 19",
                "line 3: field 'profile_id' is empty",
            ],
            run.StandardError.Split('\n').Where(l => l.StartsWith("line ", StringComparison.Ordinal)));
        Assert.Contains("nothing was written", run.StandardError, StringComparison.Ordinal);
        Assert.Equal(0, skipping.ExitCode);
        Assert.Contains("1 rows written", skipping.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("2 bad lines skipped", skipping.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_json_array_file_is_read_record_by_record_without_being_told_and_problems_name_the_record()
    {
        var events = Write("events.json", "[", "  " + GoodEvent + ",", "  {\"profile_id\": \"p2\",", "   \"timestamp\": \"2026-11-20T10:00:00Z\"},", "  " + GoodEvent.Replace("p1", "p3", StringComparison.Ordinal), "]");
        var profiles = Write("people.ndjson", """[{"profile_id":"p1","properties":{"city":"Boston"}},{"profile_id":"p3","properties":{"city":"Rome"}}]""");
        var cutShort = Write("cut.json", "[", "  " + GoodEvent + ",", "  " + GoodEvent.Replace("p1", "p2", StringComparison.Ordinal));

        var refused = await HostProcess.RunAsync(null, "ingest", "--events", events, "--profiles", profiles, "--company", "acme", "--data", Data);
        var skipping = await HostProcess.RunAsync(null, "ingest", "--events", events, "--profiles", profiles, "--company", "acme", "--skip-invalid", "--data", Data);
        var truncated = await HostProcess.RunAsync(null, "ingest", "--events", cutShort, "--company", "acme", "--skip-invalid", "--data", Data);
        var piped = await HostProcess.RunAsync(File.ReadAllText(profiles), "ingest", "--profiles", "-", "--company", "acme", "--dry-run", "--data", Data);
        var pipedUntold = await HostProcess.RunAsync(File.ReadAllText(profiles), "ingest", "--profiles", "-", "--format", "ndjson", "--company", "acme", "--dry-run", "--data", Data);

        Assert.Equal(1, refused.ExitCode);
        Assert.Equal(["record 2: missing field 'metric'"], refused.StandardError.Split('\n').Where(l => l.StartsWith("record ", StringComparison.Ordinal)));
        Assert.True(skipping.ExitCode == 0, skipping.StandardError);
        Assert.Contains($"events:   2 rows written from {events} (3 records, 1 batch, 1 bad lines skipped)", skipping.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"profiles: 2 rows written from {profiles} (2 records", skipping.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(1, truncated.ExitCode);
        Assert.Contains("line 3: the file ends before the array's closing ']' (after record 2): was the export cut short?", truncated.StandardError, StringComparison.Ordinal);
        Assert.Contains("a CSV header or a JSON array cannot be read, so no record of that file can; nothing was written", truncated.StandardError, StringComparison.Ordinal);

        // Standard input is not sniffed: --format json reads it, and an array read as NDJSON says so.
        Assert.Equal(1, piped.ExitCode);
        Assert.Contains("line 1: expected a JSON object, not an array: a file holding one JSON array of records is read with --format json", pipedUntold.StandardError, StringComparison.Ordinal);
        var told = await HostProcess.RunAsync(File.ReadAllText(profiles), "ingest", "--profiles", "-", "--format", "json", "--company", "acme", "--dry-run", "--data", Data);
        Assert.True(told.ExitCode == 0, told.StandardError);
        Assert.Contains("profiles: 2 rows would be written from stdin (2 records)", told.StandardOutput, StringComparison.Ordinal);

        var schema = await HostProcess.RunAsync(null, "schema", "--company", "acme", "--json", "--data", Data);
        Assert.Equal((2L, 2L), ((long)System.Text.Json.Nodes.JsonNode.Parse(schema.StandardOutput)!["profiles"]!, (long)System.Text.Json.Nodes.JsonNode.Parse(schema.StandardOutput)!["events"]!));
    }

    [Fact]
    public async Task A_dry_run_prints_what_a_run_would_write_and_writes_nothing()
    {
        var events = Write("events.ndjson", GoodEvent, "{\"profile_id\":\"p1\"", GoodEvent.Replace("p1", "p2", StringComparison.Ordinal));
        var profiles = Write("people.csv", "profile_id,city", "p1,Boston", "p2,Rome");

        var refused = await HostProcess.RunAsync(null, "ingest", "--events", events, "--profiles", profiles, "--company", "acme", "--dry-run", "--data", Data);
        var skipping = await HostProcess.RunAsync(null, "ingest", "--events", events, "--profiles", profiles, "--company", "acme", "--dry-run", "--skip-invalid", "--data", Data);
        var clean = await HostProcess.RunAsync(null, "ingest", "--profiles", profiles, "--company", "acme", "--dry-run", "--data", Data);
        var schema = await HostProcess.RunAsync(null, "schema", "--company", "acme", "--json", "--data", Data);

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("line 2: not valid JSON at column 19", refused.StandardError, StringComparison.Ordinal);
        Assert.Contains($"events:   2 rows would be written from {events} (3 lines, 1 bad)", refused.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"profiles: 2 rows would be written from {profiles} (3 lines)\n          profile properties: city\n", refused.StandardOutput.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("dry run: nothing written; with 1 bad line a real run would write nothing either", refused.StandardOutput, StringComparison.Ordinal);
        // The good records as they would be stored, one JSON object a line under each input.
        Assert.Contains(
            string.Join(
                "\n",
                "          as stored, the first 2 records:",
                """          {"line":1,"profile_id":"p1","metric":"Placed Order","timestamp":"2026-11-20T10:00:00.000Z","value":42.5,"properties":{"category":"shoes"}}""",
                """          {"line":3,"profile_id":"p2","metric":"Placed Order","timestamp":"2026-11-20T10:00:00.000Z","value":42.5,"properties":{"category":"shoes"}}""",
                "profiles: "),
            refused.StandardOutput.ReplaceLineEndings("\n"),
            StringComparison.Ordinal);
        Assert.Matches("""profile properties: city\n +as stored, the first 2 records:\n +\{"line":2,"profile_id":"p1","updated_at":"[0-9T:.-]+Z","properties":\{"city":"Boston"\}\}\n""", refused.StandardOutput.ReplaceLineEndings("\n"));
        Assert.Equal(0, skipping.ExitCode);
        Assert.EndsWith("dry run: nothing written\n", skipping.StandardOutput.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Equal(0, clean.ExitCode);
        Assert.True(schema.ExitCode == 0, schema.StandardError);
        Assert.Equal((0L, 0L), ((long)System.Text.Json.Nodes.JsonNode.Parse(schema.StandardOutput)!["profiles"]!, (long)System.Text.Json.Nodes.JsonNode.Parse(schema.StandardOutput)!["events"]!));
    }

    [Fact]
    public async Task A_utf16_file_is_named_as_such_and_a_utf8_byte_order_mark_with_crlf_is_read()
    {
        var utf16 = Path.Combine(directory, "events-utf16.ndjson");
        await File.WriteAllTextAsync(utf16, GoodEvent + "\n", System.Text.Encoding.Unicode);
        var utf8 = Path.Combine(directory, "events-bom.ndjson");
        await File.WriteAllTextAsync(utf8, GoodEvent + "\r\n" + GoodEvent.Replace("p1", "p2", StringComparison.Ordinal) + "\r\n", new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        var refused = await HostProcess.RunAsync(null, "ingest", "--events", utf16, "--company", "acme", "--data", Data);
        var read = await HostProcess.RunAsync(null, "ingest", "--events", utf8, "--company", "acme", "--data", Data);

        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith("line 1: not UTF-8 text (NUL bytes or a UTF-16 byte-order mark: a UTF-16 file?); save it as UTF-8", refused.StandardError, StringComparison.Ordinal);
        Assert.True(read.ExitCode == 0, read.StandardError);
        Assert.Contains("events:   2 rows written", read.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ingest", "--data", "DATA")]
    [InlineData("ingest", "--events", "/no/such/file.ndjson", "--data", "DATA")]
    [InlineData("ingest", "--events", "-", "--profiles", "-", "--data", "DATA")]
    [InlineData("ingest", "--events", "x", "--bogus", "1", "--data", "DATA")]
    [InlineData("demo", "--profiles", "zero", "--data", "DATA")]
    [InlineData("ingest", "--events", "-", "--parallel-inserts", "0", "--data", "DATA")]
    public async Task Usage_mistakes_exit_2_and_say_what_is_wrong(params string[] arguments)
    {
        var run = await HostProcess.RunAsync(null, [.. arguments.Select(a => a == "DATA" ? Data : a)]);

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith($"segmentmcp {arguments[0]}: ", run.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_loads_a_small_tenant_and_prints_a_summary()
    {
        var run = await HostProcess.RunAsync(null, "demo", "--profiles", "200", "--seed", "3", "--reference-time", "2026-11-30T00:00:00Z", "--data", Data);
        var again = await HostProcess.RunAsync(null, "demo", "--profiles", "200", "--seed", "3", "--reference-time", "2026-11-30T00:00:00Z", "--data", Data);

        Assert.True(run.ExitCode == 0, run.StandardError);
        Assert.Matches(@"demo tenant 'demo': 200 profiles, [\d,]+ events, [\d,]+ profile records", run.StandardOutput);
        Assert.Contains("history: 2025-10-26 to 2026-11-30 00:00 UTC (seed 3)", run.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("replaced the existing data of tenant 'demo'", again.StandardError, StringComparison.Ordinal);
    }

    private string Data => Path.Combine(directory, "data");

    private string Write(string name, params string[] lines)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public async Task A_csv_file_is_read_by_its_extension_and_standard_input_with_format_csv_and_segments_see_its_values()
    {
        var profiles = Path.Combine(directory, "crm-export.csv");
        await File.WriteAllTextAsync(profiles, "profile_id;email;city;lifetime_value\r\nu1;ann@example.com;Boston;120.5\r\nu2;bob@example.com;\"Boston\";80\r\nu3;cy@example.com;Paris;300\r\n");
        const string Events = "profile_id,metric,timestamp,value\nu1,Placed Order,2026-11-20T10:00:00Z,20\nu3,Placed Order,2026-11-21T10:00:00Z,35\n";
        var definition = Path.Combine(directory, "bostonians.json");
        await File.WriteAllTextAsync(definition, """{"condition": {"all": [{"property": {"name": "city", "op": "eq", "value": "Boston"}}, {"property": {"name": "lifetime_value", "op": "gt", "value": 100}}]}}""");

        var fromFile = await HostProcess.RunAsync(null, "ingest", "--profiles", profiles, "--company", "acme", "--data", Data);
        var fromStdin = await HostProcess.RunAsync(Events, "ingest", "--events", "-", "--format", "csv", "--company", "acme", "--data", Data);
        var preview = await HostProcess.RunAsync(null, "segments", "preview", "--file", definition, "--company", "acme", "--data", Data);
        var schema = await HostProcess.RunAsync(null, "schema", "--property", "lifetime_value", "--company", "acme", "--data", Data);

        Assert.True(fromFile.ExitCode == 0, fromFile.StandardError);
        Assert.Contains("profiles: 3 rows written from " + profiles + " (4 lines, 1 batch)\n          profile properties: email, city, lifetime_value\n", fromFile.StandardOutput.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.True(fromStdin.ExitCode == 0, fromStdin.StandardError);
        Assert.Contains("events:   2 rows written from stdin (3 lines, 1 batch)\ntotal:", fromStdin.StandardOutput.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.True(preview.ExitCode == 0, preview.StandardError);
        Assert.Contains("1 member at ", preview.StandardOutput, StringComparison.Ordinal);
        Assert.EndsWith("the first 1: u1", preview.StandardOutput.TrimEnd(), StringComparison.Ordinal);
        Assert.Contains("number", schema.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_rows_are_named_by_their_csv_line_and_nothing_is_written_and_a_bad_header_is_named_even_with_skip_invalid()
    {
        var profiles = Path.Combine(directory, "profiles.csv");
        await File.WriteAllTextAsync(profiles, "profile_id,city,note\nu1,Boston,\"a\nb\"\nu2,Rome\nu3,Oslo,x\n");
        var header = Path.Combine(directory, "header.tsv");
        await File.WriteAllTextAsync(header, "id\tcity\nu1\tBoston\n");

        var rejected = await HostProcess.RunAsync(null, "ingest", "--profiles", profiles, "--company", "acme", "--data", Data);
        var skipped = await HostProcess.RunAsync(null, "ingest", "--profiles", profiles, "--company", "acme", "--data", Data, "--skip-invalid");
        var badHeader = await HostProcess.RunAsync(null, "ingest", "--profiles", header, "--company", "acme", "--data", Data, "--skip-invalid");
        var badFormat = await HostProcess.RunAsync(null, "ingest", "--profiles", header, "--format", "xlsx", "--data", Data);

        Assert.Equal(1, rejected.ExitCode);
        Assert.Contains("line 4: 2 values where the header has 3 columns", rejected.StandardError, StringComparison.Ordinal);
        Assert.Contains("1 bad line; nothing was written", rejected.StandardError, StringComparison.Ordinal);
        Assert.True(skipped.ExitCode == 0, skipped.StandardError);
        Assert.Contains("profiles: 2 rows written from " + profiles + " (5 lines, 1 batch, 1 bad lines skipped)", skipped.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(1, badHeader.ExitCode);
        Assert.Contains("line 1: no 'profile_id' column (the header has: id, city)", badHeader.StandardError, StringComparison.Ordinal);
        Assert.Contains("The separator read is a tab.", badHeader.StandardError, StringComparison.Ordinal);
        Assert.Contains("a CSV header or a JSON array cannot be read, so no record of that file can; nothing was written", badHeader.StandardError, StringComparison.Ordinal);
        Assert.Equal(2, badFormat.ExitCode);
        Assert.Contains("--format must be ndjson, csv or json, not 'xlsx'", badFormat.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tracking_export_is_told_the_maps_it_needs_and_loads_with_them()
    {
        var export = Write(
            "track.ndjson",
            """{"type":"track","event":"Order Completed","userId":"u1","timestamp":1763632800,"properties":{"total":30}}""",
            """{"type":"track","event":"Order Completed","userId":null,"anonymousId":"a2","timestamp":"2025-11-21T10:00:00Z"}""");

        var refused = await HostProcess.RunAsync(null, "ingest", "--events", export, "--company", "acme", "--data", Data);
        var dryRun = await HostProcess.RunAsync(null, "ingest", "--events", export, "--company", "acme", "--dry-run", "--data", Data);
        var loaded = await HostProcess.RunAsync(null, "ingest", "--events", export, "--company", "acme", "--map", "profile_id=userId", "--map", "profile_id=anonymousId", "--map", "metric=event", "--data", Data);

        Assert.Equal(1, refused.ExitCode);
        Assert.EndsWith(
            "segmentmcp ingest: 2 bad lines; nothing was written (the records name fields with their own keys: add --map profile_id=userId --map metric=event)",
            refused.StandardError.TrimEnd(),
            StringComparison.Ordinal);
        Assert.Contains("a real run would write nothing either (the records name fields with their own keys: add --map profile_id=userId --map metric=event)", dryRun.StandardOutput, StringComparison.Ordinal);
        Assert.True(loaded.ExitCode == 0, loaded.StandardError);
        Assert.Contains("events:   2 rows written from " + export, loaded.StandardOutput, StringComparison.Ordinal);
        var visitor = await HostProcess.RunAsync(null, "profiles", "show", "--id", "a2", "--company", "acme", "--data", Data);
        Assert.Contains("Order Completed", visitor.StandardOutput, StringComparison.Ordinal);

        var traits = Write("identify.ndjson", """{"userId":"a2","traits":{"address":{"city":"Boston"}}}""");
        var flattened = await HostProcess.RunAsync(null, "ingest", "--profiles", traits, "--company", "acme", "--map", "profile_id=userId", "--map", "properties=traits", "--flatten", "--data", Data);
        Assert.True(flattened.ExitCode == 0, flattened.StandardError);
        var city = await HostProcess.RunAsync(null, "profiles", "show", "--id", "a2", "--json", "--company", "acme", "--data", Data);
        Assert.Equal("Boston", (string?)System.Text.Json.Nodes.JsonNode.Parse(city.StandardOutput)!["properties"]!["address.city"]);
    }

    [Fact]
    public async Task An_orders_export_and_a_contacts_export_load_with_their_own_column_names()
    {
        var orders = Write("orders.csv", "Order ID,Customer Email,Order Date,Total\n1001,ann@x.io,2026-11-20 10:00:00,42.5\n1002,bob@x.io,2026-11-21,19\n");
        var contacts = Write("contacts.csv", "Email,City\nann@x.io,Boston\nbob@x.io,Rome\n");
        string[] mapping = ["--map", "profile_id=Customer Email", "--map", "profile_id=Email", "--map", "timestamp=Order Date", "--map", "value=Total", "--metric", "Placed Order"];

        var loaded = await HostProcess.RunAsync(null, ["ingest", "--events", orders, "--profiles", contacts, .. mapping, "--company", "acme", "--data", Data]);
        var ann = await HostProcess.RunAsync(null, "profiles", "show", "--id", "ann@x.io", "--json", "--company", "acme", "--data", Data);
        var unmapped = await HostProcess.RunAsync(null, "ingest", "--events", orders, "--company", "acme", "--data", Data);
        var properties = await HostProcess.RunAsync(null, "ingest", "--events", orders, "--map", "properties=Total", "--data", Data);
        var badMap = await HostProcess.RunAsync(null, "ingest", "--events", orders, "--map", "customer=Customer Email", "--data", Data);

        Assert.True(loaded.ExitCode == 0, loaded.StandardError);
        Assert.Contains("events:   2 rows written from " + orders, loaded.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("profiles: 2 rows written from " + contacts, loaded.StandardOutput, StringComparison.Ordinal);
        var profile = System.Text.Json.Nodes.JsonNode.Parse(ann.StandardOutput)!;
        Assert.Equal("Boston", (string?)profile["properties"]!["City"]);
        var order = profile["recent_events"]!.AsArray().Single()!;
        Assert.Equal("Placed Order", (string?)order["metric"]);
        Assert.Equal(42.5, (double)order["value"]!);
        Assert.Equal(1001, (int)order["properties"]!["Order ID"]!);
        Assert.Equal(1, unmapped.ExitCode);
        Assert.Contains("line 1: no 'profile_id' column (the header has: Order ID, Customer Email, Order Date, Total); name the column that holds each profile's id profile_id, or say which it is (--map profile_id=COLUMN).", unmapped.StandardError, StringComparison.Ordinal);
        Assert.Equal(2, properties.ExitCode);
        Assert.Contains("--map properties=… is for JSON records, whose properties are one object; in a CSV every column that is no field's is a property", properties.StandardError, StringComparison.Ordinal);
        Assert.Equal(2, badMap.ExitCode);
        Assert.Contains("--map customer=Customer Email: give FIELD=COLUMN, FIELD one of profile_id, company_id, metric, timestamp, value, updated_at, properties", badMap.StandardError, StringComparison.Ordinal);
    }
}
