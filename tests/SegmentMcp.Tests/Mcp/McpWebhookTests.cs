using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Export;
using SegmentMcp.Mcp;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Mcp;

/// <summary>
/// <c>serve --post URL</c>: the real server over stdio sends the entries an evaluation records to a webhook, with the
/// properties asked for, and sends them again after the receiver failed.
/// </summary>
[Trait("Category", "Engine")]
public sealed class McpWebhookTests
{
    [Fact]
    public async Task The_server_posts_a_saved_segments_entries_and_posts_them_again_after_a_failure()
    {
        using var directory = new TemporaryDirectory();
        var now = DateTime.UtcNow;
        var profiles = Path.Combine(directory.Path, "people.ndjson");
        var events = Path.Combine(directory.Path, "orders.ndjson");
        await File.WriteAllLinesAsync(profiles, [
            """{"profile_id":"ann","properties":{"email":"ann@example.com"}}""",
            """{"profile_id":"bob","properties":{"email":"bob@example.com"}}""",
        ]);
        await File.WriteAllLinesAsync(events, [
            $$"""{"profile_id":"ann","metric":"Placed Order","timestamp":"{{now.AddDays(-1):yyyy-MM-ddTHH:mm:ssZ}}"}""",
            $$"""{"profile_id":"carl","metric":"Viewed Product","timestamp":"{{now.AddDays(-1):yyyy-MM-ddTHH:mm:ssZ}}"}""",
        ]);

        using var receiver = new WebhookReceiver("X-Secret", 503, 204);
        var errors = new ConcurrentQueue<string>();
        await using (var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Command = "dotnet",
            Arguments =
            [
                HostProcess.AssemblyPath, "serve", "--company", "shop", "--data", Path.Combine(directory.Path, "data"), "--evaluate-every", "1",
                "--post", receiver.Url, "--post-header", "X-Secret: s3", "--post-properties", "email",
            ],
            Name = "segmentmcp",
            StandardErrorLines = errors.Enqueue,
        })))
        {
            foreach (var (path, kind) in new[] { (profiles, "profiles"), (events, "events") })
            {
                var loaded = await client.CallToolAsync("import_file", new Dictionary<string, object?> { ["path"] = path, ["kind"] = kind });
                Assert.False(loaded.IsError ?? false, Text(loaded));
            }

            var created = await client.CallToolAsync("create_segment", new Dictionary<string, object?>
            {
                ["definition"] = JsonNode.Parse("""{"name": "Buyers", "condition": {"event": {"metric": "Placed Order", "op": "gte", "value": 1}}}"""),
            });
            Assert.False(created.IsError ?? false, Text(created));
            var segment = JsonNode.Parse(Text(created))!;

            await receiver.WaitForAsync(2);
            var expected = new JsonObject
            {
                ["company"] = "shop",
                ["changes"] = new JsonArray(new JsonObject
                {
                    ["segment_id"] = (string?)segment["segment_id"],
                    ["profile_id"] = "ann",
                    ["change"] = "entered",
                    ["at"] = Iso((string)segment["evaluated_at"]!),
                    ["email"] = "ann@example.com",
                }),
            }.ToJsonString();
            Assert.Equal([("s3", expected), ("s3", expected)], receiver.Requests.Take(2));

            var clock = Stopwatch.StartNew();
            while (!errors.Any(e => e.Contains("POST " + receiver.Url + " for shop: 1 entered, 0 exited", StringComparison.Ordinal)) && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
            }

            Assert.Contains(errors, e => e.Contains("for shop failed: 503 Service Unavailable; its 1 changes are sent again next time", StringComparison.Ordinal));
            Assert.Contains(errors, e => e.Contains("POST " + receiver.Url + " for shop: 1 entered, 0 exited", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task An_evaluation_that_changes_membership_is_posted_at_once_not_at_the_next_interval()
    {
        using var directory = new TemporaryDirectory();
        var events = Path.Combine(directory.Path, "orders.ndjson");
        await File.WriteAllLinesAsync(events, [$$"""{"profile_id":"ann","metric":"Placed Order","timestamp":"{{DateTime.UtcNow.AddDays(-1):yyyy-MM-ddTHH:mm:ssZ}}"}"""]);
        using var receiver = new WebhookReceiver("X-Secret");

        // No background evaluation, so the webhook is looked at every 60 s: the save's evaluation must not wait for it.
        await using var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Command = "dotnet",
            Arguments = [HostProcess.AssemblyPath, "serve", "--company", "shop", "--data", Path.Combine(directory.Path, "data"), "--evaluate-every", "0", "--post", receiver.Url],
            Name = "segmentmcp",
        }));
        Assert.False((await client.CallToolAsync("import_file", new Dictionary<string, object?> { ["path"] = events, ["kind"] = "events" })).IsError ?? false);
        var clock = Stopwatch.StartNew();
        var created = await client.CallToolAsync("create_segment", new Dictionary<string, object?>
        {
            ["definition"] = JsonNode.Parse("""{"name": "Buyers", "condition": {"event": {"metric": "Placed Order", "op": "gte", "value": 1}}}"""),
        });
        Assert.False(created.IsError ?? false, Text(created));

        await receiver.WaitForAsync(1);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"posted after {clock.Elapsed.TotalSeconds:0} s");
        var (_, body) = Assert.Single(receiver.Requests);
        Assert.Equal(["ann"], JsonNode.Parse(body)!["changes"]!.AsArray().Select(c => (string?)c!["profile_id"]));
    }

    [Fact]
    public async Task Over_http_each_tenant_of_the_keys_file_gets_bodies_of_its_own_changes()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        await McpTestData.SeedAsync(engine, schema, "acme", string.Empty);
        await McpTestData.SeedAsync(engine, schema, "globex", "g-");
        using var receiver = new WebhookReceiver("X-Secret");
        var keys = ApiKeys.Parse("acme-key-0123456789abcdef acme\nglobex-key-0123456789abcdef globex\n", "keys");
        var url = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var webhook = new WebhookOptions(new WebhookTarget(new Uri(receiver.Url), [("X-Secret", "s3")]), keys.Tenants, TimeSpan.FromMinutes(5), ["city"]);
        await using var app = ServeCommand.BuildHttpApp(engine, schema, keys, url, new EvaluatorOptions { EvaluateEverySeconds = 0 }, McpTestData.PromptsDirectory(), webhook: webhook);
        await app.StartAsync();
        var saved = new Dictionary<string, JsonNode>();
        foreach (var (tenant, key) in new[] { ("acme", "acme-key-0123456789abcdef"), ("globex", "globex-key-0123456789abcdef") })
        {
            await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri(url),
                AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + key },
            }));
            var created = await client.CallToolAsync("create_segment", new Dictionary<string, object?> { ["definition"] = JsonNode.Parse(McpTestData.BostonOpeners) });
            Assert.False(created.IsError ?? false, Text(created));
            saved[tenant] = JsonNode.Parse(Text(created))!;
        }

        await receiver.WaitForAsync(2);
        await app.StopAsync();

        // Posted at each save's evaluation (the interval is minutes), each company's own members with their city.
        string Expected(string tenant, string prefix) => new JsonObject
        {
            ["company"] = tenant,
            ["changes"] = new JsonArray([.. new[] { "p1", "p2" }.Select(p => (JsonNode)new JsonObject
            {
                ["segment_id"] = (string?)saved[tenant]["segment_id"],
                ["profile_id"] = prefix + p,
                ["change"] = "entered",
                ["at"] = Iso((string)saved[tenant]["evaluated_at"]!),
                ["city"] = "Boston",
            })]),
        }.ToJsonString();
        Assert.Equal([Expected("acme", string.Empty), Expected("globex", "g-")], receiver.Requests.Select(r => r.Body).Order(StringComparer.Ordinal));
        Assert.All(receiver.Requests, r => Assert.Equal("s3", r.Header));
    }

    [Fact]
    public async Task With_a_state_file_a_restarted_server_posts_what_was_recorded_while_it_was_down()
    {
        using var directory = new TemporaryDirectory();
        var data = Path.Combine(directory.Path, "data");
        var state = Path.Combine(directory.Path, "webhook-state.json");
        var yesterday = DateTime.UtcNow.AddDays(-1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var events = Path.Combine(directory.Path, "orders.ndjson");
        await File.WriteAllLinesAsync(events, [$$"""{"profile_id":"ann","metric":"Placed Order","timestamp":"{{yesterday}}"}"""]);
        using var receiver = new WebhookReceiver("X-Secret");
        StdioClientTransport Server(string evaluateEvery) => new(new StdioClientTransportOptions
        {
            Command = "dotnet",
            Arguments = [HostProcess.AssemblyPath, "serve", "--company", "shop", "--data", data, "--evaluate-every", evaluateEvery, "--post", receiver.Url, "--post-state", state],
            Name = "segmentmcp",
        });

        await using (var client = await McpClient.CreateAsync(Server("0")))
        {
            Assert.False((await client.CallToolAsync("import_file", new Dictionary<string, object?> { ["path"] = events, ["kind"] = "events" })).IsError ?? false);
            var created = await client.CallToolAsync("create_segment", new Dictionary<string, object?>
            {
                ["definition"] = JsonNode.Parse("""{"name": "Buyers", "condition": {"event": {"metric": "Placed Order", "op": "gte", "value": 1}}}"""),
            });
            Assert.False(created.IsError ?? false, Text(created));
            await receiver.WaitForAsync(1);
            var clock = Stopwatch.StartNew();
            while (!(File.Exists(state) && File.ReadAllText(state).Contains("buyers", StringComparison.Ordinal)) && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(100);
            }
        }

        // While the server is down: bob orders, and an evaluation from the command line records his entry.
        var ingest = await HostProcess.RunAsync($$"""{"profile_id":"bob","metric":"Placed Order","timestamp":"{{yesterday}}"}""" + "\n", "ingest", "--events", "-", "--company", "shop", "--data", data);
        Assert.True(ingest.ExitCode == 0, ingest.StandardError);
        var evaluated = await HostProcess.RunAsync(null, "evaluate", "--company", "shop", "--data", data);
        Assert.True(evaluated.ExitCode == 0, evaluated.StandardError);

        await using (var client = await McpClient.CreateAsync(Server("1")))
        {
            await receiver.WaitForAsync(2);
        }

        Assert.Equal(
            [["ann"], ["bob"]],
            receiver.Requests.Select(r => JsonNode.Parse(r.Body)!["changes"]!.AsArray().Select(c => (string?)c!["profile_id"]).ToArray()));

        // A state file of another shape stops start-up, naming it.
        await File.WriteAllTextAsync(state, "{\"positions\": []}");
        var refused = await HostProcess.RunAsync(null, "serve", "--company", "shop", "--data", data, "--post", receiver.Url, "--post-state", state);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"--post-state {state}: not a state file this program wrote", refused.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_post_segment_and_post_only_just_those_segments_entries_are_posted_and_an_unknown_id_is_said()
    {
        using var directory = new TemporaryDirectory();
        var data = Path.Combine(directory.Path, "data");
        var yesterday = DateTime.UtcNow.AddDays(-1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        string Event(string profile, string metric) => $$"""{"profile_id":"{{profile}}","metric":"{{metric}}","timestamp":"{{yesterday}}"}""";
        var ingest = await HostProcess.RunAsync(Event("ann", "Placed Order") + "\n" + Event("ann", "Viewed Product") + "\n", "ingest", "--events", "-", "--company", "shop", "--data", data);
        Assert.True(ingest.ExitCode == 0, ingest.StandardError);
        async Task<string> SaveAsync(string name, string metric)
        {
            var saved = await HostProcess.RunAsync(
                new JsonObject
                {
                    ["name"] = name,
                    ["condition"] = new JsonObject { ["event"] = new JsonObject { ["metric"] = metric, ["op"] = "gte", ["value"] = 1 } },
                }.ToJsonString(), "segments", "save", "--file", "-", "--company", "shop", "--data", data, "--json");
            Assert.True(saved.ExitCode == 0, saved.StandardError);
            return (string)JsonNode.Parse(saved.StandardOutput)!["segment_id"]!;
        }

        var buyers = await SaveAsync("Buyers", "Placed Order");
        var viewers = await SaveAsync("Viewers", "Viewed Product");

        using var receiver = new WebhookReceiver("X-Secret");
        var errors = new ConcurrentQueue<string>();
        await using (var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Command = "dotnet",
            Arguments =
            [
                HostProcess.AssemblyPath, "serve", "--company", "shop", "--data", data, "--evaluate-every", "1",
                "--post", receiver.Url, "--post-segment", buyers, "--post-segment", "buyers", "--post-only", "entered",
            ],
            Name = "segmentmcp",
            StandardErrorLines = errors.Enqueue,
        })))
        {
            // Bob enters both segments; Buyers becomes "two orders", so Ann and Bob exit it; Carl orders twice and enters
            // it. The round that posts Carl's entry has read both segments past the earlier steps, so every change that
            // could have been posted has been by then.
            await ImportAndRefreshAsync(Event("bob", "Placed Order"), Event("bob", "Viewed Product"));
            var updated = await client.CallToolAsync("update_segment", new Dictionary<string, object?>
            {
                ["segment_id"] = buyers,
                ["definition"] = JsonNode.Parse("""{"condition": {"event": {"metric": "Placed Order", "op": "gte", "value": 2}}}"""),
            });
            Assert.False(updated.IsError ?? false, Text(updated));
            await ImportAndRefreshAsync(Event("carl", "Placed Order"), Event("carl", "Placed Order").Replace("Z\"", ".5Z\"", StringComparison.Ordinal));

            async Task ImportAndRefreshAsync(params string[] lines)
            {
                var file = Path.Combine(directory.Path, $"events-{Guid.NewGuid():N}.ndjson");
                await File.WriteAllLinesAsync(file, lines);
                var loaded = await client.CallToolAsync("import_file", new Dictionary<string, object?> { ["path"] = file, ["kind"] = "events" });
                Assert.False(loaded.IsError ?? false, Text(loaded));
                var refreshed = await client.CallToolAsync("refresh_segments", new Dictionary<string, object?>());
                Assert.False(refreshed.IsError ?? false, Text(refreshed));
            }

            var changes = new List<JsonNode>();
            var clock = Stopwatch.StartNew();
            while (!changes.Any(c => (string?)c["profile_id"] == "carl") && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(100);
                changes = [.. receiver.Requests.SelectMany(r => JsonNode.Parse(r.Body)!["changes"]!.AsArray()).Select(c => c!)];
            }

            if (changes.Count != 2)
            {
                var all = await client.CallToolAsync("membership_changes", new Dictionary<string, object?> { ["segment_id"] = buyers });
                Assert.Fail(string.Join("\n", receiver.Requests.Select(r => r.Body).Concat(errors).Append(Text(all))));
            }

            Assert.Equal(
                [(buyers, "bob", "entered"), (buyers, "carl", "entered")],
                changes.Select(c => ((string)c["segment_id"]!, (string)c["profile_id"]!, (string)c["change"]!)));
            var viewed = await client.CallToolAsync("membership_changes", new Dictionary<string, object?> { ["segment_id"] = viewers, ["profile_id"] = "bob" });
            Assert.Contains("entered", Text(viewed), StringComparison.Ordinal);
            var exits = await client.CallToolAsync("membership_changes", new Dictionary<string, object?> { ["segment_id"] = buyers });
            Assert.Equal(["ann", "bob"], JsonNode.Parse(Text(exits))!["exited"]!.AsArray().Select(e => (string?)e!["profile_id"]).Order(StringComparer.Ordinal));
        }

        Assert.Contains(errors, e => e.Contains("--post-segment buyers: no saved segment of shop has this id, so none of its changes are sent.", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains($"'{buyers}' (named \"Buyers\")", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Contains($"--post-segment {buyers}:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_signature_is_the_hmac_sha256_of_the_time_a_dot_and_the_body()
    {
        // The expected value computed apart from this code (Python's hmac module).
        var signature = WebhookTarget.Signature(Encoding.UTF8.GetBytes("0123456789abcdef-secret"), DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), """{"company":"acme","changes":[]}""");

        Assert.Equal("t=1700000000,v1=bd49c626136d43433093bbeca534a8501345001451fd83c6473c6bd7dfc19b60", signature);
    }

    [Fact]
    public async Task A_webhook_flag_without_its_url_or_with_a_bad_one_is_a_usage_error()
    {
        var headerAlone = await HostProcess.RunAsync(null, "serve", "--post-header", "X-Secret: s3");
        var propertiesAlone = await HostProcess.RunAsync(null, "serve", "--post-properties", "email");
        var notHttp = await HostProcess.RunAsync(null, "serve", "--post", "mailto:ops@example.com");
        var badHeader = await HostProcess.RunAsync(null, "serve", "--post", "http://127.0.0.1:9/hook", "--post-header", "no colon");
        var segmentAlone = await HostProcess.RunAsync(null, "serve", "--post-segment", "buyers-1a2b");
        var onlyAlone = await HostProcess.RunAsync(null, "serve", "--post-only", "entered");
        var badOnly = await HostProcess.RunAsync(null, "serve", "--post", "http://127.0.0.1:9/hook", "--post-only", "joined");
        var blankSegment = await HostProcess.RunAsync(null, "serve", "--post", "http://127.0.0.1:9/hook", "--post-segment", " ");

        Assert.Equal((2, 2, 2, 2, 2, 2), (headerAlone.ExitCode, propertiesAlone.ExitCode, notHttp.ExitCode, badHeader.ExitCode, segmentAlone.ExitCode, blankSegment.ExitCode));
        const string AloneError = "--post-header, --post-properties, --post-segment, --post-only, --post-state and --post-secret-file: give --post URL as well";
        Assert.Contains(AloneError, headerAlone.StandardError, StringComparison.Ordinal);
        Assert.Contains(AloneError, propertiesAlone.StandardError, StringComparison.Ordinal);
        Assert.Contains(AloneError, segmentAlone.StandardError, StringComparison.Ordinal);
        Assert.Contains(AloneError, onlyAlone.StandardError, StringComparison.Ordinal);
        Assert.Equal((2, 2), (onlyAlone.ExitCode, badOnly.ExitCode));
        Assert.Contains("--post-only must be entered or exited, not 'joined'", badOnly.StandardError, StringComparison.Ordinal);
        Assert.Contains("--post-segment: a segment id is not blank", blankSegment.StandardError, StringComparison.Ordinal);
        Assert.Contains("--post must be an http:// or https:// URL, not 'mailto:ops@example.com'", notHttp.StandardError, StringComparison.Ordinal);
        Assert.Contains("--post-header no colon: give \"NAME: VALUE\"", badHeader.StandardError, StringComparison.Ordinal);
    }

    /// <summary>A tool's time as the webhook writes it, to the millisecond.</summary>
    private static string Iso(string time) =>
        DateTimeOffset.Parse(time, CultureInfo.InvariantCulture).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static string Text(CallToolResult result) => string.Concat(result.Content.OfType<TextContentBlock>().Select(b => b.Text));
}
