using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Cli;

/// <summary><c>segmentmcp lists</c> as a user runs it: the real executable, its own data directory, exit codes.</summary>
[Trait("Category", "Engine")]
public sealed class ListsCommandTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("segmentmcp-lists-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string Data => Path.Combine(directory, "data");

    [Fact]
    public async Task Import_creates_the_list_adds_new_ids_only_and_a_bad_line_writes_nothing()
    {
        var file = Path.Combine(directory, "ids.txt");
        await File.WriteAllLinesAsync(file, ["u1", "u2", string.Empty, "  u3  ", "u2"]);

        var first = await HostProcess.RunAsync(null, "lists", "import", "--id", "vips", "--file", file, "--company", "acme", "--data", Data);
        var ingest = await HostProcess.RunAsync("""{"profile_id":"u3","properties":{"city":"Boston"},"updated_at":"2026-11-20T10:00:00Z"}""" + "\n", "ingest", "--profiles", "-", "--company", "acme", "--data", Data);
        Assert.True(ingest.ExitCode == 0, ingest.StandardError);
        var stdin = await HostProcess.RunAsync("u3\nu4\n", "lists", "import", "--id", "vips", "--file", "-", "--company", "acme", "--data", Data);
        var bad = await HostProcess.RunAsync("u5\n" + new string('x', 1001) + "\n", "lists", "import", "--id", "vips", "--file", "-", "--company", "acme", "--data", Data);
        var after = await HostProcess.RunAsync(string.Empty, "lists", "import", "--id", "vips", "--file", "-", "--company", "acme", "--data", Data);

        Assert.True(first.ExitCode == 0, first.StandardError);
        Assert.Contains("list vips (created): 3 ids read, 3 added, 0 already on it, 3 on the list", first.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("list vips: 2 ids read, 1 added, 1 already on it, 4 on the list", stdin.StandardOutput, StringComparison.Ordinal);

        // Ids no data has are kept, and named: all three before any data, then only u4 once u3 has a profile record.
        Assert.Equal("warning: 3 of the ids (u1, u2, u3) have no events or profile records in 'acme' yet; they are on the list and count once data with those ids arrives", first.StandardError.Trim());
        Assert.StartsWith("warning: 1 of the ids (u4) has no events", stdin.StandardError.Trim(), StringComparison.Ordinal);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("line 2: a profile id is at most 1000 characters", bad.StandardError, StringComparison.Ordinal);
        Assert.Contains("nothing was written", bad.StandardError, StringComparison.Ordinal);
        Assert.Contains("4 on the list", after.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Remove_takes_ids_off_a_list_and_its_history_keeps_who_was_on_it_before()
    {
        Task<(int ExitCode, string StandardOutput, string StandardError)> Run(string? input, params string[] arguments) =>
            HostProcess.RunAsync(input, [.. arguments, "--company", "acme", "--data", Data]);
        var imported = await Run("u1\nu2\nu3\n", "lists", "import", "--id", "vips", "--file", "-");
        Assert.True(imported.ExitCode == 0, imported.StandardError);
        var before = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
        await Task.Delay(50);

        var removed = await Run("profile_id,city\nu2,Boston\nu9,Rome\n", "lists", "remove", "--id", "vips", "--file", "-");
        var now = await Run(null, "lists", "export", "--id", "vips");
        var then = await Run(null, "lists", "export", "--id", "vips", "--as-of", before);
        var unknown = await Run("u1\n", "lists", "remove", "--id", "vip", "--file", "-");
        var bad = await Run("u1\n" + new string('x', 1001) + "\n", "lists", "remove", "--id", "vips", "--file", "-");

        Assert.True(removed.ExitCode == 0, removed.StandardError);
        Assert.Equal("list vips: 2 ids read, 1 removed, 1 not on it, 2 on the list\n", removed.StandardOutput);
        Assert.Equal("u1\nu3\n", now.StandardOutput);
        Assert.Equal("u1\nu2\nu3\n", then.StandardOutput);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no list 'vip' in 'acme'. Did you mean 'vips'?", unknown.StandardError, StringComparison.Ordinal);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("nothing was removed", bad.StandardError, StringComparison.Ordinal);
        Assert.Equal("u1\nu3\n", (await Run(null, "lists", "export", "--id", "vips")).StandardOutput);
    }

    [Fact]
    public async Task Ids_in_utf16_are_read_and_bytes_that_are_not_utf8_are_named()
    {
        var utf16 = Path.Combine(directory, "ids-utf16.txt");
        await File.WriteAllTextAsync(utf16, "u1\nMüller\n", System.Text.Encoding.Unicode);
        var latin1 = Path.Combine(directory, "ids-latin1.txt");
        await File.WriteAllBytesAsync(latin1, System.Text.Encoding.Latin1.GetBytes("u2\nMüller\n"));

        var read = await HostProcess.RunAsync(null, "lists", "import", "--id", "vips", "--file", utf16, "--company", "acme", "--data", Data);
        var refused = await HostProcess.RunAsync(null, "lists", "import", "--id", "vips", "--file", latin1, "--company", "acme", "--data", Data);

        Assert.True(read.ExitCode == 0, read.StandardError);
        Assert.Contains("list vips (created): 2 ids read, 2 added", read.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("line 2: not UTF-8 text", refused.StandardError, StringComparison.Ordinal);
        Assert.Contains("nothing was written", refused.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_list_is_listed_exported_in_the_shape_import_reads_and_deleted_unless_a_segment_uses_it()
    {
        var profiles = """
            {"profile_id":"u1","properties":{"city":"Boston, MA","email":"a@x.io"},"updated_at":"2026-11-20T10:00:00Z"}
            {"profile_id":"u2","properties":{"city":"Denver"},"updated_at":"2026-11-20T10:00:00Z"}
            """;
        Assert.Equal(0, (await HostProcess.RunAsync(profiles, "ingest", "--profiles", "-", "--company", "acme", "--data", Data)).ExitCode);
        Assert.Equal(0, (await HostProcess.RunAsync("u2\nu1\nu3\n", "lists", "import", "--id", "vips", "--file", "-", "--company", "acme", "--data", Data)).ExitCode);
        var between = DateTime.UtcNow.ToString("o");
        await Task.Delay(20);
        Assert.Equal(0, (await HostProcess.RunAsync("u4\n", "lists", "import", "--id", "vips", "--file", "-", "--company", "acme", "--data", Data)).ExitCode);

        var listed = await HostProcess.RunAsync(null, "lists", "list", "--company", "acme", "--data", Data);
        Assert.True(listed.ExitCode == 0, listed.StandardError);
        Assert.StartsWith("vips  \"vips\"  4 on it, created ", listed.StandardOutput, StringComparison.Ordinal);

        // ids is what import reads, so a list moves between workspaces as a file; csv and ndjson add properties.
        var exported = Path.Combine(directory, "vips.txt");
        var ids = await HostProcess.RunAsync(null, "lists", "export", "--id", "vips", "--output", exported, "--company", "acme", "--data", Data);
        Assert.True(ids.ExitCode == 0, ids.StandardError);
        Assert.Equal(["u1", "u2", "u3", "u4"], await File.ReadAllLinesAsync(exported));
        Assert.StartsWith("list vips: 4 profiles at ", ids.StandardError, StringComparison.Ordinal);
        var csv = await HostProcess.RunAsync(null, "lists", "export", "--id", "vips", "--format", "csv", "--properties", "city,email", "--as-of", between, "--company", "acme", "--data", Data);
        Assert.Equal("profile_id,city,email\nu1,\"Boston, MA\",a@x.io\nu2,Denver,\nu3,,\n", csv.StandardOutput);
        Assert.Equal(0, (await HostProcess.RunAsync(null, "lists", "import", "--id", "copy", "--file", exported, "--company", "acme", "--data", Data)).ExitCode);

        // A CSV export goes back in by its profile_id column, not as lines (its header is no id, nor is "u1,Boston, MA").
        var fromCsv = await HostProcess.RunAsync(csv.StandardOutput, "lists", "import", "--id", "from-csv", "--file", "-", "--company", "acme", "--data", Data);
        Assert.True(fromCsv.ExitCode == 0, fromCsv.StandardError);
        Assert.Contains("list from-csv (created): 3 ids read, 3 added, 0 already on it, 3 on the list", fromCsv.StandardOutput, StringComparison.Ordinal);
        var badCsv = await HostProcess.RunAsync("email;Profile_ID\na@x.io;u1\nb@x.io;\nc@x.io\n", "lists", "import", "--id", "from-csv", "--file", "-", "--company", "acme", "--data", Data);
        Assert.Equal(1, badCsv.ExitCode);
        Assert.Contains("line 3: the profile_id value is empty\nline 4: 1 value where the header has 2 columns\n", badCsv.StandardError, StringComparison.Ordinal);
        Assert.Contains("nothing was written", badCsv.StandardError, StringComparison.Ordinal);
        var byColumn = await HostProcess.RunAsync("Email,City\nu1,Boston\nu2,\"Rome, IT\"\n", "lists", "import", "--id", "by-column", "--file", "-", "--column", "email", "--company", "acme", "--data", Data);
        Assert.True(byColumn.ExitCode == 0, byColumn.StandardError);
        Assert.Contains("list by-column (created): 2 ids read, 2 added, 0 already on it, 2 on the list", byColumn.StandardOutput, StringComparison.Ordinal);
        var noColumn = await HostProcess.RunAsync("Email,City\nu1,Boston\n", "lists", "import", "--id", "by-column", "--file", "-", "--column", "Mail", "--company", "acme", "--data", Data);
        Assert.Equal(1, noColumn.ExitCode);
        Assert.Contains("line 1: no column 'Mail' to read profile_id from (the header has: Email, City).", noColumn.StandardError, StringComparison.Ordinal);
        var headerAsId = await HostProcess.RunAsync("\nEmail,City\nu1,Boston\nu2,\"Rome, IT\"\n", "lists", "import", "--id", "header-as-id", "--file", "-", "--company", "acme", "--data", Data);
        Assert.Equal(1, headerAsId.ExitCode);
        Assert.Contains("line 2: this looks like a CSV header (columns Email, City) and no column is profile_id, so every row would be read as one id; name the column that holds the profile ids (--column NAME)", headerAsId.StandardError, StringComparison.Ordinal);

        var segment = Path.Combine(directory, "on-vips.json");
        await File.WriteAllTextAsync(segment, """{"name": "On vips", "condition": {"in_list": {"id": "vips"}}}""");
        var saved = await HostProcess.RunAsync(null, "segments", "save", "--file", segment, "--json", "--company", "acme", "--data", Data);
        Assert.True(saved.ExitCode == 0, saved.StandardError);
        var segmentId = (string)System.Text.Json.Nodes.JsonNode.Parse(saved.StandardOutput)!["segment_id"]!;
        var json = await HostProcess.RunAsync(null, "lists", "list", "--json", "--company", "acme", "--data", Data);
        var vips = System.Text.Json.Nodes.JsonNode.Parse(json.StandardOutput)!.AsArray().Single(l => (string?)l!["list_id"] == "vips")!;
        Assert.Equal([segmentId], vips["used_by"]!.AsArray().Select(u => (string?)u));

        var refused = await HostProcess.RunAsync(null, "lists", "delete", "--id", "vips", "--company", "acme", "--data", Data);
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal($"list vips is used by '{segmentId}'; change or delete those segments first. Nothing was deleted.", refused.StandardError.Trim());
        var deleted = await HostProcess.RunAsync(null, "lists", "delete", "--id", "copy", "--company", "acme", "--data", Data);
        Assert.Equal("list copy deleted with its history", deleted.StandardOutput.Trim());
        var missing = await HostProcess.RunAsync(null, "lists", "export", "--id", "copy", "--company", "acme", "--data", Data);
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("no list 'copy' in 'acme'.", missing.StandardError, StringComparison.Ordinal);
        var again = await HostProcess.RunAsync(null, "lists", "delete", "--id", "vipz", "--company", "acme", "--data", Data);
        Assert.Equal(0, again.ExitCode);
        Assert.Equal("list vipz: not found in 'acme', nothing deleted. Did you mean 'vips'?", again.StandardOutput.Trim());
    }

    [Fact]
    public async Task Profiles_erase_removes_everything_about_the_listed_ids_and_a_bad_line_erases_nothing()
    {
        var profiles = """
            {"profile_id":"u1","properties":{"city":"Boston"},"updated_at":"2026-11-20T10:00:00Z"}
            {"profile_id":"u2","properties":{"city":"Boston"},"updated_at":"2026-11-20T10:00:00Z"}
            """;
        var events = """{"profile_id":"u1","metric":"Opened Email","timestamp":"2026-11-21T10:00:00Z"}""" + "\n";
        Assert.Equal(0, (await HostProcess.RunAsync(profiles, "ingest", "--profiles", "-", "--company", "acme", "--data", Data)).ExitCode);
        Assert.Equal(0, (await HostProcess.RunAsync(events, "ingest", "--events", "-", "--company", "acme", "--data", Data)).ExitCode);
        Assert.Equal(0, (await HostProcess.RunAsync("u1\nu2\n", "lists", "import", "--id", "vips", "--file", "-", "--company", "acme", "--data", Data)).ExitCode);
        var segment = Path.Combine(directory, "boston.json");
        await File.WriteAllTextAsync(segment, """{"name": "Boston", "condition": {"property": {"name": "city", "op": "eq", "value": "Boston"}}}""");
        Assert.Equal(0, (await HostProcess.RunAsync(null, "segments", "save", "--file", segment, "--company", "acme", "--data", Data)).ExitCode);

        var bad = await HostProcess.RunAsync("u1\n" + new string('x', 1001) + "\n", "profiles", "erase", "--file", "-", "--company", "acme", "--data", Data);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("nothing was erased", bad.StandardError, StringComparison.Ordinal);

        var erased = await HostProcess.RunAsync("u1\nU2\n", "profiles", "erase", "--file", "-", "--company", "acme", "--data", Data);
        Assert.True(erased.ExitCode == 0, erased.StandardError);
        Assert.Matches(@"^erased 1 profile from 'acme' with their events, profile records, list entries and segment history; removed from boston-[0-9a-f]{4} \(1\)\n$", erased.StandardOutput);
        Assert.Equal("note: 1 of the ids (U2) had nothing stored in 'acme'; ids are exact and case-sensitive", erased.StandardError.Trim());

        var listed = await HostProcess.RunAsync(null, "lists", "export", "--id", "vips", "--company", "acme", "--data", Data);
        Assert.Equal("u2\n", listed.StandardOutput);
        var members = await HostProcess.RunAsync(null, "segments", "list", "--json", "--company", "acme", "--data", Data);
        Assert.Equal(1, System.Text.Json.Nodes.JsonNode.Parse(members.StandardOutput)![0]!["size"]!.GetValue<long>());
        var schema = await HostProcess.RunAsync(null, "schema", "--json", "--company", "acme", "--data", Data);
        Assert.Equal(1, System.Text.Json.Nodes.JsonNode.Parse(schema.StandardOutput)!["profiles"]!.GetValue<long>());
    }

    [Theory]
    [InlineData("lists", "import", "--file", "-", "--data", "DATA")]
    [InlineData("lists", "import", "--id", "x", "--data", "DATA")]
    [InlineData("lists", "import", "--id", "x", "--file", "/no/such/ids.txt", "--data", "DATA")]
    [InlineData("lists", "export", "--data", "DATA")]
    [InlineData("lists", "export", "--id", "x", "--properties", "email", "--data", "DATA")]
    [InlineData("lists", "export", "--id", "x", "--output", "/no/such/dir/ids.txt", "--data", "DATA")]
    [InlineData("lists", "delete", "--id", " ", "--data", "DATA")]
    [InlineData("profiles", "erase", "--data", "DATA")]
    [InlineData("profiles", "erase", "--file", "/no/such/ids.txt", "--data", "DATA")]
    public async Task Usage_mistakes_exit_2_and_say_what_is_wrong(params string[] arguments)
    {
        var run = await HostProcess.RunAsync(null, [.. arguments.Select(a => a == "DATA" ? Data : a)]);

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith($"segmentmcp {arguments[0]} {arguments[1]}: ", run.StandardError, StringComparison.Ordinal);
    }
}
