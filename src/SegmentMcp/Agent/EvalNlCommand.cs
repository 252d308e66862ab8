using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SegmentMcp.Cli;
using SegmentMcp.Core.Demo;
using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Agent;

/// <summary>
/// <c>segmentmcp eval-nl</c>: the natural-language benchmark. Loads the demo shop (seed 42, history ending at
/// <see cref="NlBenchmark.EvaluatedAt"/>) into its own tenant, saves the cases' helper segments, asks the agent every
/// question in a fresh conversation, and scores each answer by execution against the case's reference definition.
/// Writes a JSON report and prints pass rates per feature and style, mean steps and repair rounds, tokens and time.
/// </summary>
internal static class EvalNlCommand
{
    public const string DefaultReport = "eval-nl-report.json";

    private static readonly Option<string?> Cases = Flags.Text("--cases", "FILE", "The cases (JSON Lines; default prompts/eval/demo-shop.jsonl beside the executable).");
    private static readonly Option<string> Report = Flags.Text("--report", "FILE", "Where the JSON report goes.", DefaultReport);
    private static readonly Option<string> Company = Flags.Company("The tenant the demo shop is loaded into (its data is replaced).", "nl-eval");
    private static readonly Option<int> Profiles = Flags.Int("--profiles", "N", "Profiles of the demo shop the cases run on.", NlBenchmark.DefaultProfiles, 100, 1_000_000);
    private static readonly Option<int> MaxSteps = Flags.Int("--max-steps", "N", "Tool calls the agent may make for one question.", AgentOptions.DefaultMaxSteps, 1, 100);
    private static readonly Option<bool> ReferencesOnly = Flags.Switch("--references-only", "Check the cases' reference definitions on the demo (valid, members neither none nor everyone) without a model.");

    public static Command Create() => CommandLine.Verb(
        "eval-nl",
        "Benchmark the segment agent: questions about the demo shop, scored by whether the answer has exactly the reference's members.",
        [Cases, Report, Company, Profiles, MaxSteps, ReferencesOnly, .. LlmEndpoint.Options, .. EngineSelection.Options],
        RunAsync);

