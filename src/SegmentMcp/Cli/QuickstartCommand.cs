using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.Demo;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Ingest;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.App;

namespace SegmentMcp.Cli;

/// <summary>
/// <c>segmentmcp quickstart</c>: the first thing a new user runs. Loads the demo shop when the tenant is empty,
/// saves a few example segments (once), brings them up to date with one evaluator tick, and shows each segment's
/// read-back, size and a few members — then how to connect an assistant.
/// </summary>
internal static class QuickstartCommand
{
    private static readonly (string Name, string Condition)[] Examples =
    [
        ("Recent openers in Boston who have not ordered",
            """{ "all": [ { "event": { "metric": "Opened Email", "window": { "between_days_ago": [3, 5] }, "op": "gte", "value": 1 } }, { "property": { "name": "city", "op": "eq", "value": "Boston" } }, { "not": { "event": { "metric": "Placed Order", "window": { "last_days": 30 }, "op": "gte", "value": 1 } } } ] }"""),
        ("Big spenders last quarter",
            """{ "event": { "metric": "Placed Order", "window": { "previous": "quarter" }, "measure": { "sum": "$value" }, "op": "gte", "value": 500 } }"""),
        ("Abandoned carts in the last 7 days",
            """{ "all": [ { "event": { "metric": "Added to Cart", "window": { "last_days": 7 }, "op": "gte", "value": 1 } }, { "event": { "metric": "Placed Order", "window": { "last_days": 7 }, "op": "eq", "value": 0 } } ] }"""),
        ("Birthdays in the next 7 days",
            """{ "property": { "name": "birthday", "op": "anniversary_in_next_days", "value": 7 } }"""),
        ("Lapsed premium customers",
            """{ "all": [ { "property": { "name": "plan", "op": "eq", "value": "premium" } }, { "not": { "event": { "metric": "Active on Site", "window": { "last_days": 60 }, "op": "gte", "value": 1 } } } ] }"""),
    ];

    private static readonly Option<string> Company = Flags.Company("The tenant to show (the demo shop is loaded into it when it is empty).", "demo");
    private static readonly Option<int> Profiles = Flags.Int("--profiles", "N", "Profiles of the demo shop, when it is loaded.", 50_000, 100, 50_000_000);

    public static Command Create() => CommandLine.Verb(
        "quickstart",
        "Load the demo shop (if the tenant is empty), save example segments, evaluate them and show the results.",
        [Company, Profiles, .. EngineSelection.Options],
        RunAsync);

    public static async Task<int> RunAsync(ParseResult args, CancellationToken cancellationToken)
    {
        var company = args.ValueOf(Company);
        var profiles = args.GetValue(Profiles);
        var selection = EngineSelection.FromArguments(args, EngineSelection.BulkLoadQueryTimeout);

        StandardInput.Detach();
        var (engine, schema) = await selection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var output = Console.Out;
        await output.WriteLineAsync($"SegmentMcp quick start — tenant '{company}' on the {selection.Describe()}").ConfigureAwait(false);

        if (await CountProfilesAsync(engine, schema, company, cancellationToken).ConfigureAwait(false) == 0)
        {
            await output.WriteLineAsync($"Loading the demo shop ({profiles:N0} profiles, 400 days of email, browsing and orders)…").ConfigureAwait(false);
            var loaded = await DemoLoader.LoadAsync(
                engine,
                schema,
                new DemoOptions { Profiles = profiles, Company = company },
                progress =>
                {
                    // A phase's first report can come before its first block is written: "0 rows" says nothing.
                    if (progress.Rows > 0)
                    {
                        Console.Error.WriteLine(string.Create(
                            CultureInfo.InvariantCulture,
                            $"  {(progress.Kind == IngestKind.Events ? "events" : "profiles")}: {progress.Rows:N0} rows written ({progress.Elapsed.TotalSeconds:F0} s)"));
                    }
                },
                cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Loaded {loaded.Profiles:N0} profiles and {loaded.Events:N0} events in {loaded.Elapsed.TotalSeconds:F1} s.")).ConfigureAwait(false);
            if (schema.HasKeyValueTables)
            {
                // Built once after a load: otherwise the first tick builds them, and its time reads as the segments' own.
                var building = Stopwatch.StartNew();
                await new ProfileTimelinesRefresher(engine, schema).RefreshAsync(company, cancellationToken).ConfigureAwait(false);
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Built the evaluator's per-profile timelines in {building.Elapsed.TotalSeconds:F1} s (once after a load; ticks keep them current).")).ConfigureAwait(false);
            }
        }

        await using var services = SegmentServices.Build(engine, schema);
        var store = services.GetRequiredService<ISegmentStore>();
        var definitions = services.GetRequiredService<DefinitionService>();
        var existing = (await store.ListAsync(company, cancellationToken).ConfigureAwait(false)).Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, condition) in Examples.Where(e => !existing.Contains(e.Name)))
        {
            var json = $$"""{ "name": "{{name}}", "condition": {{condition}} }""";
            ValidatedDefinition validated;
            try
            {
                using var document = JsonDocument.Parse(json);
                validated = await definitions.ValidateAsync(company, document.RootElement, null, cancellationToken).ConfigureAwait(false);
            }
            catch (DefinitionException invalid)
            {
                // The demo tenant's catalog differs (another --company with other data): skip what it cannot express.
                await Console.Error.WriteLineAsync($"  skipping example '{name}': {string.Join("; ", invalid.Errors.Select(e => e.ToString()))}").ConfigureAwait(false);
                continue;
            }

            await store.SaveAsync(company, null, name, null, SegmentDefinitionJson.Write(validated.Definition), cancellationToken).ConfigureAwait(false);
        }

