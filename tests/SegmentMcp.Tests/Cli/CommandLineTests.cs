using System.CommandLine;
using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using SegmentMcp.Cli;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Cli;

/// <summary>
/// The command line on System.CommandLine: every verb and flag as declared, usage mistakes as exit code 2 naming the
/// flag, the tenant rule on every <c>--company</c>, and no verb meaning <c>serve</c>.
/// </summary>
public sealed class CommandLineTests
{
    private static readonly string[] VerbNames =
    [
        "ask", "chat", "clickhouse-server", "cluster-demo", "demo", "eval-nl", "evaluate", "help", "ingest", "lists delete", "lists export", "lists import", "lists list", "lists remove", "profiles erase", "profiles show", "quickstart", "schema", "segments apply", "segments breakdown", "segments changes", "segments check", "segments delete", "segments explain", "segments export", "segments growth", "segments list", "segments overlap", "segments preview", "segments save", "segments show", "segments versions", "segments watch", "serve", "version",
    ];

    [Fact]
    public void Every_verb_is_declared_with_described_flags()
    {
        Assert.Equal(VerbNames, CommandLine.Verbs().Select(CommandLine.Name));
        foreach (var verb in CommandLine.Verbs())
        {
            Assert.False(string.IsNullOrWhiteSpace(verb.Description), CommandLine.Name(verb));
            Assert.All(verb.Options, option => Assert.False(string.IsNullOrWhiteSpace(option.Description), $"{CommandLine.Name(verb)} {option.Name}"));
        }
    }