    private static async Task<int> RunAsync(ParseResult args, CancellationToken cancellationToken)
    {
        var casesPath = args.GetValue(Cases) ?? NlBenchmark.DefaultCasesPath;
        if (!File.Exists(casesPath))
        {
            throw new UsageException($"--cases: no file '{casesPath}'");
        }

        var referencesOnly = args.GetValue(ReferencesOnly);
        var endpoint = referencesOnly ? null : LlmEndpoint.FromArguments(args);
        var cases = NlBenchmark.Load(casesPath);
        var company = args.ValueOf(Company);
        var profiles = args.GetValue(Profiles);
        var selection = EngineSelection.FromArguments(args);
        StandardInput.Detach(); // see StandardInput: a piped stdin would break the engine's inserts
        var (engine, schema) = await selection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var error = Console.Error;
        await error.WriteLineAsync($"eval-nl: loading the demo shop ({profiles:N0} profiles, seed 42, history to {Mcp.ToolSupport.Iso(NlBenchmark.EvaluatedAt)}) into '{company}'").ConfigureAwait(false);
        await DemoLoader.LoadAsync(engine, schema, new DemoOptions { Profiles = profiles, Company = company, ReferenceTime = NlBenchmark.EvaluatedAt }, null, cancellationToken).ConfigureAwait(false);
        await using var toolbox = await SegmentToolbox.StartAsync(engine, schema, company, null, cancellationToken).ConfigureAwait(false);
        var run = await PrepareAsync(cases, toolbox, cancellationToken).ConfigureAwait(false);
        if (referencesOnly)
        {
            return await CheckReferencesAsync(run, error).ConfigureAwait(false);
        }

        var startedAt = DateTime.UtcNow;
        var results = new List<NlCaseResult>();
        using var http = SegmentAgent.CreateHttpClient();
        foreach (var (@case, expected) in run.Expected)
        {
            var result = await RunCaseAsync(@case, expected, toolbox, endpoint!, new AgentOptions { MaxSteps = args.GetValue(MaxSteps), AsOf = NlBenchmark.EvaluatedAt }, http, cancellationToken).ConfigureAwait(false);
            results.Add(result);
            await error.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"  {(result.Passed ? "pass" : "FAIL")}  {@case.Id}  ({result.Steps} {(result.Steps == 1 ? "step" : "steps")}, {result.Seconds:F1} s){(result.Reason is null ? string.Empty : ": " + result.Reason)}")).ConfigureAwait(false);
        }

        var report = NlBenchmark.Report(results, new JsonObject
        {
            ["model"] = endpoint!.Model,
            ["endpoint"] = endpoint.Endpoint.ToString(),
            ["cases_file"] = Path.GetFullPath(casesPath),
            ["tenant"] = company,
            ["profiles"] = profiles,
            ["evaluated_at"] = Mcp.ToolSupport.Iso(NlBenchmark.EvaluatedAt),
            ["max_steps"] = args.GetValue(MaxSteps),
            ["started_at"] = Mcp.ToolSupport.Iso(startedAt),
        });
        var reportPath = args.ValueOf(Report);
        await File.WriteAllTextAsync(reportPath, report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + Environment.NewLine, cancellationToken).ConfigureAwait(false);
        await Console.Out.WriteAsync(Summary(report, reportPath)).ConfigureAwait(false);
        return CommandLine.Ok;
    }

    /// <summary>The cases with their helper segments saved and their references' members at the benchmark time.</summary>
    internal sealed record PreparedRun(IReadOnlyList<(NlCase Case, IReadOnlyList<string> Expected)> Expected, long Universe);

    internal static async Task<PreparedRun> PrepareAsync(IReadOnlyList<NlCase> cases, SegmentToolbox toolbox, CancellationToken cancellationToken)
    {
        var definitions = toolbox.Definitions;
        var helpers = await NlBenchmark.SaveHelpersAsync(cases, toolbox.Tenant, toolbox.Store, definitions, cancellationToken).ConfigureAwait(false);
        var expected = new List<(NlCase, IReadOnlyList<string>)>();
        foreach (var @case in cases)
        {
            ValidatedDefinition reference;
            try
            {
                reference = await definitions.ValidateAsync(toolbox.Tenant, NlBenchmark.Resolve(@case.Reference, helpers), null, cancellationToken).ConfigureAwait(false);
            }
            catch (Core.App.DefinitionException invalid)
            {
                throw new InvalidOperationException($"case '{@case.Id}' (line {@case.Line}): the reference is not valid: {invalid.Message}");
            }

            expected.Add((@case, await NlBenchmark.MembersAsync(definitions, reference, NlBenchmark.EvaluatedAt, cancellationToken).ConfigureAwait(false)));
        }

        // The size of the universe, as describe_schema reports it: a reference matching everyone is as trivial as none.
        var schema = await toolbox.CallAsync("describe_schema", new Dictionary<string, object?>(), cancellationToken).ConfigureAwait(false);
        var universe = schema.StructuredContent is { } content && content.TryGetProperty("profiles", out var profiles) ? profiles.GetInt64() : 0;
        return new PreparedRun(expected, universe);
    }

    internal static async Task<NlCaseResult> RunCaseAsync(
        NlCase @case, IReadOnlyList<string> expected, SegmentToolbox toolbox, LlmEndpoint endpoint, AgentOptions options, HttpClient httpClient, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            // A fresh conversation per case: no question sees another's answer.
            var agent = await SegmentAgent.CreateAsync(toolbox, endpoint, options, httpClient, cancellationToken).ConfigureAwait(false);
            var answer = await agent.AskAsync(@case.Question, null, cancellationToken).ConfigureAwait(false);
            var (passed, reason, count) = await NlBenchmark.ScoreAsync(answer, expected, toolbox.Definitions, cancellationToken).ConfigureAwait(false);
            return new NlCaseResult(
                @case.Id, @case.Question, @case.Features, @case.Style, passed, reason, answer.Steps, answer.RepairRounds, answer.InputTokens, answer.OutputTokens,
                started.Elapsed.TotalSeconds,
                answer.Definition is null ? null : JsonNode.Parse(SegmentDefinitionJson.Write(answer.Definition.Definition)),
                expected.Count,
                count);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // One case's failure (the model's service refusing a request, say) is that case's result, not the run's end.
            return new NlCaseResult(@case.Id, @case.Question, @case.Features, @case.Style, false, $"error: {exception.GetBaseException().Message}", 0, 0, 0, 0, started.Elapsed.TotalSeconds, null, expected.Count, null);
        }
    }

    private static async Task<int> CheckReferencesAsync(PreparedRun run, TextWriter output)
    {
        var trivial = 0;
        foreach (var (@case, expected) in run.Expected)
        {
            var bad = expected.Count == 0 || expected.Count == run.Universe;
            trivial += bad ? 1 : 0;
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"  {(bad ? "TRIVIAL" : "ok")}  {@case.Id}: {expected.Count:N0} of {run.Universe:N0}")).ConfigureAwait(false);
        }

        await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{run.Expected.Count} references valid, {trivial} trivial (no member or every profile)")).ConfigureAwait(false);
        return trivial == 0 ? CommandLine.Ok : CommandLine.Failed;
    }

    private static string Summary(JsonObject report, string path)
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"eval-nl: {report["passed"]} of {report["cases"]} cases passed ({Percent(report["pass_rate"])}) with {report["model"]}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  mean steps {report["mean_steps"]}, mean repair rounds {report["mean_repair_rounds"]}, tokens {report["input_tokens"]} in / {report["output_tokens"]} out, {report["seconds"]} s ({report["mean_seconds"]} s a case)");
        foreach (var group in new[] { "by_feature", "by_style" })
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {group.Replace('_', ' ')}:");
            foreach (var (name, rate) in report[group]!.AsObject())
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"    {name,-14} {rate!["passed"],3} / {rate["cases"],-3} {Percent(rate["pass_rate"])}");
            }
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"  report: {Path.GetFullPath(path)}");
        return text.ToString();
    }

    private static string Percent(JsonNode? rate) => (rate?.GetValue<double>() ?? 0).ToString("P0", CultureInfo.InvariantCulture);
}
