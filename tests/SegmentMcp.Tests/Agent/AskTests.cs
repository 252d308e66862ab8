using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Agent;
using SegmentMcp.Core.App;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Tests.Mcp;

namespace SegmentMcp.Tests.Agent;

/// <summary><c>ask</c> driven by a scripted model over the real chat-completions wire format, on the real engine.</summary>
[Trait("Category", "Engine")]
public sealed class AskTests
{
    private const string Tenant = "acme";

    private const string Draft = """
        {"name": "Boston openers", "condition": {"all": [
          {"event": {"metric": "Opened Emails", "window": {"last_days": 30}, "op": "gte", "value": 1}},
          {"property": {"name": "cty", "op": "eq", "value": "Boston"}}]}}
        """;

    /// <summary>Runs one question as the verb does, its JSON answer and its messages captured.</summary>
    private static async Task<(int Code, StringWriter Output, StringWriter Messages)> AskAsync(
        Core.Storage.IClickHouseEngine engine, Core.Storage.StorageSchema schema, AskRequest request)
    {
        var output = new StringWriter();
        var messages = new StringWriter();
        var code = await AskCommand.AnswerAsync(engine, schema, request, output, messages, McpTestData.PromptsDirectory(), CancellationToken.None);
        return (code, output, messages);
    }

    [Fact]
    public async Task Ask_looks_up_the_schema_repairs_an_invalid_draft_and_answers_with_the_engines_count()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        await McpTestData.SeedAsync(engine, schema, Tenant, string.Empty);
        await using var model = await FakeChatCompletions.StartAsync((request, index) => index switch
        {
            0 => FakeTurn.Call("describe_schema", new { metric = "Opened Email" }),
            1 => FakeTurn.Call("preview_segment", $$"""{"definition": {{Draft}}, "limit": 3}"""),
            2 => FakeTurn.Call("preview_segment", $$"""{"definition": {{McpTestData.BostonOpeners}}, "limit": 3}"""),
            _ => FakeTurn.Say("Boston openers: profiles in Boston who opened an email in the last 30 days."),
        });

        var (code, output, messages) = await AskAsync(engine, schema, new AskRequest(Tenant, "who in boston opened an email this month?", Json: true, Save: true, MaxSteps: 8, new LlmEndpoint(model.BaseUrl, "fake-model", null)));

        Assert.True(code == 0, messages.ToString());
        var answer = JsonNode.Parse(output.ToString())!.AsObject();
        Assert.Equal(["question", "definition", "read_back", "count", "sample", "steps", "segment_id"], answer.Select(p => p.Key));
        Assert.Equal("who in boston opened an email this month?", answer["question"]!.GetValue<string>());
        Assert.Equal(3, answer["steps"]!.GetValue<int>());

