using System.Text.Json;
using System.Text.Json.Nodes;
using SegmentMcp.Agent;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Agent;

/// <summary>The agent's parts that need no engine: the benchmark's cases and report, and the model configuration.</summary>
public sealed class AgentUnitTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("segmentmcp-agent-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public void The_cases_cover_every_feature_and_phrasing_style()
    {
        var cases = NlBenchmark.Load(EvalNlTests.CasesFile);

        Assert.True(cases.Count >= 60, $"{cases.Count} cases");
        Assert.All(NlBenchmark.Features, feature => Assert.True(cases.Count(c => c.Features.Contains(feature)) >= 3, feature));
        Assert.All(NlBenchmark.Styles, style => Assert.True(cases.Count(c => c.Style == style) >= 3, style));
        Assert.All(cases.Where(c => c.Style == "ambiguous"), c => Assert.False(string.IsNullOrWhiteSpace(c.GoodAnswer), c.Id));
        Assert.Contains(cases, c => c.Helpers.Count > 0);
    }

    [Theory]
    [InlineData("""{"id": "a", "question": "q", "features": ["window"], "style": "plain", "reference": {}}""" + "\n" + """{"id": "a", "question": "q", "features": ["window"], "style": "plain", "reference": {}}""", ":2: id 'a' is used twice")]
    [InlineData("""{"id": "a", "question": "q", "features": ["windows"], "style": "plain", "reference": {}}""", ":1: 'features' must name at least one of property, window")]
    [InlineData("""{"id": "a", "question": "q", "features": ["window"], "style": "vague", "reference": {}}""", ":1: 'style' must be one of plain")]
    [InlineData("""{"id": "a", "question": "q", "features": ["window"], "style": "ambiguous", "reference": {}}""", ":1: an ambiguous case says what a good answer does")]
    [InlineData("""{"id": "a", "question": "", "features": ["window"], "style": "plain", "reference": {}}""", ":1: 'question' must be a non-empty string")]
    [InlineData("\n{not json", ":2: not JSON")]
    public void A_bad_case_is_refused_naming_file_and_line(string lines, string expected)
    {
        var path = Path.Combine(directory, "cases.jsonl");
        File.WriteAllText(path, lines);

        var error = Assert.Throws<InvalidOperationException>(() => NlBenchmark.Load(path));

        Assert.StartsWith(path + ":", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Helper_placeholders_resolve_to_saved_ids_and_an_unknown_one_is_named()
    {
        using var reference = JsonDocument.Parse("""{"name": "x", "condition": {"any": [{"segment": {"id": "helper:big", "member": true}}, {"segment": {"id": "helper:news", "member": false}}]}}""");

        var resolved = NlBenchmark.Resolve(reference.RootElement, new Dictionary<string, string> { ["big"] = "big-spenders-1a2b", ["news"] = "newsletter-3c4d" });

        Assert.Equal("""{"name":"x","condition":{"any":[{"segment":{"id":"big-spenders-1a2b","member":true}},{"segment":{"id":"newsletter-3c4d","member":false}}]}}""", resolved.GetRawText());
        var error = Assert.Throws<InvalidOperationException>(() => NlBenchmark.Resolve(reference.RootElement, new Dictionary<string, string>()));
        Assert.Contains("'big'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_report_rates_each_feature_and_style_and_averages_steps_repairs_tokens_and_time()
    {
        NlCaseResult Result(string id, string[] features, string style, bool passed, int steps, int repairs) =>
            new(id, "q", features, style, passed, passed ? null : "members differ", steps, repairs, 100 * steps, 10 * steps, 1.5, null, 10, passed ? 10 : 3);

        var report = NlBenchmark.Report(
            [
                Result("a", ["window"], "plain", true, 2, 0),
                Result("b", ["window", "not"], "terse", false, 4, 2),
                Result("c", ["property"], "plain", true, 3, 1),
            ],
            new JsonObject { ["model"] = "m" });

        Assert.Equal("m", report["model"]!.GetValue<string>());
        Assert.Equal(3, report["cases"]!.GetValue<int>());
        Assert.Equal(2, report["passed"]!.GetValue<int>());
        Assert.Equal(0.6667, report["pass_rate"]!.GetValue<double>());
        Assert.Equal(3.0, report["mean_steps"]!.GetValue<double>());
        Assert.Equal(1.0, report["mean_repair_rounds"]!.GetValue<double>());
        Assert.Equal(900, report["input_tokens"]!.GetValue<long>());
        Assert.Equal(90, report["output_tokens"]!.GetValue<long>());
        Assert.Equal(4.5, report["seconds"]!.GetValue<double>());
        Assert.Equal(0.5, report["by_feature"]!["window"]!["pass_rate"]!.GetValue<double>());
        Assert.Equal(0.0, report["by_feature"]!["not"]!["pass_rate"]!.GetValue<double>());
        Assert.Equal(1.0, report["by_feature"]!["property"]!["pass_rate"]!.GetValue<double>());
        Assert.Null(report["by_feature"]!["anniversary"]);
        Assert.Equal(1.0, report["by_style"]!["plain"]!["pass_rate"]!.GetValue<double>());
        Assert.Equal("members differ", report["results"]![1]!["reason"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("ask", "premium customers in Boston")]
    [InlineData("chat")]
    [InlineData("eval-nl")]
    public async Task Without_a_model_configured_the_agent_verbs_exit_2_naming_what_to_set(params string[] arguments)
    {
        var info = HostProcess.StartInfo(arguments);
        info.Environment.Remove(LlmEndpoint.EndpointVariable);
        info.Environment.Remove(LlmEndpoint.ModelVariable);
        using var process = System.Diagnostics.Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        Assert.Empty(output);
        var text = await error;
        Assert.StartsWith($"segmentmcp {arguments[0]}: no language model configured: set SEGMENTMCP_LLM_ENDPOINT (or --llm-endpoint) and SEGMENTMCP_LLM_MODEL (or --llm-model)", text, StringComparison.Ordinal);
        Assert.Contains("SEGMENTMCP_LLM_KEY", text, StringComparison.Ordinal);
        Assert.Contains("http://localhost:11434/v1", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ask_without_a_question_is_a_usage_error()
    {
        var (exitCode, output, error) = await HostProcess.RunAsync(null, "ask");

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.StartsWith("segmentmcp ask: QUESTION is missing", error, StringComparison.Ordinal);
    }
}
