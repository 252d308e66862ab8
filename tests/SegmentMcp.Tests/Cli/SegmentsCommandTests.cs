using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Cli;

/// <summary>
/// <c>segmentmcp segments …</c> as a script runs it: the real executable on its own data directory, a few profiles
/// ingested through the <c>ingest</c> verb, so every expected member follows from the records written here.
/// </summary>
[Trait("Category", "Engine")]
public sealed class SegmentsCommandTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("segmentmcp-segments-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string Data => Path.Combine(directory, "data");

    private Task<(int ExitCode, string StandardOutput, string StandardError)> RunAsync(string? input, params string[] arguments) =>
        HostProcess.RunAsync(input, [.. arguments, "--company", "acme", "--data", Data]);

    /// <summary>
    /// p1, p2, p3 in Boston, p4 in Denver; p1 and p4 ordered 2 days ago, p2 60 days ago, p3 never. So "ordered in the last
    /// 90 days in Boston" is p1 and p2, and "… in the last 30 days" is p1.
    /// </summary>
    private async Task LoadAsync()
    {
        var now = DateTime.UtcNow;
        string Time(double daysAgo) => now.AddDays(-daysAgo).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var profiles = Path.Combine(directory, "profiles.ndjson");
        var events = Path.Combine(directory, "events.ndjson");
        await File.WriteAllLinesAsync(profiles, [
            .. new[] { ("p1", "Boston"), ("p2", "Boston"), ("p3", "Boston"), ("p4", "Denver") }.Select(p =>
                $$"""{"profile_id":"{{p.Item1}}","properties":{"city":"{{p.Item2}}"},"updated_at":"{{Time(100)}}"}"""),
            $$"""{"profile_id":"p1","properties":{"age":34,"note":"likes \"red\", blue"},"updated_at":"{{Time(50)}}"}""",
        ]);
        await File.WriteAllLinesAsync(events, [
            $$"""{"profile_id":"p1","metric":"Placed Order","timestamp":"{{Time(2)}}","value":10}""",
            $$"""{"profile_id":"p4","metric":"Placed Order","timestamp":"{{Time(2)}}","value":10}""",
            $$"""{"profile_id":"p2","metric":"Placed Order","timestamp":"{{Time(60)}}","value":10}""",
            $$"""{"profile_id":"p3","metric":"Opened Email","timestamp":"{{Time(1)}}"}""",
        ]);
        var ingest = await RunAsync(null, "ingest", "--profiles", profiles, "--events", events);
        Assert.True(ingest.ExitCode == 0, ingest.StandardError);
    }

    private static string Definition(int days) => $$$"""
        {"name": "Boston buyers", "condition": {"all": [
          {"event": {"metric": "Placed Order", "window": {"last_days": {{{days}}}}, "op": "gte", "value": 1}},
          {"property": {"name": "city", "op": "eq", "value": "Boston"}}]}}
        """;

    [Fact]
    public async Task Save_evaluates_a_new_version_only_when_the_definition_changes_and_export_writes_the_members()
    {
        await LoadAsync();
        var file = Path.Combine(directory, "boston-buyers.json");
        await File.WriteAllTextAsync(file, Definition(90));

        var created = await RunAsync(null, "segments", "save", "--file", file, "--json");
        Assert.True(created.ExitCode == 0, created.StandardError);
        using var first = JsonDocument.Parse(created.StandardOutput);
        var id = first.RootElement.GetProperty("segment_id").GetString()!;
        Assert.Equal(1, first.RootElement.GetProperty("version").GetInt32());
        Assert.True(first.RootElement.GetProperty("changed").GetBoolean());
        Assert.Equal(2, first.RootElement.GetProperty("size").GetInt64());
        var firstEvaluation = first.RootElement.GetProperty("evaluated_at").GetString()!;

        // The same file again: nothing stored, nothing evaluated.
        var same = await RunAsync(null, "segments", "save", "--file", file, "--id", id, "--json");
        Assert.True(same.ExitCode == 0, same.StandardError);
        using (var unchanged = JsonDocument.Parse(same.StandardOutput))
        {
            Assert.False(unchanged.RootElement.GetProperty("changed").GetBoolean());
            Assert.Equal(1, unchanged.RootElement.GetProperty("version").GetInt32());
            Assert.Equal(firstEvaluation, unchanged.RootElement.GetProperty("evaluated_at").GetString());
        }

        // A shorter window from standard input: version 2, p2 exits.
        var changed = await RunAsync(Definition(30), "segments", "save", "--file", "-", "--id", id);
        Assert.True(changed.ExitCode == 0, changed.StandardError);
        Assert.Contains($"segment {id} version 2 (saved): 1 member as of ", changed.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("in the last 30 days and whose city is Boston", changed.StandardOutput, StringComparison.Ordinal);

        // Both versions, newest first, each with its read-back; the unchanged save stored none.
        var versions = await RunAsync(null, "segments", "versions", "--id", id);
        Assert.True(versions.ExitCode == 0, versions.StandardError);
        var versionLines = versions.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, versionLines.Length);
        Assert.StartsWith("  v2    ", versionLines[1], StringComparison.Ordinal);
        Assert.Contains("in the last 30 days and whose city is Boston", versionLines[2], StringComparison.Ordinal);
        Assert.StartsWith("  v1    ", versionLines[3], StringComparison.Ordinal);
        Assert.Contains("in the last 90 days and whose city is Boston", versionLines[4], StringComparison.Ordinal);
        Assert.Contains("  (1 older version: --limit 2 lists every one)", (await RunAsync(null, "segments", "versions", "--id", id, "--limit", "1")).StandardOutput, StringComparison.Ordinal);
        using (var versionsJson = JsonDocument.Parse((await RunAsync(null, "segments", "versions", "--id", id, "--json")).StandardOutput))
        {
            var items = versionsJson.RootElement.GetProperty("versions");
            Assert.Equal(2, versionsJson.RootElement.GetProperty("current_version").GetInt32());
            Assert.Equal(90, items[1].GetProperty("definition").GetProperty("condition").GetProperty("all")[0].GetProperty("event").GetProperty("window").GetProperty("last_days").GetInt32());
        }

        var csv = await RunAsync(null, "segments", "export", "--id", id, "--format", "csv");
        Assert.True(csv.ExitCode == 0, csv.StandardError);
        Assert.Equal("profile_id\np1\n", csv.StandardOutput);

        // As of the first evaluation: version 1's members, from the log.
        var output = Path.Combine(directory, "members.ndjson");
        var past = await RunAsync(null, "segments", "export", "--id", id, "--format", "ndjson", "--as-of", firstEvaluation, "--output", output);
        Assert.True(past.ExitCode == 0, past.StandardError);
        Assert.Equal(string.Empty, past.StandardOutput);
        Assert.Equal(["{\"profile_id\":\"p1\"}", "{\"profile_id\":\"p2\"}"], await File.ReadAllLinesAsync(output));
        Assert.Contains($"segment {id}: 2 members at ", past.StandardError, StringComparison.Ordinal);

        // With profile properties: each member's values, typed in NDJSON, quoted where CSV needs it, missing ones empty.
        var typed = await RunAsync(null, "segments", "export", "--id", id, "--format", "ndjson", "--as-of", firstEvaluation, "--properties", "city,age");
        Assert.True(typed.ExitCode == 0, typed.StandardError);
        Assert.Equal("{\"profile_id\":\"p1\",\"city\":\"Boston\",\"age\":34}\n{\"profile_id\":\"p2\",\"city\":\"Boston\",\"age\":null}\n", typed.StandardOutput);
        var quoted = await RunAsync(null, "segments", "export", "--id", id, "--format", "csv", "--as-of", firstEvaluation, "--properties", "note,city");
        Assert.True(quoted.ExitCode == 0, quoted.StandardError);
        Assert.Equal("profile_id,note,city\np1,\"likes \"\"red\"\", blue\",Boston\np2,,Boston\n", quoted.StandardOutput);
        var unknown = await RunAsync(null, "segments", "export", "--id", id, "--format", "csv", "--properties", "cty");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("--properties: 'acme' has no profile property 'cty'. Did you mean 'city'", unknown.StandardError, StringComparison.Ordinal);

        var shown = await RunAsync(null, "segments", "show", "--id", id, "--json");
        Assert.True(shown.ExitCode == 0, shown.StandardError);
        string secondEvaluation;
        using (var show = JsonDocument.Parse(shown.StandardOutput))
        {
            Assert.Equal(2, show.RootElement.GetProperty("version").GetInt32());
            Assert.Equal(1, show.RootElement.GetProperty("size").GetInt64());
            Assert.Equal(30, show.RootElement.GetProperty("definition").GetProperty("condition").GetProperty("all")[0]
                .GetProperty("event").GetProperty("window").GetProperty("last_days").GetInt32());
            secondEvaluation = show.RootElement.GetProperty("evaluated_at").GetString()!;
        }

        // The history: both entered at the first evaluation, p2 left at the second.
        var changes = await RunAsync(null, "segments", "changes", "--id", id, "--properties", "city");
        Assert.True(changes.ExitCode == 0, changes.StandardError);
        Assert.Equal(
            $"profile_id,change,at,city\np1,entered,{firstEvaluation},Boston\np2,entered,{firstEvaluation},Boston\np2,exited,{secondEvaluation},Boston\n",
            changes.StandardOutput);
        Assert.Contains($"segment {id}: 2 entered, 1 exited until now", changes.StandardError, StringComparison.Ordinal);
        var exits = await RunAsync(null, "segments", "changes", "--id", id, "--only", "exited", "--format", "ndjson", "--since", firstEvaluation);
        Assert.True(exits.ExitCode == 0, exits.StandardError);
        Assert.Equal($"{{\"profile_id\":\"p2\",\"change\":\"exited\",\"at\":\"{secondEvaluation}\"}}\n", exits.StandardOutput);
        var excelFile = Path.Combine(directory, "exits.csv");
        var excel = await RunAsync(null, "segments", "changes", "--id", id, "--only", "exited", "--excel", "--output", excelFile);
        Assert.True(excel.ExitCode == 0, excel.StandardError);
        Assert.Equal([0xEF, 0xBB, 0xBF, .. System.Text.Encoding.UTF8.GetBytes($"profile_id,change,at\np2,exited,{secondEvaluation}\n")], await File.ReadAllBytesAsync(excelFile));
    }

    [Fact]
    public async Task Watch_writes_what_each_round_records_and_posts_a_round_again_after_a_failed_post()
    {
        await LoadAsync();
        var start = Iso(DateTime.UtcNow.AddSeconds(-1));
        var saved = await RunAsync(Definition(90), "segments", "save", "--file", "-", "--no-evaluate", "--json");
        Assert.True(saved.ExitCode == 0, saved.StandardError);
        string id;
        using (var created = JsonDocument.Parse(saved.StandardOutput))
        {
            id = created.RootElement.GetProperty("segment_id").GetString()!;
        }

        // The round evaluates first: the new segment's members enter, with their city then.
        var first = await RunAsync(null, "segments", "watch", "--id", id, "--rounds", "1", "--properties", "city");
        Assert.True(first.ExitCode == 0, first.StandardError);
        var entered = first.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(["p1", "p2"], entered.Select(e => (string?)e["profile_id"]));
        var firstEvaluation = (string)entered[0]["at"]!;
        Assert.All(entered, e => Assert.Equal((id, "entered", firstEvaluation, "Boston"), ((string?)e["segment_id"], (string?)e["change"], (string?)e["at"], (string?)e["city"])));

        // A new version evaluated at its save: p2 exits; a watch from then on writes just that.
        var changed = await RunAsync(Definition(30), "segments", "save", "--file", "-", "--id", id, "--json");
        Assert.True(changed.ExitCode == 0, changed.StandardError);
        string secondEvaluation;
        using (var version = JsonDocument.Parse(changed.StandardOutput))
        {
            secondEvaluation = version.RootElement.GetProperty("evaluated_at").GetString()!;
        }

        var csv = await RunAsync(null, "segments", "watch", "--id", id, "--rounds", "1", "--since", secondEvaluation, "--format", "csv");
        Assert.True(csv.ExitCode == 0, csv.StandardError);
        Assert.Equal($"segment_id,profile_id,change,at\n{id},p2,exited,{secondEvaluation}\n", csv.StandardOutput);

        // segments list counts the same log: since the start, two entries and an exit; from the edit on, the exit alone.
        var listed = await RunAsync(null, "segments", "list", "--changes-since", start, "--json");
        var sinceEdit = await RunAsync(null, "segments", "list", "--changes-since", secondEvaluation);
        Assert.True(listed.ExitCode == 0, listed.StandardError);
        var counts = JsonNode.Parse(listed.StandardOutput)!.AsArray().Single(s => (string?)s!["id"] == id)!;
        Assert.Equal((2L, 1L), ((long)counts["entered"]!, (long)counts["exited"]!));
        Assert.Matches(@"MEMBERS\s+ENTERED\s+EXITED\s+VERSION", sinceEdit.StandardOutput);
        Assert.Matches($@"{id}\s+.+\s+1\s+0\s+1\s+2\s", sinceEdit.StandardOutput);

        // --only keeps the entries or the exits of the same rounds.
        var exits = await RunAsync(null, "segments", "watch", "--id", id, "--rounds", "1", "--since", start, "--only", "exited", "--format", "csv");
        var entries = await RunAsync(null, "segments", "watch", "--id", id, "--rounds", "1", "--since", start, "--only", "entered", "--format", "csv");
        Assert.Equal($"segment_id,profile_id,change,at\n{id},p2,exited,{secondEvaluation}\n", exits.StandardOutput);
        Assert.Equal($"segment_id,profile_id,change,at\n{id},p1,entered,{firstEvaluation}\n{id},p2,entered,{firstEvaluation}\n", entries.StandardOutput);

        // With a state file a second watch goes on where the first stopped, without --since.
        var stateFile = Path.Combine(directory, "watch-state.json");
        var resumedFirst = await RunAsync(null, "segments", "watch", "--id", id, "--rounds", "1", "--since", start, "--state", stateFile, "--format", "csv");
        var resumedAgain = await RunAsync(null, "segments", "watch", "--id", id, "--rounds", "1", "--state", stateFile, "--format", "csv");
        Assert.True(resumedFirst.ExitCode == 0, resumedFirst.StandardError);
        Assert.Equal(4, resumedFirst.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal("segment_id,profile_id,change,at\n", resumedAgain.StandardOutput);
        Assert.Contains($"changes from where {stateFile} left off", resumedAgain.StandardError, StringComparison.Ordinal);
        await File.WriteAllTextAsync(stateFile, "[]");
        var unreadable = await RunAsync(null, "segments", "watch", "--id", id, "--rounds", "1", "--state", stateFile);
        Assert.Equal(1, unreadable.ExitCode);
        Assert.Contains($"--state {stateFile}: not a state file this program wrote", unreadable.StandardError, StringComparison.Ordinal);

        // POSTed: the receiver fails the first request, so the second round sends the same changes again.
        using var receiver = new WebhookReceiver("Authorization", 500);
        var secretFile = Path.Combine(directory, "webhook-secret");
        await File.WriteAllTextAsync(secretFile, "0123456789abcdef-secret\n");
        var posted = await RunAsync(null, "segments", "watch", "--id", id, "--since", start, "--rounds", "2", "--every", "1", "--post", receiver.Url, "--post-header", "Authorization: Bearer k1", "--post-secret-file", secretFile);
        await receiver.WaitForAsync(2);

        Assert.True(posted.ExitCode == 0, posted.StandardError);
        Assert.Equal(string.Empty, posted.StandardOutput);
        Assert.Contains("500 Internal Server Error; the round's 3 changes are sent again next round", posted.StandardError, StringComparison.Ordinal);
        Assert.Contains("POST " + receiver.Url + ": 2 entered, 1 exited", posted.StandardError, StringComparison.Ordinal);
        var expected = new JsonObject
        {
            ["company"] = "acme",
            ["changes"] = new JsonArray(
                Change(id, "p1", "entered", firstEvaluation),
                Change(id, "p2", "entered", firstEvaluation),
                Change(id, "p2", "exited", secondEvaluation)),
        }.ToJsonString();
        Assert.Equal([("Bearer k1", expected), ("Bearer k1", expected)], receiver.Requests);

        // Each body signed: HMAC-SHA256 of "t.body" with the secret, as a receiver checks it.
        Assert.All(receiver.Signed, request =>
        {
            var match = System.Text.RegularExpressions.Regex.Match(request.Signature ?? string.Empty, "^t=([0-9]+),v1=([0-9a-f]{64})$");
            Assert.True(match.Success, request.Signature);
            var mac = System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes("0123456789abcdef-secret"), Encoding.UTF8.GetBytes(match.Groups[1].Value + "." + request.Body));
            Assert.Equal(Convert.ToHexStringLower(mac), match.Groups[2].Value);
            Assert.InRange(long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        });
    }

    [Fact]
    public async Task Watch_refuses_what_it_cannot_do_before_reading_anything()
    {
        var embedded = await RunAsync(null, "segments", "watch", "--no-evaluate");
        var notHttp = await RunAsync(null, "segments", "watch", "--post", "ftp://example.test/hook");
        var headerAlone = await RunAsync(null, "segments", "watch", "--post-header", "Authorization: Bearer k1");
        var badHeader = await RunAsync(null, "segments", "watch", "--post", "http://127.0.0.1:9/hook", "--post-header", "Bearer k1");
        var unknown = await RunAsync(null, "segments", "watch", "--id", "nope", "--rounds", "1");
        var badOnly = await RunAsync(null, "segments", "watch", "--only", "joined");
        Assert.Equal(2, badOnly.ExitCode);
        Assert.Contains("--only must be entered or exited, not 'joined'", badOnly.StandardError, StringComparison.Ordinal);
        var shortSecret = Path.Combine(directory, "short-secret");
        await File.WriteAllTextAsync(shortSecret, "abc");
        var weak = await RunAsync(null, "segments", "watch", "--post", "http://127.0.0.1:9/hook", "--post-secret-file", shortSecret);
        Assert.Equal(1, weak.ExitCode);
        Assert.Contains($"--post-secret-file {shortSecret}: the secret is 3 characters; give at least 16", weak.StandardError, StringComparison.Ordinal);

        Assert.Equal((2, 2, 2, 2, 1), (embedded.ExitCode, notHttp.ExitCode, headerAlone.ExitCode, badHeader.ExitCode, unknown.ExitCode));
        Assert.Contains("--no-evaluate: the embedded data is open in this process alone", embedded.StandardError, StringComparison.Ordinal);
        Assert.Contains("--post must be an http:// or https:// URL, not 'ftp://example.test/hook'", notHttp.StandardError, StringComparison.Ordinal);
        Assert.Contains("--post-header and --post-secret-file: give --post URL as well", headerAlone.StandardError, StringComparison.Ordinal);
        Assert.Contains("--post-header Bearer k1: give \"NAME: VALUE\"", badHeader.StandardError, StringComparison.Ordinal);
        Assert.Contains("no segment 'nope' in 'acme'", unknown.StandardError, StringComparison.Ordinal);
    }

    private static JsonObject Change(string segmentId, string profileId, string change, string at) =>
        new() { ["segment_id"] = segmentId, ["profile_id"] = profileId, ["change"] = change, ["at"] = at };

    private static string Iso(DateTime time) => time.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_bad_definition_file_stores_nothing_and_says_where()
    {
        await LoadAsync();
        var saved = await RunAsync(Definition(90), "segments", "save", "--file", "-");
        Assert.True(saved.ExitCode == 0, saved.StandardError);

        var broken = await RunAsync("{\"name\": \"x\",\n  \"condition\": }", "segments", "save", "--file", "-");
        Assert.Equal(1, broken.ExitCode);
        Assert.Contains("standard input: line 2, column 16: not valid JSON", broken.StandardError, StringComparison.Ordinal);

        var unknown = await RunAsync(Definition(90).Replace("Placed Order", "Placed Ordr", StringComparison.Ordinal), "segments", "save", "--file", "-");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("standard input: condition.all[0].event.metric: Unknown metric 'Placed Ordr'. Did you mean 'Placed Order'", unknown.StandardError, StringComparison.Ordinal);
        Assert.Contains("nothing was saved", unknown.StandardError, StringComparison.Ordinal);

        var list = await RunAsync(null, "segments", "list", "--json");
        Assert.True(list.ExitCode == 0, list.StandardError);
        using var segments = JsonDocument.Parse(list.StandardOutput);
        var only = Assert.Single(segments.RootElement.EnumerateArray());
        Assert.Equal("Boston buyers", only.GetProperty("name").GetString());
        Assert.Equal(1, only.GetProperty("version").GetInt32());

        // A search keeps the segments whose id, name or description mentions the text, ignoring case.
        using (var found = JsonDocument.Parse((await RunAsync(null, "segments", "list", "--search", "BOSTON", "--json")).StandardOutput))
        {
            Assert.Equal("Boston buyers", Assert.Single(found.RootElement.EnumerateArray()).GetProperty("name").GetString());
        }

        Assert.Equal("no saved segment of 'acme' mentions 'Denver' in its id, name or description\n", (await RunAsync(null, "segments", "list", "--search", "Denver")).StandardOutput);
    }

    [Fact]
    public async Task A_definition_saved_as_utf16_is_read_and_one_not_in_utf8_is_named()
    {
        await LoadAsync();
        var utf16 = Path.Combine(directory, "boston-buyers.json");
        await File.WriteAllTextAsync(utf16, Definition(90), Encoding.Unicode);
        var latin1 = Path.Combine(directory, "latin1.json");
        await File.WriteAllBytesAsync(latin1, Encoding.Latin1.GetBytes(Definition(90).Replace("Boston buyers", "Bostoner Käufer", StringComparison.Ordinal)));

        var saved = await RunAsync(null, "segments", "save", "--file", utf16, "--json");
        var refused = await RunAsync(null, "segments", "save", "--file", latin1);

        Assert.True(saved.ExitCode == 0, saved.StandardError);
        using var result = JsonDocument.Parse(saved.StandardOutput);
        Assert.Equal(2, result.RootElement.GetProperty("size").GetInt32());
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal($"{latin1}: not UTF-8 text (and no byte-order mark naming another encoding); save the file as UTF-8; nothing was saved", refused.StandardError.Trim());
    }

    [Fact]
    public async Task Evaluating_a_company_without_segments_names_the_ones_with_segments()
    {
        await LoadAsync();
        var saved = await RunAsync(Definition(90), "segments", "save", "--file", "-", "--no-evaluate");
        Assert.True(saved.ExitCode == 0, saved.StandardError);

        var misspelt = await HostProcess.RunAsync(null, "evaluate", "--company", "acm", "--data", Data);

        Assert.Equal(0, misspelt.ExitCode);
        Assert.Contains("evaluated at ", misspelt.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("'acm' has no saved segments. Did you mean 'acme'? Tenants with saved segments: acme.", misspelt.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_saves_a_directory_by_name_and_one_bad_file_stores_nothing()
    {
        await LoadAsync();
        var definitions = Directory.CreateDirectory(Path.Combine(directory, "definitions")).FullName;
        await File.WriteAllTextAsync(Path.Combine(definitions, "boston.json"), Definition(90));
        await File.WriteAllTextAsync(Path.Combine(definitions, "denver.json"), """{"name": "Denver", "condition": {"property": {"name": "city", "op": "eq", "value": "Denver"}}}""");

        var first = await RunAsync(null, "segments", "apply", "--dir", definitions);
        Assert.True(first.ExitCode == 0, first.StandardError);
        Assert.Contains("2 created, 0 changed, 0 unchanged", first.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("(created): 2 members as of ", first.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("(created): 1 member as of ", first.StandardOutput, StringComparison.Ordinal);

        var again = await RunAsync(null, "segments", "apply", "--dir", definitions);
        Assert.True(again.ExitCode == 0, again.StandardError);
        Assert.Contains("0 created, 0 changed, 2 unchanged", again.StandardOutput, StringComparison.Ordinal);

        // A changed window next to a file naming an unknown metric: neither is stored.
        await File.WriteAllTextAsync(Path.Combine(definitions, "boston.json"), Definition(30));
        await File.WriteAllTextAsync(Path.Combine(definitions, "typo.json"), Definition(30).Replace("Boston buyers", "Typo", StringComparison.Ordinal).Replace("Placed Order", "Placed Ordr", StringComparison.Ordinal));
        var refused = await RunAsync(null, "segments", "apply", "--dir", definitions);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("typo.json: condition.all[0].event.metric: Unknown metric 'Placed Ordr'", refused.StandardError, StringComparison.Ordinal);
        Assert.Contains("nothing was saved", refused.StandardError, StringComparison.Ordinal);
        var list = await RunAsync(null, "segments", "list", "--json");
        using (var segments = JsonDocument.Parse(list.StandardOutput))
        {
            Assert.Equal([("Boston buyers", 1), ("Denver", 1)], segments.RootElement.EnumerateArray()
                .Select(s => (s.GetProperty("name").GetString()!, s.GetProperty("version").GetInt32())).Order().ToList());
        }

        File.Delete(Path.Combine(definitions, "typo.json"));
        var planned = await RunAsync(null, "segments", "apply", "--dir", definitions, "--dry-run");
        Assert.True(planned.ExitCode == 0, planned.StandardError);
        Assert.Matches(@"boston\.json: would save segment \S+ version 2: 2 → 1 member now, 0 would enter, 1 would exit\n", planned.StandardOutput);
        await File.WriteAllTextAsync(Path.Combine(definitions, "new.json"), Definition(365).Replace("Boston buyers", "Yearly Boston buyers", StringComparison.Ordinal));
        var withNew = await RunAsync(null, "segments", "apply", "--dir", definitions, "--dry-run");
        Assert.Contains("new.json: would create a segment of 2 members", withNew.StandardOutput, StringComparison.Ordinal);
        File.Delete(Path.Combine(definitions, "new.json"));
        Assert.Contains("dry run: 0 to create, 1 to change, 1 unchanged; nothing was saved", planned.StandardOutput, StringComparison.Ordinal);

        var applied = await RunAsync(null, "segments", "apply", "--dir", definitions);
        Assert.True(applied.ExitCode == 0, applied.StandardError);
        Assert.Contains("0 created, 1 changed, 1 unchanged", applied.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("version 2 (saved): 1 member as of ", applied.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_value_no_profile_has_is_saved_with_a_warning_naming_the_closest_values()
    {
        await LoadAsync();
        const string Slip = """{"name": "Denverites", "condition": {"property": {"name": "city", "op": "in", "value": ["denver", "Boston"]}}}""";

        var saved = await RunAsync(Slip, "segments", "save", "--file", "-", "--json");
        Assert.True(saved.ExitCode == 0, saved.StandardError);
        string id;
        using (var result = JsonDocument.Parse(saved.StandardOutput))
        {
            Assert.Equal(3, result.RootElement.GetProperty("size").GetInt64());
            id = result.RootElement.GetProperty("segment_id").GetString()!;
        }

        Assert.Equal(
            "standard input: warning: condition.property.value: No profile has ever had city = \"denver\"; values are compared exactly, case included (\"ignore_case\": true on the filter compares without case). Closest values now: \"Denver\" (1 profile), \"Boston\" (3 profiles).",
            saved.StandardError.Trim());
        var shown = await RunAsync(null, "segments", "show", "--id", id);
        Assert.True(shown.ExitCode == 0, shown.StandardError);
        Assert.StartsWith($"segment {id}: warning: ", shown.StandardError, StringComparison.Ordinal);
        Assert.Contains(": warning: condition.property.value: No profile has ever had city = \"denver\"", shown.StandardError, StringComparison.Ordinal);

        var definitions = Directory.CreateDirectory(Path.Combine(directory, "definitions")).FullName;
        await File.WriteAllTextAsync(Path.Combine(definitions, "denver.json"), Slip);
        await File.WriteAllTextAsync(Path.Combine(definitions, "boston.json"), Definition(90));
        await File.WriteAllTextAsync(Path.Combine(definitions, "numbers.json"), """{"name": "Numbered", "condition": {"property": {"name": "city", "op": "gte", "value": 10}}}""");
        var planned = await RunAsync(null, "segments", "apply", "--dir", definitions, "--dry-run");
        Assert.True(planned.ExitCode == 0, planned.StandardError);
        Assert.Equal(
            [$"{Path.Combine(definitions, "denver.json")}: warning: condition.property.value", $"{Path.Combine(definitions, "numbers.json")}: warning: condition.property.op"],
            planned.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line[..line.IndexOf(": No ", StringComparison.Ordinal)]));
        Assert.Contains("No profile has ever had a number as city, and 'gte' reads it as one", planned.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preview_compare_to_counts_who_would_enter_and_exit_a_saved_segment()
    {
        await LoadAsync();
        var file = Path.Combine(directory, "recent.json");
        await File.WriteAllTextAsync(file, Definition(90));
        var id = JsonNode.Parse((await RunAsync(null, "segments", "save", "--file", file, "--json")).StandardOutput)!["segment_id"]!.GetValue<string>();

        // The last 30 days instead of 90: p2's order (60 days ago) no longer counts.
        var text = await RunAsync(Definition(30), "segments", "preview", "--file", "-", "--compare-to", id);
        Assert.True(text.ExitCode == 0, text.StandardError);
        Assert.EndsWith($"  against segment {id}, whose definition matches 2 members at the same time: 1 in both, 0 would enter, 1 would exit (p2)", text.StandardOutput.TrimEnd(), StringComparison.Ordinal);

        var json = await RunAsync(Definition(30), "segments", "preview", "--file", "-", "--compare-to", id, "--json", "--limit", "0");
        var compared = JsonNode.Parse(json.StandardOutput)!["compared_to"]!;
        Assert.Equal((2L, 1L, 0L, 1L), ((long)compared["matches"]!, (long)compared["in_both"]!, (long)compared["would_enter"]!, (long)compared["would_exit"]!));
        Assert.Equal(["p2"], compared["would_exit_examples"]!.AsArray().Select(m => (string?)m));

        var unknown = await RunAsync(Definition(30), "segments", "preview", "--file", "-", "--compare-to", "recnt");
        Assert.Equal(1, unknown.ExitCode);
        Assert.StartsWith("no segment 'recnt' in 'acme'.", unknown.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preview_checks_a_definition_file_against_the_data_and_saves_nothing()
    {
        await LoadAsync();

        var preview = await RunAsync(Definition(90), "segments", "preview", "--file", "-");
        Assert.True(preview.ExitCode == 0, preview.StandardError);
        var lines = preview.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("Profiles who placed an order in the last 90 days and whose city is Boston", lines[0]);
        Assert.Matches(@"^  2 members at \S+Z \(nothing saved\); the first 2: p1, p2$", lines[1]);

        var json = await RunAsync(Definition(90), "segments", "preview", "--file", "-", "--json", "--limit", "1", "--as-of", DateTime.UtcNow.AddDays(-30).ToString("o", CultureInfo.InvariantCulture));
        Assert.True(json.ExitCode == 0, json.StandardError);
        using (var document = JsonDocument.Parse(json.StandardOutput))
        {
            // Thirty days ago p2's order (60 days ago) was within 90 days, p1's (2 days ago) not yet made.
            Assert.Equal(1, document.RootElement.GetProperty("count").GetInt64());
            Assert.Equal(["p2"], document.RootElement.GetProperty("members").EnumerateArray().Select(m => m.GetString()));
        }

        // An empty conjunction says which condition empties it, and the slipped value is named on standard error.
        var empty = await RunAsync(Definition(90).Replace("Boston", "Bostn", StringComparison.Ordinal), "segments", "preview", "--file", "-");
        Assert.True(empty.ExitCode == 0, empty.StandardError);
        Assert.Contains("  0 members at ", empty.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("    condition.all[0]: 3 members (Profiles who placed an order in the last 90 days)", empty.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("    condition.all[1]: 0 members (Profiles whose city is Bostn)", empty.StandardOutput, StringComparison.Ordinal);
        Assert.StartsWith("standard input: warning: condition.all[1].property.value: No profile has ever had city = \"Bostn\"", empty.StandardError, StringComparison.Ordinal);

        var invalid = await RunAsync("""{"name": "x", "condition": {"event": {"metric": "Placed Ordr"}}}""", "segments", "preview", "--file", "-");
        Assert.Equal(1, invalid.ExitCode);
        Assert.Contains("standard input: condition.event.metric: Unknown metric 'Placed Ordr'. Did you mean 'Placed Order'", invalid.StandardError, StringComparison.Ordinal);
        Assert.Contains("standard input: 3 problem(s); nothing was previewed", invalid.StandardError, StringComparison.Ordinal);

        // A draft file needs no name and may be its bare condition; saving one is refused, naming the field.
        using (var definition = JsonDocument.Parse(Definition(90)))
        {
            var condition = definition.RootElement.GetProperty("condition").GetRawText();
            var bare = await RunAsync(condition, "segments", "preview", "--file", "-");
            Assert.True(bare.ExitCode == 0, bare.StandardError);
            var bareLines = bare.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(lines[0], bareLines[0]);
            Assert.Matches(@"^  2 members at \S+Z \(nothing saved\); the first 2: p1, p2$", bareLines[1]);
            var unsaved = await RunAsync(condition, "segments", "save", "--file", "-");
            Assert.Equal(1, unsaved.ExitCode);
            Assert.Contains("is a condition: a definition holds its condition inside \"condition\"", unsaved.StandardError, StringComparison.Ordinal);
        }

        var listed = await RunAsync(null, "segments", "list", "--json");
        Assert.Equal("[]", listed.StandardOutput.Trim());
    }

    [Fact]
    public async Task Breakdown_prints_each_property_s_values_among_the_members()
    {
        await LoadAsync();
        var saved = await RunAsync(Definition(90), "segments", "save", "--file", "-", "--json");
        Assert.True(saved.ExitCode == 0, saved.StandardError);
        string id;
        using (var result = JsonDocument.Parse(saved.StandardOutput))
        {
            id = result.RootElement.GetProperty("segment_id").GetString()!;
        }

        // The members are p1 (Boston, age 34) and p2 (Boston, no age).
        var text = await RunAsync(null, "segments", "breakdown", "--id", id, "--properties", "city, age");
        Assert.True(text.ExitCode == 0, text.StandardError);
        var lines = text.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).ToList();
        Assert.Matches($@"^Boston buyers  \[{id}\]  2 members as of \S+Z$", lines[0]);
        Assert.Equal(
            [
                "city: 2 with a value, 1 distinct",
                "  Boston           2  100.0%",
                "age: 1 with a value, 1 distinct",
                "  numbers (1): min 34, p25 34, median 34, p75 34, max 34, mean 34",
                "  34                   1   50.0%",
                "  (no value)           1   50.0%",
            ],
            lines.Skip(1));

        var json = await RunAsync(null, "segments", "breakdown", "--id", id, "--properties", "age", "--json");
        Assert.True(json.ExitCode == 0, json.StandardError);
        using (var document = JsonDocument.Parse(json.StandardOutput))
        {
            var age = document.RootElement.GetProperty("properties")[0];
            Assert.Equal(2, document.RootElement.GetProperty("members").GetInt64());
            Assert.Equal((1, 1, 34.0), (age.GetProperty("with_value").GetInt64(), age.GetProperty("without_value").GetInt64(), age.GetProperty("numbers").GetProperty("median").GetDouble()));
        }

        // A definition file is evaluated now, nothing saved: everyone in Boston (p1, p2, p3).
        var draft = await RunAsync("""{"name": "Bostonians", "condition": {"property": {"name": "city", "op": "eq", "value": "Boston"}}}""", "segments", "breakdown", "--file", "-", "--properties", "age", "--json");
        Assert.True(draft.ExitCode == 0, draft.StandardError);
        using (var document = JsonDocument.Parse(draft.StandardOutput))
        {
            Assert.False(document.RootElement.TryGetProperty("segment_id", out _));
            Assert.Equal(3, document.RootElement.GetProperty("members").GetInt64());
            Assert.Equal(2, document.RootElement.GetProperty("properties")[0].GetProperty("without_value").GetInt64());
        }

        Assert.Equal(2, (await RunAsync(null, "segments", "breakdown", "--id", id, "--properties", "age", "--as-of", "2026-01-01")).ExitCode);
        // By event: the members' orders of the last 90 days (p1's 2 days ago, p2's 60 days ago); they carry no properties.
        var orders = await RunAsync(null, "segments", "breakdown", "--id", id, "--events", "Placed Order:category:90");
        Assert.Equal(1, orders.ExitCode);
        Assert.Contains("--events: property: 'Placed Order' events have no property 'category'. They carry no properties.", orders.StandardError, StringComparison.Ordinal);

        // Their own numbers ($value) are there all the same: 10 each, one order per member.
        var amounts = await RunAsync(null, "segments", "breakdown", "--id", id, "--events", "Placed Order:$value:90");
        Assert.True(amounts.ExitCode == 0, amounts.StandardError);
        Assert.Contains("  numbers (2 events): sum 20, min 10, p25 10, median 10, p75 10, max 10, mean 10; per member who had any (2) 10", amounts.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(2, (await RunAsync(null, "segments", "breakdown", "--id", id, "--events", "Placed Order")).ExitCode);

        // Its growth: evaluated today only, so one day whose entries are its two members.
        var growth = await RunAsync(null, "segments", "growth", "--id", id, "--days", "3");
        Assert.True(growth.ExitCode == 0, growth.StandardError);
        var growthLines = growth.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd()).ToList();
        Assert.Equal("  DAY (UTC)      MEMBERS     ENTERED      EXITED", growthLines[1]);
        Assert.Equal($"  {DateTime.UtcNow:yyyy-MM-dd}           2           2           0", growthLines[2]);
        using (var document = JsonDocument.Parse((await RunAsync(null, "segments", "growth", "--id", id, "--json")).StandardOutput))
        {
            Assert.Equal(2, document.RootElement.GetProperty("history")[0].GetProperty("size").GetInt64());
        }

        // Its overlap with every Bostonian (p1, p2 and p4): both its members.
        var bostonians = await RunAsync("""{"name": "Bostonians", "condition": {"property": {"name": "city", "op": "eq", "value": "Boston"}}}""", "segments", "save", "--file", "-", "--json");
        Assert.True(bostonians.ExitCode == 0, bostonians.StandardError);
        var everyone = (string)JsonNode.Parse(bostonians.StandardOutput)!["segment_id"]!;
        var overlap = await RunAsync(null, "segments", "overlap", "--id", id, "--id", everyone);
        Assert.True(overlap.ExitCode == 0, overlap.StandardError);
        Assert.Matches($@"{id}\s+{everyone}\s+2\s+100\.0%", overlap.StandardOutput);
        Assert.Matches($@"{everyone}\s+3\s+Bostonians", overlap.StandardOutput);
        var overlapJson = JsonNode.Parse((await RunAsync(null, "segments", "overlap", "--id", id, "--id", everyone, "--json")).StandardOutput)!;
        Assert.Equal((2L, 3L, 2L), ((long)overlapJson["sizes"]![id]!, (long)overlapJson["sizes"]![everyone]!, (long)overlapJson["pairs"]![0]!["both"]!));
        var one = await RunAsync(null, "segments", "overlap", "--id", id);
        Assert.Equal(2, one.ExitCode);
        Assert.Contains("--id: give 2 to 8 distinct saved segments, --id once for each (got 1)", one.StandardError, StringComparison.Ordinal);
        Assert.Equal(1, (await RunAsync(null, "segments", "overlap", "--id", id, "--id", "nope")).ExitCode);

        // Its query: one statement, every value a parameter.
        var explained = await RunAsync(null, "segments", "explain", "--id", id);
        Assert.True(explained.ExitCode == 0, explained.StandardError);
        Assert.Contains("Profiles who placed an order in the last 90 days and whose city is Boston", explained.StandardOutput, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^SELECT .*\{tenant:String\}", explained.StandardOutput);
        Assert.DoesNotContain("'Boston'", explained.StandardOutput.Split("parameters:")[0], StringComparison.Ordinal);
        Assert.Matches(@"(?m)^  p\d+\s+String\s+'Boston'$", explained.StandardOutput);
        Assert.Matches(@"ClickHouse estimates [\d,]+ rows read", explained.StandardOutput);
        var explainedJson = JsonNode.Parse((await RunAsync("""{"name": "Bostonians", "condition": {"property": {"name": "city", "op": "eq", "value": "Boston"}}}""", "segments", "explain", "--file", "-", "--json")).StandardOutput)!;
        Assert.Contains(explainedJson["parameters"]!.AsArray(), p => (string?)p!["value"] == "'Boston'" && (string?)p["type"] == "String");
        Assert.StartsWith("SELECT", (string)explainedJson["sql"]!, StringComparison.Ordinal);
        Assert.Equal("Profiles whose city is Boston", (string?)explainedJson["read_back"]);
        Assert.Equal(2, (await RunAsync(null, "segments", "explain")).ExitCode);

        var unknown = await RunAsync(null, "segments", "breakdown", "--id", id, "--properties", "cty");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no profile property 'cty'. Did you mean 'city'", unknown.StandardError, StringComparison.Ordinal);
        var metric = await RunAsync(null, "segments", "breakdown", "--id", id, "--properties", "Placed Order");
        Assert.Equal(1, metric.ExitCode);
        Assert.Contains("no profile property 'Placed Order'. 'Placed Order' is a metric, not a profile property.", metric.StandardError, StringComparison.Ordinal);
        Assert.Equal(2, (await RunAsync(null, "segments", "breakdown", "--id", id)).ExitCode);
        Assert.Equal(1, (await RunAsync(null, "segments", "breakdown", "--id", "nope", "--properties", "city")).ExitCode);
    }

    [Fact]
    public async Task Schema_lists_the_data_and_counts_one_names_values()
    {
        await LoadAsync();
        var all = await RunAsync(null, "schema");
        Assert.True(all.ExitCode == 0, all.StandardError);
        var lines = all.StandardOutput.Split('\n').Select(l => l.TrimEnd()).ToList();
        Assert.Equal("'acme': 4 profiles, 4 events", lines[0]);
        Assert.Contains("city                      string                     4  Boston, Denver", lines);
        Assert.Contains(lines, l => l.StartsWith("Placed Order                         3           3  ", StringComparison.Ordinal) && l.EndsWith("  $value", StringComparison.Ordinal));

        // One property closer: each value with its profiles, most first.
        var city = await RunAsync(null, "schema", "--property", "city");
        Assert.True(city.ExitCode == 0, city.StandardError);
        Assert.Contains("    2 distinct values\n    VALUE     PROFILES\n    Boston           3\n    Denver           1\n", city.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("differing only in case", city.StandardOutput, StringComparison.Ordinal);

        // One metric closer, as JSON: its events' values counted in the sample, with the numeric range.
        using (var document = JsonDocument.Parse((await RunAsync(null, "schema", "--metric", "Placed Order", "--json")).StandardOutput))
        {
            var orders = Assert.Single(document.RootElement.GetProperty("metrics").EnumerateArray());
            Assert.Equal(3, orders.GetProperty("sampled_events").GetInt64());
            var value = orders.GetProperty("value");
            Assert.Equal((10, 10, 1), (value.GetProperty("min").GetDouble(), value.GetProperty("max").GetDouble(), value.GetProperty("distinct_values").GetInt64()));
            Assert.Equal(3, value.GetProperty("top_values")[0].GetProperty("count").GetInt64());
            Assert.Empty(document.RootElement.GetProperty("properties").EnumerateArray());
        }

        var unknown = await RunAsync(null, "schema", "--property", "cty");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("--property: 'acme' has no profile property 'cty'. Did you mean 'city'", unknown.StandardError, StringComparison.Ordinal);
        var metric = await RunAsync(null, "schema", "--metric", "city");
        Assert.Equal(1, metric.ExitCode);
        Assert.Contains("--metric: 'acme' has no metric 'city'. 'city' is a profile property, not a metric.", metric.StandardError, StringComparison.Ordinal);
        Assert.Equal(2, (await RunAsync(null, "schema", "--metric", "Placed Order", "--property", "city")).ExitCode);

        // A city typed in capitals: the two spellings are shown together, with the flag that joins them.
        var shouted = Path.Combine(directory, "shouted.ndjson");
        await File.WriteAllTextAsync(shouted, """{"profile_id":"p5","properties":{"city":"BOSTON"}}""" + "\n");
        Assert.Equal(0, (await RunAsync(null, "ingest", "--profiles", shouted)).ExitCode);
        Assert.Contains(
            "    differing only in case (a filter tells them apart unless it has \"ignore_case\": true):\n      Boston (3 profiles), BOSTON (1 profile)\n",
            (await RunAsync(null, "schema", "--property", "city")).StandardOutput,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_says_why_a_profile_is_in_a_segment_and_profiles_show_who_it_is()
    {
        await LoadAsync();
        var saved = await RunAsync(Definition(30), "segments", "save", "--file", "-", "--json");
        var id = (string)JsonNode.Parse(saved.StandardOutput)!["segment_id"]!;

        // p2 is in Boston but ordered 60 days ago: the order condition fails, with no event in its window.
        var p2 = await RunAsync(null, "segments", "check", "--id", id, "--profile", "p2");
        Assert.True(p2.ExitCode == 0, p2.StandardError);
        var lines = p2.StandardOutput.Split('\n');
        Assert.StartsWith($"p2 is not in Boston buyers [{id}] at ", lines[0], StringComparison.Ordinal);
        Assert.Contains("    fails  condition.all[0]: Profiles who placed an order in the last 30 days", lines);
        Assert.Contains(lines, line => line.Contains("events_in_window 0", StringComparison.Ordinal) && line.Contains("measured_value 0", StringComparison.Ordinal));
        Assert.Contains("    holds  condition.all[1]: Profiles whose city is Boston", lines);
        Assert.Contains(lines, line => line.Contains("property \"city\", value \"Boston\"", StringComparison.Ordinal));

        // As of 59 days ago the order was inside the 30 days: p2 was in the segment then. A draft file works as a segment does.
        var then = await RunAsync(Definition(30), "segments", "check", "--file", "-", "--profile", "p2", "--as-of", DateTime.UtcNow.AddDays(-59).ToString("O", CultureInfo.InvariantCulture), "--json");
        Assert.True(then.ExitCode == 0, then.StandardError);
        var checkedThen = JsonNode.Parse(then.StandardOutput)!;
        Assert.True((bool)checkedThen["member"]!);
        Assert.Equal(1, (long)checkedThen["conditions"]![1]!["evidence"]!["events_in_window"]!);
        Assert.Equal("condition.all[0]", (string?)checkedThen["conditions"]![1]!["path"]);

        // p2 orders after the evaluation: it matches now, and the note says the stored members do not have it yet.
        var order = $$"""{"profile_id":"p2","metric":"Placed Order","timestamp":"{{DateTime.UtcNow.AddHours(-2).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}}","value":10}""";
        Assert.Equal(0, (await RunAsync(order, "ingest", "--events", "-")).ExitCode);
        var pending = await RunAsync(null, "segments", "check", "--id", id, "--profile", "p2", "--json");
        Assert.True((bool)JsonNode.Parse(pending.StandardOutput)!["member"]!);
        Assert.False((bool)JsonNode.Parse(pending.StandardOutput)!["stored_member"]!);
        Assert.Contains("note: The segment's stored members (its last evaluation, ", pending.StandardError, StringComparison.Ordinal);
        Assert.Contains("do not include this profile, but evaluated now it matches: the next evaluation (segmentmcp evaluate) records its entry.", pending.StandardError, StringComparison.Ordinal);

        // An id nothing has: answered for a profile without data, with a note naming the id it resembles.
        var nobody = await RunAsync(null, "segments", "check", "--id", id, "--profile", "P1");
        Assert.Equal(0, nobody.ExitCode);
        Assert.Contains("no event or profile record in 'acme' has the id 'P1'", nobody.StandardError, StringComparison.Ordinal);
        Assert.Contains("Did you mean 'p1'?", nobody.StandardError, StringComparison.Ordinal);
        Assert.Equal(1, (await RunAsync(null, "segments", "check", "--id", "nope", "--profile", "p1")).ExitCode);

        // profiles show: p1's values, its order, its segment.
        var shown = await RunAsync(null, "profiles", "show", "--id", "p1");
        Assert.True(shown.ExitCode == 0, shown.StandardError);
        Assert.Contains("    city: \"Boston\"", shown.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("    age: 34", shown.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"  segments: {id}", shown.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("  Placed Order  value 10", shown.StandardOutput, StringComparison.Ordinal);
        var json = JsonNode.Parse((await RunAsync(null, "profiles", "show", "--id", "p1", "--metric", "Placed Order", "--json")).StandardOutput)!;
        Assert.Equal(10.0, (double)json["recent_events"]![0]!["value"]!);
        Assert.Equal("Boston", (string?)json["properties"]!["city"]);
        Assert.Equal([id], json["segments"]!.AsArray().Select(s => (string?)s));

        // As of 75 days ago p1 had its city but not yet its age (set 50 days ago), and no order.
        var past = JsonNode.Parse((await RunAsync(null, "profiles", "show", "--id", "p1", "--as-of", DateTime.UtcNow.AddDays(-75).ToString("O", CultureInfo.InvariantCulture), "--json")).StandardOutput)!;
        Assert.Equal(["city"], past["properties"]!.AsObject().Select(p => p.Key));
        Assert.Empty(past["recent_events"]!.AsArray());

        var unknown = await RunAsync(null, "profiles", "show", "--id", "P1");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("no profile 'P1' in 'acme'. Did you mean 'p1'?", unknown.StandardError, StringComparison.Ordinal);
        var metric = await RunAsync(null, "profiles", "show", "--id", "p1", "--metric", "Placed Ordr");
        Assert.Equal(1, metric.ExitCode);
        Assert.Contains("no metric 'Placed Ordr' in 'acme'. Did you mean 'Placed Order'", metric.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Saving_a_new_segment_under_a_name_in_use_warns_and_saves_another()
    {
        await LoadAsync();
        var first = await RunAsync(Definition(90), "segments", "save", "--file", "-", "--json", "--no-evaluate");
        Assert.True(first.ExitCode == 0, first.StandardError);
        Assert.Equal(string.Empty, first.StandardError.Trim());
        using var document = JsonDocument.Parse(first.StandardOutput);
        var id = document.RootElement.GetProperty("segment_id").GetString();

        var second = await RunAsync(Definition(30), "segments", "save", "--file", "-", "--json", "--no-evaluate");
        Assert.True(second.ExitCode == 0, second.StandardError);
        Assert.Equal(
            $"standard input: warning: '{id}' has this name too; this saves another segment (segments save --id S saves a new version of S, segments apply matches files to segments by name)",
            second.StandardError.Trim());
        Assert.Equal(2, JsonDocument.Parse((await RunAsync(null, "segments", "list", "--json")).StandardOutput).RootElement.GetArrayLength());
    }

    [Fact]
    public async Task Delete_is_refused_while_another_segment_uses_it()
    {
        await LoadAsync();
        var saved = await RunAsync(Definition(90), "segments", "save", "--file", "-", "--json", "--no-evaluate");
        Assert.True(saved.ExitCode == 0, saved.StandardError);
        using var document = JsonDocument.Parse(saved.StandardOutput);
        var id = document.RootElement.GetProperty("segment_id").GetString()!;
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("evaluated_at").ValueKind);
        var user = await RunAsync("{\"name\": \"Uses it\", \"condition\": {\"segment\": {\"id\": \"" + id + "\"}}}", "segments", "save", "--file", "-", "--json");
        Assert.True(user.ExitCode == 0, user.StandardError);
        using var userDocument = JsonDocument.Parse(user.StandardOutput);
        var userId = userDocument.RootElement.GetProperty("segment_id").GetString()!;

        var refused = await RunAsync(null, "segments", "delete", "--id", id);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"segment {id} is used by '{userId}'", refused.StandardError, StringComparison.Ordinal);

        var deleted = await RunAsync(null, "segments", "delete", "--id", userId);
        Assert.True(deleted.ExitCode == 0, deleted.StandardError);
        var then = await RunAsync(null, "segments", "delete", "--id", id);
        Assert.True(then.ExitCode == 0, then.StandardError);
        Assert.Contains($"segment {id} deleted", then.StandardOutput, StringComparison.Ordinal);

        var missing = await RunAsync(null, "segments", "show", "--id", id);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains($"no segment '{id}' in 'acme'", missing.StandardError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("segments", "show")]
    [InlineData("segments", "export", "--id", "x", "--format", "xml")]
    [InlineData("segments", "save", "--file", "/no/such/definition.json")]
    [InlineData("segments", "save")]
    [InlineData("segments", "apply")]
    [InlineData("segments", "apply", "--dir", "/no/such/directory")]
    [InlineData("segments", "export", "--id", "x", "--properties", "city")]
    [InlineData("segments", "export", "--id", "x", "--excel")]
    [InlineData("segments", "changes", "--id", "x", "--only", "joined")]
    [InlineData("segments", "changes", "--id", "x", "--since", "2026-12-02", "--until", "2026-12-01")]
    [InlineData("segments", "export", "--id", "x", "--output", "/no/such/directory/members.csv")]
    [InlineData("segments", "changes", "--id", "x", "--output", "/no/such/directory/changes.csv")]
    [InlineData("segments", "check", "--id", "x")]
    [InlineData("segments", "check", "--profile", "p1")]
    [InlineData("segments", "check", "--id", "x", "--file", "-", "--profile", "p1")]
    [InlineData("profiles", "show")]
    [InlineData("profiles", "show", "--id", "p1", "--events", "-1")]
    public async Task Usage_mistakes_exit_2_and_say_what_is_wrong(params string[] arguments)
    {
        var run = await HostProcess.RunAsync(null, [.. arguments, "--data", Data]);

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith($"segmentmcp {arguments[0]} {arguments[1]}: ", run.StandardError, StringComparison.Ordinal);
    }
}