        var stopwatch = Stopwatch.StartNew();
        var report = await services.GetRequiredService<ISegmentEvaluator>().TickAsync(company, null, null, cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Evaluated {report.Segments.Count} saved segments at {report.EvaluatedAt:yyyy-MM-dd HH:mm} UTC in {stopwatch.Elapsed.TotalSeconds:F1} s:")).ConfigureAwait(false);
        await output.WriteLineAsync().ConfigureAwait(false);

        var membership = services.GetRequiredService<IMembershipReader>();
        foreach (var segment in await store.ListAsync(company, cancellationToken).ConfigureAwait(false))
        {
            var parsed = SegmentDefinitionJson.Parse(segment.DefinitionJson);
            var size = await membership.CountAsync(company, segment.Id, cancellationToken).ConfigureAwait(false);
            var sample = await membership.MembersAsync(company, segment.Id, null, 3, cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync($"  {segment.Name}  [{segment.Id}]").ConfigureAwait(false);
            if (parsed.Definition is not null)
            {
                await output.WriteLineAsync($"    {ReadBack.Describe(parsed.Definition)}").ConfigureAwait(false);
            }

            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"    {SegmentsCommand.Members(size)}{(sample.Count > 0 ? ", e.g. " + string.Join(", ", sample) : string.Empty)}")).ConfigureAwait(false);
        }

        await output.WriteLineAsync(NextSteps(company, selection)).ConfigureAwait(false);
        return CommandLine.Ok;
    }

    // Written for a person to copy into mcp.json: quotes and apostrophes as they are, not as \u escapes.
    private static readonly JsonSerializerOptions HintJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>What to run next, with the arguments that reach this tenant's data (the defaults need none).</summary>
    internal static string NextSteps(string company, EngineSelection selection)
    {
        IReadOnlyList<string> arguments = ["--company", company, .. selection.ReachArguments()];
        var reach = string.Join(' ', arguments.Select(ShellQuote));
        var mcpJson = arguments.Count == 2 && company == "demo"
            ? "add this repository's mcp.json to VS Code (or see README: Claude Desktop, Cursor)"
            : $"add this repository's mcp.json to VS Code, its serve arguments made {string.Join(", ", arguments.Select(a => JsonSerializer.Serialize(a, HintJson)))} (or see README: Claude Desktop, Cursor)";
        var connection = selection.ConnectionString is null ? string.Empty : "\n  (CONN: the connection string given to --clickhouse or SEGMENTMCP_CLICKHOUSE)";
        return $"""

            Next:
              ask an assistant: {mcpJson}, then
                "Which customers in Berlin bought shoes last month but haven't opened an email since?"
              ask in plain language:   dotnet run --project src/SegmentMcp -- ask {reach} "premium customers in Boston"
                                       (set SEGMENTMCP_LLM_ENDPOINT and SEGMENTMCP_LLM_MODEL first; see README)
              see what the data holds: dotnet run --project src/SegmentMcp -- schema {reach} --property city
              serve MCP yourself:      dotnet run --project src/SegmentMcp -- serve {reach}
              keep segments current:   dotnet run --project src/SegmentMcp -- evaluate {reach}
              why someone is in one:   dotnet run --project src/SegmentMcp -- segments check {reach} --id ID --profile PROFILE
              export an audience:      dotnet run --project src/SegmentMcp -- segments export {reach} --id ID --format csv --properties email,city{connection}
            """;
    }

    /// <summary>A word as a POSIX shell reads it back: bare when it is safe, otherwise in single quotes.</summary>
    private static string ShellQuote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "/._-+:@%,=".Contains(c, StringComparison.Ordinal))
            ? word
            : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static Task<long> CountProfilesAsync(IClickHouseEngine engine, StorageSchema schema, string company, CancellationToken cancellationToken) =>
        engine.QueryScalarAsync<long>(
            new SqlStatement($"SELECT count() FROM {schema.Profiles} WHERE tenant = {{tenant:String}}", [new SqlParameter("tenant", "String", company)]),
            cancellationToken);
}