    [Theory]
    [InlineData("help")]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Help_lists_every_verb_and_the_engine_flags(string word)
    {
        var (exitCode, output, error) = await HostProcess.RunAsync(null, word);

        Assert.Equal(0, exitCode);
        Assert.Empty(error);
        var lines = output.Split('\n');
        Assert.All(VerbNames, verb => Assert.Contains(lines, line => line.StartsWith($"  {verb} ", StringComparison.Ordinal)));
        Assert.Contains("[--parallel-inserts N]", output, StringComparison.Ordinal);
        Assert.Contains("SEGMENTMCP_DATA", output, StringComparison.Ordinal);
        Assert.Contains("SEGMENTMCP_CLICKHOUSE", output, StringComparison.Ordinal);
        Assert.Contains("SEGMENTMCP_CLUSTER", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("version")]
    [InlineData("--version")]
    public async Task Version_prints_the_assembly_version(string word)
    {
        var (exitCode, output, _) = await HostProcess.RunAsync(null, word);

        Assert.Equal(0, exitCode);
        Assert.Equal(typeof(CommandLine).Assembly.GetName().Version!.ToString(), output.Trim());
    }

    [Theory]
    [InlineData("--bogus", "ingest", "--events", "x", "--bogus", "1")]
    [InlineData("--http-port", "clickhouse-server", "--http-port", "0")]
    [InlineData("--company", "ingest", "--company")]
    [InlineData("--company", "evaluate", "--company", "--verbose")]
    [InlineData("--events FILE and/or --profiles FILE", "ingest")]
    [InlineData("--query-timeout", "evaluate", "--query-timeout", "0")]
    [InlineData("--refresh-share must be a percentage", "evaluate", "--refresh-share", "150")]
    [InlineData("--cluster needs --clickhouse", "evaluate", "--cluster", "prod")]
    [InlineData("--tenant-shards needs --cluster", "demo", "--tenant-shards", "2")]
    [InlineData("--replicated needs --cluster", "quickstart", "--replicated")]
    [InlineData("--cluster: 'my-cluster'", "serve", "--clickhouse", "Host=127.0.0.1", "--cluster", "my-cluster")]
    [InlineData("--tenant-shards", "ingest", "--events", "-", "--tenant-shards", "0")]
    [InlineData("--shards", "cluster-demo", "--shards", "0")]
    [InlineData("--clickhouse: unknown key 'hots'", "segments list", "--clickhouse", "Hots=db1")]
    [InlineData("--urls: 'http://127.0.0.1:3O01' is not a URL a server can listen on", "serve", "--http", "--urls", "http://127.0.0.1:3O01", "--keys", "keys.txt")]
    [InlineData("--clickhouse: connection string key Port must be a port number", "serve", "--clickhouse", "Host=db1;Port=81230")]
    public async Task Usage_mistakes_exit_2_naming_the_flag(string named, params string[] arguments)
    {
        var verb = arguments[0].Split(' ');
        var (exitCode, output, error) = await HostProcess.RunAsync(null, [.. verb, .. arguments[1..]]);

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.StartsWith($"segmentmcp {arguments[0]}: ", error, StringComparison.Ordinal);
        Assert.Contains(named, error, StringComparison.Ordinal);
        Assert.Contains($"usage: segmentmcp {arguments[0]} ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_data_directory_that_is_a_file_is_named_and_left_alone()
    {
        using var directory = new TemporaryDirectory();
        var file = Path.Combine(directory.Path, "segments.db");
        await File.WriteAllTextAsync(file, "kept");

        var (exitCode, output, error) = await HostProcess.RunAsync(null, "segments", "list", "--data", file);

        Assert.Equal(1, exitCode);
        Assert.Empty(output);
        Assert.Equal($"segmentmcp segments list: The embedded engine's data directory '{file}' is a file, not a directory.", error.Trim());
        Assert.Equal("kept", await File.ReadAllTextAsync(file));
    }

    [Fact]
    [Trait("Category", "Engine")]
    public async Task A_data_directory_another_process_holds_names_that_process()
    {
        using var directory = new TemporaryDirectory();
        var data = Path.Combine(directory.Path, "data");
        await using var holder = await ServerProcess.StartAsync(dataPath: data);

        var (exitCode, output, error) = await HostProcess.RunAsync(null, "segments", "list", "--data", data);

        Assert.Equal(1, exitCode);
        Assert.Empty(output);
        Assert.Contains($"ClickHouse error 76 CANNOT_OPEN_FILE: The embedded data directory '{data}' is in use by process {holder.ProcessId} (", error, StringComparison.Ordinal);
        Assert.Contains("clickhouse-server --data", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<clickhouse><remote_servers>", "not well-formed XML")]
    [InlineData("<config><remote_servers/></config>", "the root element must be <clickhouse>, not <config>")]
    public async Task A_server_config_ClickHouse_would_refuse_is_a_usage_error(string xml, string problem)
    {
        using var directory = new TemporaryDirectory();
        var config = Path.Combine(directory.Path, "cluster.xml");
        await File.WriteAllTextAsync(config, xml);

        var (exitCode, output, error) = await HostProcess.RunAsync(
            null, "clickhouse-server", "--data", Path.Combine(directory.Path, "data"), "--http-port", "1", "--tcp-port", "2", "--config", config);

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.StartsWith($"segmentmcp clickhouse-server: --config {config}: {problem}", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(directory.Path, "data")));
    }

    [Fact]
    public async Task A_server_port_in_use_is_named_before_the_server_starts()
    {
        using var directory = new TemporaryDirectory();
        using var taken = new TakenPort();

        var (exitCode, output, error) = await HostProcess.RunAsync(null, "clickhouse-server", "--data", Path.Combine(directory.Path, "data"), "--http-port", "1", "--tcp-port", taken.Text);

        Assert.Equal(1, exitCode);
        Assert.Empty(output);
        Assert.Equal($"segmentmcp clickhouse-server: The native TCP port {taken.Port} is already in use on 127.0.0.1: choose another (--tcp-port) or stop what holds it.", error.Trim());
    }

    [Fact]
    public async Task A_cluster_demo_port_in_use_is_a_usage_error_naming_it()
    {
        using var directory = new TemporaryDirectory();
        using var taken = new TakenPort();

        var (exitCode, output, error) = await HostProcess.RunAsync(null, "cluster-demo", "--base-port", taken.Text, "--data", directory.Path);

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.StartsWith($"segmentmcp cluster-demo: --base-port {taken.Port}: port {taken.Port} (shard 1, HTTP) is already in use; choose another base port", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_out_of_range_number_names_the_flag_and_the_range()
    {
        var (exitCode, _, error) = await HostProcess.RunAsync(null, "serve", "--evaluate-every", "90000");

        Assert.Equal(2, exitCode);
        Assert.Contains("--evaluate-every must be a whole number from 0 to 86400, not '90000'", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bogus", "bogus")]
    [InlineData("benchmark", "benchmark", "compiler")]
    public async Task An_unknown_verb_exits_2_and_lists_the_verbs(string named, params string[] arguments)
    {
        var (exitCode, output, error) = await HostProcess.RunAsync(null, arguments);

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.StartsWith($"segmentmcp: unknown verb '{named}'. Verbs: ask, chat, clickhouse-server, ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Quickstart_hints_carry_the_flags_that_reach_the_same_data_and_never_a_password()
    {
        static string Hints(params string[] arguments) =>
            QuickstartCommand.NextSteps(
                CommandLine.Parse(["quickstart", .. arguments]).GetValue<string>("--company")!,
                EngineSelection.FromArguments(CommandLine.Parse(["quickstart", .. arguments])));

        var defaults = Hints("--data", EngineSelection.DefaultDataPath());
        Assert.Contains("serve --company demo\n", defaults.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("add this repository's mcp.json to VS Code (or see", defaults, StringComparison.Ordinal);

        var elsewhere = Hints("--company", "acme", "--data", "/srv/shop data/it's", "--database", "crm");
        Assert.Contains("serve --company acme --data '/srv/shop data/it'\\''s' --database crm\n", elsewhere.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Contains("evaluate --company acme --data '/srv/shop data/it'\\''s' --database crm", elsewhere, StringComparison.Ordinal);
        Assert.Contains("""its serve arguments made "--company", "acme", "--data", "/srv/shop data/it's", "--database", "crm" """, elsewhere, StringComparison.Ordinal);

        var server = Hints("--clickhouse", "Host=db.internal;Port=8443;Username=ops;Password=s3cret");
        Assert.Contains("serve --company demo --clickhouse CONN", server, StringComparison.Ordinal);
        Assert.Contains("CONN: the connection string given to --clickhouse", server, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", server, StringComparison.Ordinal);
        Assert.DoesNotContain("db.internal", server, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bulk_load_gets_its_own_default_statement_limit_and_query_timeout_still_wins()
    {
        static TimeSpan Limit(TimeSpan? verbDefault, params string[] arguments) =>
            EngineSelection.FromArguments(CommandLine.Parse(["ingest", "--events", "-", .. arguments]), verbDefault).Limits.QueryTimeout;

        Assert.Equal(TimeSpan.FromSeconds(60), Limit(null));
        Assert.Equal(EngineSelection.BulkLoadQueryTimeout, Limit(EngineSelection.BulkLoadQueryTimeout));
        Assert.Equal(TimeSpan.FromSeconds(90), Limit(EngineSelection.BulkLoadQueryTimeout, "--query-timeout", "90"));
        Assert.Equal(TimeSpan.FromSeconds(60), Limit(EngineSelection.BulkLoadQueryTimeout, "--query-timeout", "60"));
    }

    [Fact]
    public void Flags_take_equals_keep_the_last_value_and_repeat_where_declared()
    {
        var parsed = CommandLine.Parse(["ingest", "--batch-rows=5", "--batch-rows", "7", "--company", "acme", "--skip-invalid", "--events", "-"]);
        Assert.Empty(parsed.Errors);
        Assert.Equal(7, parsed.GetValue<int>("--batch-rows"));
        Assert.Equal(2, parsed.GetValue<int>("--parallel-inserts"));
        Assert.True(parsed.GetValue<bool>("--skip-invalid"));
        Assert.Equal("-", parsed.GetValue<string?>("--events"));

        var server = CommandLine.Parse(["clickhouse-server", "--listen-host", "0.0.0.0", "--listen-host=::"]);
        Assert.Empty(server.Errors);
        Assert.Equal(["0.0.0.0", "::"], server.GetValue<string[]>("--listen-host")!);
    }

    [Fact]
    public void Ask_chat_and_eval_nl_take_the_documented_flags()
    {
        var ask = CommandLine.Parse(["ask", "premium customers in Boston", "--company", "acme", "--json", "--save", "--llm-endpoint", "http://127.0.0.1:11434/v1", "--llm-model", "qwen2.5:7b"]);
        Assert.Empty(ask.Errors);
        Assert.Equal("premium customers in Boston", ask.GetValue<string?>("QUESTION"));
        Assert.Equal(8, ask.GetValue<int>("--max-steps"));
        Assert.True(ask.GetValue<bool>("--json"));
        Assert.True(ask.GetValue<bool>("--save"));
        Assert.Equal("http://127.0.0.1:11434/v1", ask.GetValue<string?>("--llm-endpoint"));
        Assert.Equal("qwen2.5:7b", ask.GetValue<string?>("--llm-model"));
        Assert.StartsWith("\"QUESTION\" [--company ID] [--json] [--save] [--max-steps N]", CommandLine.Usage(ask.CommandResult.Command), StringComparison.Ordinal);
        Assert.Equal(3, CommandLine.Parse(["chat", "--max-steps", "3"]).GetValue<int>("--max-steps"));
        Assert.Contains("--llm-endpoint: 'ftp://x' is not an http(s) URL", CommandLine.Parse(["ask", "q", "--llm-endpoint", "ftp://x"]).Errors.Single().Message, StringComparison.Ordinal);
        Assert.Contains("--max-steps must be a whole number from 1 to 100", CommandLine.Parse(["ask", "q", "--max-steps", "0"]).Errors.Single().Message, StringComparison.Ordinal);

        var eval = CommandLine.Parse(["eval-nl", "--cases", "cases.jsonl", "--report", "out.json", "--llm-model", "m"]);
        Assert.Empty(eval.Errors);
        Assert.Equal("cases.jsonl", eval.GetValue<string?>("--cases"));
        Assert.Equal("out.json", eval.GetValue<string>("--report"));
        Assert.Equal("eval-nl-report.json", CommandLine.Parse(["eval-nl"]).GetValue<string>("--report"));
    }

    [Fact]
    public void No_verb_or_flags_first_mean_serve()
    {
        Assert.Equal("serve", CommandLine.Parse([]).CommandResult.Command.Name);
        var parsed = CommandLine.Parse(["--company", "acme", "--evaluate-every", "0"]);
        Assert.Empty(parsed.Errors);
        Assert.Equal("serve", parsed.CommandResult.Command.Name);
        Assert.Equal("acme", parsed.GetValue<string>("--company"));
    }

    [Fact]
    public void Every_company_flag_follows_the_one_tenant_rule()
    {
        var withCompany = CommandLine.Verbs().Where(verb => verb.Options.Any(option => option.Name == "--company")).ToList();
        Assert.Equal(["ask", "chat", "demo", "eval-nl", "evaluate", "ingest", "lists delete", "lists export", "lists import", "lists list", "lists remove", "profiles erase", "profiles show", "quickstart", "schema", "segments apply", "segments breakdown", "segments changes", "segments check", "segments delete", "segments explain", "segments export", "segments growth", "segments list", "segments overlap", "segments preview", "segments save", "segments show", "segments versions", "segments watch", "serve"], withCompany.Select(CommandLine.Name));
        foreach (var verb in withCompany)
        {
            var words = CommandLine.Name(verb).Split(' ');
            foreach (var good in new[] { "acme", "Acme Inc", "bad/tenant", "ü-🙂", new string('x', 256), string.Concat(Enumerable.Repeat("🙂", 256)) })
            {
                Assert.Empty(CommandLine.Parse([.. words, "--company", good]).Errors);
            }

            foreach (var bad in new[] { string.Empty, new string('x', 257) })
            {
                var error = Assert.Single(CommandLine.Parse([.. words, "--company", bad]).Errors);
                Assert.StartsWith("--company is ", error.Message, StringComparison.Ordinal);
                Assert.Contains("1 to 256 characters", error.Message, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    [Trait("Category", "Engine")]
    public async Task A_tenant_ingest_loads_is_served_with_no_verb_given()
    {
        const string Tenant = "Acme Inc/EU";
        var data = Path.Combine(Path.GetTempPath(), "segmentmcp-cli-tests", Guid.NewGuid().ToString("N"));
        try
        {
            const string Event = """{"profile_id":"p1","metric":"Placed Order","timestamp":"2026-11-20T10:00:00Z"}""";
            var ingest = await HostProcess.RunAsync(Event + "\n", "ingest", "--events", "-", "--company", Tenant, "--data", data);
            Assert.True(ingest.ExitCode == 0, ingest.StandardError);

            // Flags first, no verb: serve, with the data directory from SEGMENTMCP_DATA.
            await using var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
            {
                Command = "dotnet",
                Arguments = [HostProcess.AssemblyPath, "--company", Tenant, "--evaluate-every", "0"],
                EnvironmentVariables = new Dictionary<string, string?> { ["SEGMENTMCP_DATA"] = data },
                Name = "segmentmcp",
            }));
            var result = await client.CallToolAsync("describe_schema", new Dictionary<string, object?>());
            Assert.False(result.IsError ?? false);
            var schema = JsonNode.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text)!;
            Assert.Equal(Tenant, (string?)schema["tenant"]);
            Assert.Equal(1, (long)schema["events"]!);
        }
        finally
        {
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
