using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SegmentMcp.Agent;
using SegmentMcp.Core.Demo;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Tests.Mcp;

namespace SegmentMcp.Tests.Agent;

/// <summary>The natural-language benchmark: its cases on the demo shop, and <c>eval-nl</c> end to end against a scripted model.</summary>
[Trait("Category", "Engine")]
public sealed partial class EvalNlTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("segmentmcp-eval-nl-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    internal static string CasesFile => Path.Combine(McpTestData.PromptsDirectory(), "eval", "demo-shop.jsonl");

    [Fact]
    public async Task Every_reference_is_valid_and_has_members_but_not_everyone_on_the_demo_shop()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        await DemoLoader.LoadAsync(engine, schema, new DemoOptions { Profiles = NlBenchmark.DefaultProfiles, Company = "nl-eval", ReferenceTime = NlBenchmark.EvaluatedAt });
        await using var toolbox = await SegmentToolbox.StartAsync(engine, schema, "nl-eval", McpTestData.PromptsDirectory(), CancellationToken.None);

        var run = await EvalNlCommand.PrepareAsync(NlBenchmark.Load(CasesFile), toolbox, CancellationToken.None);

        Assert.Equal(NlBenchmark.DefaultProfiles, run.Universe);
        Assert.All(run.Expected, c => Assert.True(c.Expected.Count > 0 && c.Expected.Count < run.Universe, $"{c.Case.Id}: {c.Expected.Count} of {run.Universe}"));

        // Helper segments are saved once, by name, and a second preparation reuses them.
        var saved = await toolbox.Store.ListAsync("nl-eval", CancellationToken.None);
        Assert.Equal(["Big spenders", "Newsletter engaged"], saved.Select(s => s.Name).Order(StringComparer.Ordinal));
        await EvalNlCommand.PrepareAsync(NlBenchmark.Load(CasesFile), toolbox, CancellationToken.None);
        Assert.Equal(2, (await toolbox.Store.ListAsync("nl-eval", CancellationToken.None)).Count);
    }

    [Fact]
    public async Task Eval_nl_scores_by_members_and_reports_pass_rates_steps_repairs_and_tokens()
    {
        // Six cases: the scripted model answers four with the reference (one after an invalid first draft) and two wrongly.
        var all = File.ReadAllLines(CasesFile).Where(l => l.Length > 0).ToDictionary(l => JsonNode.Parse(l)!["id"]!.GetValue<string>());
        string[] ids = ["boston", "premium-plan", "openers-30d", "browse-abandon", "birthday-7d", "either-segment"];
        var cases = Path.Combine(directory, "cases.jsonl");
        File.WriteAllLines(cases, ids.Select(id => all[id]));
        var byQuestion = ids.Select(id => JsonNode.Parse(all[id])!.AsObject()).ToDictionary(c => c["question"]!.GetValue<string>());

        await using var model = await FakeChatCompletions.StartAsync((request, _) =>
        {
            var question = FakeChatCompletions.Messages(request, "user").First();
            var @case = byQuestion[question];
            var id = @case["id"]!.GetValue<string>();
            var results = FakeChatCompletions.Messages(request, "tool").ToList();
            if (results.Count > 0 && !results[^1].StartsWith("Error", StringComparison.Ordinal))
            {
                return FakeTurn.Say("Here is the segment.");
            }

            var reference = @case["reference"]!.DeepClone().AsObject();
            var condition = reference["condition"]!;
            var answer = id switch
            {
                "premium-plan" => Parse("""{"name": "Basic", "condition": {"property": {"name": "plan", "op": "eq", "value": "basic"}}}"""),
                "browse-abandon" => new JsonObject { ["name"] = "Viewers", ["condition"] = condition["all"]![0]!.DeepClone() },
                "openers-30d" when results.Count == 0 => Parse("""{"name": "Openers", "condition": {"event": {"metric": "Opened Emails", "window": {"last_days": 30}, "op": "gte", "value": 1}}}"""),
                _ => reference,
            };
            var text = answer.ToJsonString();

            // Helper segments are named in the system prompt's list of saved segments: "- ID: NAME (...)".
            var system = FakeChatCompletions.Messages(request, "system").Single();
            foreach (var helper in @case["helpers"]?.AsArray() ?? [])
            {
                var name = helper!["name"]!.GetValue<string>();
                var savedId = SavedSegment().Matches(system).Single(m => m.Groups["name"].Value == name).Groups["id"].Value;
                text = text.Replace($"helper:{helper["key"]!.GetValue<string>()}", savedId, StringComparison.Ordinal);
            }

            return FakeTurn.Call("preview_segment", $$"""{"definition": {{text}}}""");
        });

        var report = Path.Combine(directory, "report.json");
        var run = await HostProcess.RunAsync(
            null,
            "eval-nl", "--cases", cases, "--report", report, "--data", Path.Combine(directory, "data"),
            "--llm-endpoint", model.BaseUrl.ToString(), "--llm-model", "scripted");

        Assert.True(run.ExitCode == 0, run.StandardError);
        var result = JsonNode.Parse(File.ReadAllText(report))!;
        Assert.Equal(6, result["cases"]!.GetValue<int>());
        Assert.Equal(4, result["passed"]!.GetValue<int>());
        Assert.Equal(0.6667, result["pass_rate"]!.GetValue<double>());
        Assert.Equal("scripted", result["model"]!.GetValue<string>());
        var byFeature = result["by_feature"]!.AsObject().ToDictionary(f => f.Key, f => (f.Value!["passed"]!.GetValue<int>(), f.Value["cases"]!.GetValue<int>()));
        Assert.Equal((1, 2), byFeature["property"]);
        Assert.Equal((1, 2), byFeature["window"]);
        Assert.Equal((0, 1), byFeature["not"]);
        Assert.Equal((1, 1), byFeature["anniversary"]);
        Assert.Equal((1, 1), byFeature["segment"]);
        Assert.Equal((1, 1), byFeature["or"]);
        Assert.Equal(1.0, result["by_style"]!["plain"]!["pass_rate"]!.GetValue<double>());
        Assert.Equal(0.0, result["by_style"]!["terse"]!["pass_rate"]!.GetValue<double>());

        // Seven tool calls over six cases, one repair round; every request reported 100 prompt and 20 completion tokens.
        Assert.Equal(Math.Round(7 / 6.0, 3), result["mean_steps"]!.GetValue<double>());
        Assert.Equal(Math.Round(1 / 6.0, 3), result["mean_repair_rounds"]!.GetValue<double>());
        Assert.Equal(model.Requests.Count * FakeChatCompletions.PromptTokens, result["input_tokens"]!.GetValue<long>());
        Assert.Equal(model.Requests.Count * FakeChatCompletions.CompletionTokens, result["output_tokens"]!.GetValue<long>());
        Assert.Equal(13, model.Requests.Count);
        Assert.True(result["seconds"]!.GetValue<double>() > 0);

        var results = result["results"]!.AsArray().ToDictionary(r => r!["id"]!.GetValue<string>());
        Assert.StartsWith("members differ: expected ", results["premium-plan"]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(results["boston"]!["expected_count"]!.GetValue<long>(), results["boston"]!["actual_count"]!.GetValue<long>());
        Assert.Equal(1, results["openers-30d"]!["repair_rounds"]!.GetValue<int>());
        Assert.Contains("4 of 6 cases passed", run.StandardOutput, StringComparison.Ordinal);
    }

    private static JsonObject Parse(string json) => JsonNode.Parse(json)!.AsObject();

    [GeneratedRegex(@"^- (?<id>[^:\n]+): (?<name>.+) \(", RegexOptions.Multiline)]
    private static partial Regex SavedSegment();
}