        // The answer is the repaired definition, counted and sampled by the engine, not by the model.
        await using var services = SegmentServices.Build(engine, schema);
        var definitions = services.GetRequiredService<DefinitionService>();
        using var expected = JsonDocument.Parse(McpTestData.BostonOpeners);
        var validated = await definitions.ValidateAsync(Tenant, expected.RootElement, null, CancellationToken.None);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Core.Dsl.SegmentDefinitionJson.Write(validated.Definition)), answer["definition"]));
        var count = await definitions.CountAsync(validated, DateTime.UtcNow, CancellationToken.None);
        Assert.Equal(2, count); // p1 and p2 opened in Boston within 30 days
        Assert.Equal(count, answer["count"]!.GetValue<long>());
        Assert.Equal(["p1", "p2"], answer["sample"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.Equal(DefinitionService.ReadBack(validated.Definition), answer["read_back"]!.GetValue<string>());
        Assert.Contains("Boston openers: profiles in Boston", messages.ToString(), StringComparison.Ordinal);

        // --save saved exactly that definition.
        var saved = await services.GetRequiredService<Core.Storage.ISegmentStore>().GetAsync(Tenant, answer["segment_id"]!.GetValue<string>(), CancellationToken.None);
        Assert.True(JsonNode.DeepEquals(answer["definition"], JsonNode.Parse(saved!.DefinitionJson)));

        // What the model was sent: the product's read-only tools, streamed requests, the system prompt from prompts/,
        // and the validation error (JSON path, did-you-mean) as the invalid draft's tool result.
        var requests = model.Requests;
        Assert.Equal(4, requests.Count);
        Assert.All(requests, r => Assert.True(r["stream"]!.GetValue<bool>()));
        Assert.All(requests, r => Assert.True(r["stream_options"]?["include_usage"]?.GetValue<bool>() ?? false, "usage is asked for when streaming"));
        var tools = requests[0]["tools"]!.AsArray().Select(t => t!["function"]!["name"]!.GetValue<string>()).ToList();
        Assert.Contains(tools, t => t.EndsWith("describe_schema", StringComparison.Ordinal));
        Assert.Contains(tools, t => t.EndsWith("preview_segment", StringComparison.Ordinal));
        Assert.DoesNotContain(tools, t => t.EndsWith("create_segment", StringComparison.Ordinal) || t.EndsWith("delete_segment", StringComparison.Ordinal) || t.EndsWith("update_segment", StringComparison.Ordinal));
        var preview = requests[0]["tools"]!.AsArray().Single(t => t!["function"]!["name"]!.GetValue<string>().EndsWith("preview_segment", StringComparison.Ordinal))!;
        Assert.NotNull(preview["function"]!["parameters"]!["properties"]!["definition"]);
        var system = Assert.Single(FakeChatCompletions.Messages(requests[0], "system"));
        Assert.Contains("segment builder for workspace acme", system, StringComparison.Ordinal);
        Assert.Contains("metric \"Opened Email\"", system, StringComparison.Ordinal);
        Assert.Contains("\"profiles\"", FakeChatCompletions.Messages(requests[1], "tool").Single(), StringComparison.Ordinal);
        var repair = FakeChatCompletions.Messages(requests[2], "tool").Last();
        Assert.Contains("condition.all[0].event.metric", repair, StringComparison.Ordinal);
        Assert.Contains("Opened Email", repair, StringComparison.Ordinal);
        Assert.Contains("condition.all[1].property.name", repair, StringComparison.Ordinal);
        Assert.Contains("city", repair, StringComparison.Ordinal);
        var final = FakeChatCompletions.Messages(requests[3], "tool").Last();
        Assert.Contains("\"count\":2", final.Replace(" ", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_value_no_data_holds_reaches_the_model_as_a_value_hint_it_can_act_on()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        await McpTestData.SeedAsync(engine, schema, Tenant, string.Empty);
        var lowercase = McpTestData.BostonOpeners.Replace("\"Boston\"", "\"boston\"", StringComparison.Ordinal);
        await using var model = await FakeChatCompletions.StartAsync((request, index) => index switch
        {
            0 => FakeTurn.Call("preview_segment", $$"""{"definition": {{lowercase}}}"""),
            1 => FakeTurn.Call("preview_segment", $$"""{"definition": {{McpTestData.BostonOpeners}}}"""),
            _ => FakeTurn.Say("Boston openers: 2 profiles."),
        });

        var (code, output, messages) = await AskAsync(engine, schema, new AskRequest(Tenant, "openers in boston", Json: true, Save: false, MaxSteps: 8, new LlmEndpoint(model.BaseUrl, "fake-model", null)));

        Assert.True(code == 0, messages.ToString());
        Assert.Contains("value_hints", Assert.Single(FakeChatCompletions.Messages(model.Requests[0], "system")), StringComparison.Ordinal);
        var hinted = JsonNode.Parse(FakeChatCompletions.Messages(model.Requests[1], "tool").Last())!;
        Assert.Equal(0, (long)hinted["count"]!);
        var hint = Assert.Single(hinted["value_hints"]!.AsArray())!;
        Assert.Equal("condition.all[1].property.value", (string?)hint["path"]);
        Assert.Equal("Boston", (string?)hint["closest"]![0]!["value"]);
        Assert.Equal(2, JsonNode.Parse(output.ToString())!["count"]!.GetValue<long>());
    }

    [Fact]
    public async Task Ask_stops_after_max_steps_and_fails_without_a_definition()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        await McpTestData.SeedAsync(engine, schema, Tenant, string.Empty);
        await using var model = await FakeChatCompletions.StartAsync((_, _) => FakeTurn.Call("preview_segment", $$"""{"definition": {{Draft}}}"""));

        var (code, output, messages) = await AskAsync(engine, schema, new AskRequest(Tenant, "boston openers", Json: true, Save: false, MaxSteps: 2, new LlmEndpoint(model.BaseUrl, "fake-model", null)));

        Assert.Equal(1, code);
        var answer = JsonNode.Parse(output.ToString())!.AsObject();
        Assert.Null(answer["definition"]);
        Assert.Equal(2, answer["steps"]!.GetValue<int>());
        Assert.Contains("2 steps", answer["error"]!.GetValue<string>(), StringComparison.Ordinal);

        // Two tool calls ran; the third request's call was refused by the step limit and the loop ended.
        Assert.Equal(3, model.Requests.Count);
    }

    [Fact]
    public async Task Chat_keeps_the_conversation_and_saves_the_last_segment()
    {
        // Previewed without a name, as preview_segment allows a draft: the question names it when it is saved.
        const string Buyers = """
            {"condition": {"all": [
              {"event": {"metric": "Opened Email", "window": {"last_days": 30}, "op": "gte", "value": 1}},
              {"property": {"name": "city", "op": "eq", "value": "Boston"}},
              {"event": {"metric": "Placed Order", "op": "gte", "value": 1}}]}}
            """;
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        await McpTestData.SeedAsync(engine, schema, Tenant, string.Empty);
        await using var model = await FakeChatCompletions.StartAsync((request, index) => index switch
        {
            0 => FakeTurn.Call("preview_segment", $$"""{"definition": {{McpTestData.BostonOpeners}}}"""),
            1 => FakeTurn.Say("Two Bostonians opened an email."),
            2 => FakeTurn.Call("preview_segment", $$"""{"definition": {{Buyers}}}"""),
            _ => FakeTurn.Say("One of them has ordered."),
        });

        var output = new StringWriter();
        var code = await AskCommand.ConverseAsync(
            engine,
            schema,
            Tenant,
            new LlmEndpoint(model.BaseUrl, "fake-model", null),
            8,
            new StringReader("boston openers\nonly the ones who bought\nsave\n"),
            output,
            McpTestData.PromptsDirectory(),
            CancellationToken.None);

        Assert.Equal(0, code);
        var text = output.ToString();
        Assert.Contains("Two Bostonians opened an email.", text, StringComparison.Ordinal);
        Assert.Contains("  2 members, e.g. p1, p2", text, StringComparison.Ordinal);
        Assert.Contains("  1 member, e.g. p1", text, StringComparison.Ordinal);

        // The follow-up is asked with the whole conversation: both questions, the first answer and its tool call.
        var followUp = model.Requests[2];
        Assert.Equal(["boston openers", "only the ones who bought"], FakeChatCompletions.Messages(followUp, "user"));
        Assert.Contains("Two Bostonians opened an email.", FakeChatCompletions.Messages(followUp, "assistant"));
        Assert.Single(FakeChatCompletions.Messages(followUp, "tool"));

        // 'save' saved the last answer's definition.
        await using var services = SegmentServices.Build(engine, schema);
        var saved = Assert.Single(await services.GetRequiredService<Core.Storage.ISegmentStore>().ListAsync(Tenant, CancellationToken.None));
        Assert.Equal("only the ones who bought", saved.Name);
        Assert.Contains($"Saved as {saved.Id}.", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_agents_tools_keep_the_servers_argument_limits_and_tenant_binding()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        await McpTestData.SeedAsync(engine, schema, Tenant, string.Empty);
        await McpTestData.SeedAsync(engine, schema, "globex", "g-");
        await using var services = SegmentServices.Build(engine, schema);
        var other = await services.GetRequiredService<Core.Storage.ISegmentStore>().SaveAsync("globex", null, "Globex buyers", null, McpTestData.Buyers, CancellationToken.None);
        await using var model = await FakeChatCompletions.StartAsync((request, index) => index switch
        {
            0 => FakeTurn.Call("preview_segment", $$"""{"definition": {{McpTestData.BostonOpeners}}, "limit": 5000}"""),
            1 => FakeTurn.Call("get_segment", new { segment_id = other.Id }),
            2 => FakeTurn.Call("get_profile", new { profile_id = "g-p1" }),
            _ => FakeTurn.Say("I could not find it."),
        });

        var (_, output, _) = await AskAsync(engine, schema, new AskRequest(Tenant, "the globex buyers", Json: true, Save: false, MaxSteps: 8, new LlmEndpoint(model.BaseUrl, "fake-model", null)));

        var results = FakeChatCompletions.Messages(model.Requests[3], "tool").ToList();
        Assert.Equal(3, results.Count);
        Assert.StartsWith("Error: limit: 5000 is out of range", results[0], StringComparison.Ordinal);
        Assert.StartsWith($"Error: segment_id: no segment '{other.Id}' in this workspace.", results[1], StringComparison.Ordinal);
        Assert.StartsWith("Error: profile_id: no profile 'g-p1' in this workspace.", results[2], StringComparison.Ordinal);
        Assert.Null(JsonNode.Parse(output.ToString())!["definition"]);
    }
}
