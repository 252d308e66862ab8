using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Agent;

/// <summary>A saved segment a case's question refers to; the case's reference names it as <c>"helper:KEY"</c>.</summary>
internal sealed record NlHelper(string Key, string Name, JsonElement Definition);

/// <summary>
/// One question of the natural-language benchmark: the DSL features its answer needs, the phrasing style, the
/// reference definition whose members a good answer must match exactly, helper segments it refers to, and for an
/// ambiguous ask what a good answer does.
/// </summary>
internal sealed record NlCase(
    string Id,
    string Question,
    IReadOnlyList<string> Features,
    string Style,
    JsonElement Reference,
    IReadOnlyList<NlHelper> Helpers,
    string? GoodAnswer,
    int Line);

/// <summary>How one case went.</summary>
internal sealed record NlCaseResult(
    string Id,
    string Question,
    IReadOnlyList<string> Features,
    string Style,
    bool Passed,
    string? Reason,
    int Steps,
    int RepairRounds,
    long InputTokens,
    long OutputTokens,
    double Seconds,
    JsonNode? Definition,
    long ExpectedCount,
    long? ActualCount);

/// <summary>
/// The natural-language benchmark's data and scoring: loads cases (JSON Lines), saves their helper segments, and scores
/// by execution as text-to-SQL benchmarks do: a case passes when the agent's definition has exactly the reference's
/// members on the demo shop at a fixed time.
/// </summary>
internal static class NlBenchmark
{
    /// <summary>The fixed end of the benchmark's demo history and the time every definition is evaluated at.</summary>
    public static readonly DateTime EvaluatedAt = new(2026, 11, 20, 12, 0, 0, DateTimeKind.Utc);

    public const int DefaultProfiles = 2_000;

    public const string HelperPrefix = "helper:";

    /// <summary>The features a case may name: the parts of the language its answer needs.</summary>
    public static readonly string[] Features = ["property", "window", "measure", "where", "not", "or", "anniversary", "segment", "property_date", "calendar"];

    /// <summary>The phrasing styles a case may name.</summary>
    public static readonly string[] Styles = ["plain", "terse", "jargon", "typo", "relative_date", "ambiguous"];

    public static string DefaultCasesPath => Path.Combine(AppContext.BaseDirectory, "prompts", "eval", "demo-shop.jsonl");

    /// <summary>Reads a cases file; every problem is an <see cref="InvalidOperationException"/> naming file and line.</summary>
    public static IReadOnlyList<NlCase> Load(string path)
    {
        var cases = new List<NlCase>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            string Where(string problem) => $"{path}:{number.ToString(CultureInfo.InvariantCulture)}: {problem}";
            JsonElement root;
            try
            {
                using var document = JsonDocument.Parse(line);
                root = document.RootElement.Clone();
            }
            catch (JsonException exception)
            {
                throw new InvalidOperationException(Where($"not JSON ({exception.Message})"));
            }

            string Text(string name) =>
                root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
                    ? text
                    : throw new InvalidOperationException(Where($"'{name}' must be a non-empty string"));

            var id = Text("id");
            if (!ids.Add(id))
            {
                throw new InvalidOperationException(Where($"id '{id}' is used twice"));
            }

            var features = root.TryGetProperty("features", out var list) && list.ValueKind == JsonValueKind.Array
                ? list.EnumerateArray().Select(f => f.GetString() ?? string.Empty).ToList()
                : throw new InvalidOperationException(Where("'features' must be an array of feature names"));
            var unknown = features.FirstOrDefault(f => !Features.Contains(f));
            if (features.Count == 0 || unknown is not null)
            {
                throw new InvalidOperationException(Where($"'features' must name at least one of {string.Join(", ", Features)}{(unknown is null ? string.Empty : $" (not '{unknown}')")}"));
            }

            var style = Text("style");
            if (!Styles.Contains(style))
            {
                throw new InvalidOperationException(Where($"'style' must be one of {string.Join(", ", Styles)} (not '{style}')"));
            }

            if (!root.TryGetProperty("reference", out var reference) || reference.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidOperationException(Where("'reference' must be a segment definition object"));
            }

            var helpers = new List<NlHelper>();
            if (root.TryGetProperty("helpers", out var helperList))
            {
                foreach (var helper in helperList.EnumerateArray())
                {
                    var key = helper.TryGetProperty("key", out var k) ? k.GetString() : null;
                    var name = helper.TryGetProperty("name", out var n) ? n.GetString() : null;
                    if (string.IsNullOrEmpty(key) || string.IsNullOrEmpty(name) || !helper.TryGetProperty("definition", out var definition))
                    {
                        throw new InvalidOperationException(Where("each helper needs 'key', 'name' and 'definition'"));
                    }

                    helpers.Add(new NlHelper(key, name, definition.Clone()));
                }
            }

            var goodAnswer = root.TryGetProperty("good_answer", out var good) ? good.GetString() : null;
            if (style == "ambiguous" && string.IsNullOrEmpty(goodAnswer))
            {
                throw new InvalidOperationException(Where("an ambiguous case says what a good answer does in 'good_answer'"));
            }

            cases.Add(new NlCase(id, Text("question"), features, style, reference.Clone(), helpers, goodAnswer, number));
        }

        return cases;
    }

    /// <summary>
    /// Saves every helper segment the cases name (one segment per key, reused when the tenant already has it under the
    /// same name); returns key → segment id.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, string>> SaveHelpersAsync(
        IEnumerable<NlCase> cases, string tenant, ISegmentStore store, DefinitionService definitions, CancellationToken cancellationToken)
    {
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        var defined = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var existing = await store.ListAsync(tenant, cancellationToken).ConfigureAwait(false);
        foreach (var helper in cases.SelectMany(c => c.Helpers))
        {
            if (ids.ContainsKey(helper.Key))
            {
                if (!JsonElement.DeepEquals(defined[helper.Key], helper.Definition))
                {
                    throw new InvalidOperationException($"Helper segment '{helper.Key}' is defined twice, differently.");
                }

                continue;
            }

            defined[helper.Key] = helper.Definition;

            var validated = await definitions.ValidateAsync(tenant, helper.Definition, null, cancellationToken).ConfigureAwait(false);
            var json = SegmentDefinitionJson.Write(validated.Definition with { Name = helper.Name });
            var current = existing.FirstOrDefault(s => s.Name == helper.Name);
            var saved = current is not null && current.DefinitionJson == json
                ? current
                : await store.SaveAsync(tenant, current?.Id, helper.Name, null, json, cancellationToken).ConfigureAwait(false);
            ids[helper.Key] = saved.Id;
        }

        return ids;
    }

    /// <summary>The reference with every <c>"helper:KEY"</c> segment id replaced by the saved segment's id.</summary>
    public static JsonElement Resolve(JsonElement reference, IReadOnlyDictionary<string, string> helpers)
    {
        var node = JsonNode.Parse(reference.GetRawText())!;
        Replace(node);
        return JsonSerializer.SerializeToElement(node);

        void Replace(JsonNode? current)
        {
            switch (current)
            {
                case JsonObject members:
                    foreach (var (key, value) in members.ToList())
                    {
                        if (value is JsonValue text && text.TryGetValue<string>(out var s) && s.StartsWith(HelperPrefix, StringComparison.Ordinal))
                        {
                            members[key] = helpers.TryGetValue(s[HelperPrefix.Length..], out var id)
                                ? id
                                : throw new InvalidOperationException($"No helper segment '{s[HelperPrefix.Length..]}' is defined by any case.");
                        }
                        else
                        {
                            Replace(value);
                        }
                    }

                    break;
                case JsonArray items:
                    foreach (var item in items)
                    {
                        Replace(item);
                    }

                    break;
            }
        }
    }

    /// <summary>Every member of a definition at <paramref name="now"/>, in profile id order.</summary>
    public static async Task<IReadOnlyList<string>> MembersAsync(DefinitionService definitions, ValidatedDefinition definition, DateTime now, CancellationToken cancellationToken)
    {
        const int Page = 100_000;
        var all = new List<string>();
        string? after = null;
        while (true)
        {
            var page = await definitions.MembersAsync(definition, now, after, Page, cancellationToken).ConfigureAwait(false);
            all.AddRange(page);
            if (page.Count < Page)
            {
                return all;
            }

            after = page[^1];
        }
    }

    /// <summary>Scores an answer against the expected members; null reason when it passes.</summary>
    public static async Task<(bool Passed, string? Reason, long? Count)> ScoreAsync(
        AgentAnswer answer, IReadOnlyList<string> expected, DefinitionService definitions, CancellationToken cancellationToken)
    {
        if (answer.Definition is null)
        {
            return (false, answer.Problem ?? "no definition", null);
        }

        var actual = await MembersAsync(definitions, answer.Definition, EvaluatedAt, cancellationToken).ConfigureAwait(false);
        var expectedSet = expected.ToHashSet(StringComparer.Ordinal);
        var actualSet = actual.ToHashSet(StringComparer.Ordinal);
        if (expectedSet.SetEquals(actualSet))
        {
            return (true, null, actual.Count);
        }

        var missing = expectedSet.Count(id => !actualSet.Contains(id));
        var extra = actualSet.Count(id => !expectedSet.Contains(id));
        return (false, string.Create(CultureInfo.InvariantCulture, $"members differ: expected {expected.Count}, got {actual.Count} ({missing} missing, {extra} extra)"), actual.Count);
    }

    /// <summary>The report: totals, pass rate per feature and per style, means, tokens, time, and every case.</summary>
    public static JsonObject Report(IReadOnlyList<NlCaseResult> results, JsonObject run)
    {
        static JsonObject Rate(IEnumerable<NlCaseResult> group)
        {
            var list = group.ToList();
            var passed = list.Count(r => r.Passed);
            return new JsonObject
            {
                ["cases"] = list.Count,
                ["passed"] = passed,
                ["pass_rate"] = list.Count == 0 ? 0 : Math.Round((double)passed / list.Count, 4),
            };
        }

        var report = new JsonObject();
        foreach (var (key, value) in run)
        {
            report[key] = value?.DeepClone();
        }

        var total = Rate(results);
        foreach (var (key, value) in total)
        {
            report[key] = value?.DeepClone();
        }

        report["mean_steps"] = results.Count == 0 ? 0 : Math.Round(results.Average(r => r.Steps), 3);
        report["mean_repair_rounds"] = results.Count == 0 ? 0 : Math.Round(results.Average(r => r.RepairRounds), 3);
        report["input_tokens"] = results.Sum(r => r.InputTokens);
        report["output_tokens"] = results.Sum(r => r.OutputTokens);
        report["seconds"] = Math.Round(results.Sum(r => r.Seconds), 3);
        report["mean_seconds"] = results.Count == 0 ? 0 : Math.Round(results.Average(r => r.Seconds), 3);
        var byFeature = new JsonObject();
        foreach (var feature in Features.Where(f => results.Any(r => r.Features.Contains(f))))
        {
            byFeature[feature] = Rate(results.Where(r => r.Features.Contains(feature)));
        }

        var byStyle = new JsonObject();
        foreach (var style in Styles.Where(s => results.Any(r => r.Style == s)))
        {
            byStyle[style] = Rate(results.Where(r => r.Style == style));
        }

        report["by_feature"] = byFeature;
        report["by_style"] = byStyle;
        report["results"] = new JsonArray([.. results.Select(r => (JsonNode?)new JsonObject
        {
            ["id"] = r.Id,
            ["question"] = r.Question,
            ["features"] = new JsonArray([.. r.Features.Select(f => (JsonNode?)JsonValue.Create(f))]),
            ["style"] = r.Style,
            ["passed"] = r.Passed,
            ["reason"] = r.Reason,
            ["steps"] = r.Steps,
            ["repair_rounds"] = r.RepairRounds,
            ["input_tokens"] = r.InputTokens,
            ["output_tokens"] = r.OutputTokens,
            ["seconds"] = Math.Round(r.Seconds, 3),
            ["expected_count"] = r.ExpectedCount,
            ["actual_count"] = r.ActualCount,
            ["definition"] = r.Definition?.DeepClone(),
        })]);
        return report;
    }
}
