using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;
using ModelContextProtocol.Client;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Mcp;

namespace SegmentMcp.Agent;

/// <summary>How the agent runs: the step budget, and the time it evaluates at (null: now).</summary>
internal sealed record AgentOptions
{
    public const int DefaultMaxSteps = 8;

    /// <summary>Tool calls allowed for one question; past it the agent stops and answers with what it has.</summary>
    public int MaxSteps { get; init; } = DefaultMaxSteps;

    /// <summary>A fixed evaluation time (the benchmark's); previews without <c>as_of</c> are run at it.</summary>
    public DateTime? AsOf { get; init; }

    /// <summary>Member ids shown with an answer.</summary>
    public int SampleSize { get; init; } = 5;
}

/// <summary>
/// One answered question. <see cref="Definition"/> is the last definition the agent previewed successfully, validated
/// again and run by the product itself, so <see cref="Count"/>, <see cref="Sample"/> and <see cref="ReadBack"/> are
/// the engine's, never the model's words. <see cref="Problem"/> says why there is no definition.
/// </summary>
internal sealed record AgentAnswer(
    string Question,
    string Text,
    ValidatedDefinition? Definition,
    string? ReadBack,
    long? Count,
    IReadOnlyList<string> Sample,
    int Steps,
    int RepairRounds,
    long InputTokens,
    long OutputTokens,
    TimeSpan Elapsed,
    string? Problem);

/// <summary>
/// The natural-language agent of <c>ask</c>, <c>chat</c> and <c>eval-nl</c>: a Semantic Kernel <see cref="Kernel"/>
/// whose plugin is the product's read-only MCP tools (<see cref="SegmentToolbox"/>), talking to an OpenAI-compatible
/// model through Semantic Kernel's OpenAI connector as a Microsoft.Extensions.AI <see cref="IChatClient"/> with
/// automatic function calling. Tool errors (JSON paths, did-you-mean) go back to the model as the tool's result; an
/// auto-invocation filter stops it after <see cref="AgentOptions.MaxSteps"/> tool calls. The conversation is kept
/// between questions (<c>chat</c>).
/// </summary>
internal sealed class SegmentAgent
{
    public const string PluginName = "segmentmcp";

    private static readonly HashSet<string> DefinitionTools = new(StringComparer.Ordinal) { "preview_segment", "explain_segment", "check_membership" };

    private readonly SegmentToolbox toolbox;
    private readonly LlmEndpoint endpoint;
    private readonly AgentOptions options;
    private readonly Kernel kernel;
    private readonly IChatClient chat;
    private readonly List<ChatMessage> history;
    private Turn turn = new();

    private SegmentAgent(SegmentToolbox toolbox, LlmEndpoint endpoint, AgentOptions options, HttpClient httpClient, string systemPrompt)
    {
        this.toolbox = toolbox;
        this.endpoint = endpoint;
        this.options = options;
        var builder = Kernel.CreateBuilder();

        // SKEXP0010: Semantic Kernel marks its IChatClient registration experimental; it is the connector's
        // vendor-neutral path (any OpenAI-compatible base URL) that the agent is built on.
#pragma warning disable SKEXP0010
        builder.AddOpenAIChatClient(endpoint.Model, endpoint.Endpoint, endpoint.Key, httpClient: httpClient);
#pragma warning restore SKEXP0010
        builder.Plugins.AddFromFunctions(PluginName, toolbox.ReadOnlyTools.Select(tool => new RecordedTool(tool, this).AsKernelFunction()));
        kernel = builder.Build();
        kernel.AutoFunctionInvocationFilters.Add(new StepLimit(this));
        chat = kernel.GetRequiredService<IChatClient>();
        history = [new ChatMessage(ChatRole.System, systemPrompt)];
    }

    /// <summary>An agent for <paramref name="toolbox"/>'s tenant with a fresh conversation; <paramref name="httpClient"/> is shared and not disposed.</summary>
    public static async Task<SegmentAgent> CreateAsync(
        SegmentToolbox toolbox, LlmEndpoint endpoint, AgentOptions options, HttpClient httpClient, CancellationToken cancellationToken)
    {
        var system = await toolbox.Prompts.RenderAgentAsync(
            toolbox.Tenant,
            new Dictionary<string, string>(StringComparer.Ordinal) { ["now"] = ToolSupport.Iso(options.AsOf ?? DateTime.UtcNow) },
            toolbox.Store,
            toolbox.Definitions,
            cancellationToken).ConfigureAwait(false);
        return new SegmentAgent(toolbox, endpoint, options, httpClient, system);
    }

    /// <summary>The HTTP client for a model: one per process, with room for a slow local model's long answers.</summary>
    public static HttpClient CreateHttpClient() => new() { Timeout = TimeSpan.FromMinutes(10) };

    /// <summary>
    /// Answers one question (the conversation so far is its context): streams the model's words to
    /// <paramref name="stream"/> as they come, then runs the last good definition on the engine.
    /// </summary>
    public async Task<AgentAnswer> AskAsync(string question, TextWriter? stream, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        turn = new Turn();
        history.Add(new ChatMessage(ChatRole.User, question));

        // SKEXP0001: without RetainArgumentTypes every argument reaches the tool as a string, and the tools' argument
        // guard rightly refuses "10" for a whole number; a definition must arrive as the JSON object the model wrote.
#pragma warning disable SKEXP0001
        var settings = new PromptExecutionSettings
        {
            FunctionChoiceBehavior = FunctionChoiceBehavior.Auto(options: new FunctionChoiceBehaviorOptions { RetainArgumentTypes = true }),
        };
#pragma warning restore SKEXP0001
        // No sampling settings: reasoning models refuse a temperature, and the model's defaults are what a user gets.
        var chatOptions = settings.ToChatOptions(kernel);
        var updates = new List<ChatResponseUpdate>();
        try
        {
            await StreamAsync(chatOptions, updates, stream, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is HttpRequestException or System.ClientModel.ClientResultException)
        {
            // The question is not part of the conversation when the model never answered it.
            history.RemoveAt(history.Count - 1);
            throw new InvalidOperationException($"The language model at {endpoint.Endpoint} ({endpoint.Model}) did not answer: {exception.Message}", exception);
        }

        var response = updates.ToChatResponse();
        history.AddRange(response.Messages);
        var answerText = response.Messages.LastOrDefault(m => m.Role == ChatRole.Assistant)?.Text ?? string.Empty;
        return await ConcludeAsync(question, answerText, stopwatch, cancellationToken).ConfigureAwait(false);
    }

    private async Task StreamAsync(ChatOptions chatOptions, List<ChatResponseUpdate> updates, TextWriter? stream, CancellationToken cancellationToken)
    {
        await foreach (var update in chat.GetStreamingResponseAsync(history, chatOptions, cancellationToken).ConfigureAwait(false))
        {
            updates.Add(update);
            foreach (var usage in update.Contents.OfType<UsageContent>())
            {
                turn.InputTokens += usage.Details.InputTokenCount ?? 0;
                turn.OutputTokens += usage.Details.OutputTokenCount ?? 0;
            }

            if (stream is not null && update.Role != ChatRole.Tool && update.Text is { Length: > 0 } text)
            {
                await stream.WriteAsync(text.AsMemory(), cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Saves the answer's definition through the server's own create_segment tool; returns the new segment's id.</summary>
    public async Task<string> SaveAsync(AgentAnswer answer, CancellationToken cancellationToken)
    {
        var definition = JsonSerializer.Deserialize<JsonElement>(SegmentDefinitionJson.Write(answer.Definition!.Definition));
        var saved = await toolbox.CallAsync("create_segment", new Dictionary<string, object?>(StringComparer.Ordinal) { ["definition"] = definition }, cancellationToken).ConfigureAwait(false);
        if (saved.IsError || saved.StructuredContent is not { } content || !content.TryGetProperty("segment_id", out var id))
        {
            throw new InvalidOperationException($"The segment could not be saved: {saved.Text}");
        }

        return id.GetString()!;
    }

    private async Task<AgentAnswer> ConcludeAsync(string question, string text, Stopwatch stopwatch, CancellationToken cancellationToken)
    {
        var (steps, repairs, input, output) = (turn.Steps, turn.RepairRounds, turn.InputTokens, turn.OutputTokens);
        if (turn.LastGoodDefinition is not { } draft)
        {
            var problem = turn.StepLimitReached
                ? $"The model used its {options.MaxSteps} steps without a definition that previews successfully."
                : "The model answered without previewing a valid definition.";
            return new AgentAnswer(question, text, null, null, null, [], steps, repairs, input, output, stopwatch.Elapsed, problem);
        }

        var now = options.AsOf ?? DateTime.UtcNow;
        var definitions = toolbox.Definitions;
        // preview_segment takes a draft without a name; the question names it, should it be saved.
        var asked = question.Trim().ReplaceLineEndings(" ");
        var name = asked.Length == 0 ? SegmentDefinitionJson.DraftName : asked.Length <= 80 ? asked : asked[..79] + "…";
        var validated = await definitions.ValidateAsync(toolbox.Tenant, draft, null, cancellationToken, nameIfMissing: name).ConfigureAwait(false);
        var (count, sample) = await definitions.PreviewAsync(validated, now, null, options.SampleSize, cancellationToken).ConfigureAwait(false);
        return new AgentAnswer(
            question,
            text,
            validated,
            DefinitionService.ReadBack(validated.Definition, validated.References),
            count,
            sample,
            steps,
            repairs,
            input,
            output,
            stopwatch.Elapsed,
            null);
    }

    /// <summary>What happened while answering the current question.</summary>
    private sealed class Turn
    {
        public int Steps { get; set; }

        public int RepairRounds { get; set; }

        public long InputTokens { get; set; }

        public long OutputTokens { get; set; }

        public bool StepLimitReached { get; set; }

        public JsonElement? LastGoodDefinition { get; set; }
    }

    /// <summary>Counts tool calls as steps and ends automatic function calling when the budget is spent.</summary>
    private sealed class StepLimit(SegmentAgent agent) : IAutoFunctionInvocationFilter
    {
        public async Task OnAutoFunctionInvocationAsync(AutoFunctionInvocationContext context, Func<AutoFunctionInvocationContext, Task> next)
        {
            var turn = agent.turn;
            if (turn.Steps >= agent.options.MaxSteps)
            {
                turn.StepLimitReached = true;
                context.Result = new FunctionResult(context.Function, $"Step limit ({agent.options.MaxSteps.ToString(CultureInfo.InvariantCulture)} tool calls) reached; no more tools.");
                context.Terminate = true;
                return;
            }

            turn.Steps++;
            await next(context).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One MCP tool as the model sees it (its name, description and input schema) whose calls go through
    /// <see cref="SegmentToolbox.CallAsync"/> and are recorded: the last definition that previewed without error is
    /// the answer, and every definition that came back with an error is a repair round.
    /// </summary>
    private sealed class RecordedTool(McpClientTool tool, SegmentAgent self) : DelegatingAIFunction(tool)
    {
        protected override async ValueTask<object?> InvokeCoreAsync(AIFunctionArguments arguments, CancellationToken cancellationToken)
        {
            var values = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var (name, value) in arguments)
            {
                values[name] = value;
            }

            // The benchmark evaluates at a fixed time; a preview the model runs must see the data as of that time too.
            if (self.options.AsOf is { } asOf && !values.ContainsKey("as_of") && HasParameter("as_of"))
            {
                values["as_of"] = ToolSupport.Iso(asOf);
            }

            var outcome = await self.toolbox.CallAsync(Name, values, cancellationToken).ConfigureAwait(false);
            if (DefinitionTools.Contains(Name) && values.TryGetValue("definition", out var definition) && definition is not null)
            {
                if (outcome.IsError)
                {
                    self.turn.RepairRounds++;
                }
                else if (Name == "preview_segment")
                {
                    self.turn.LastGoodDefinition = JsonSerializer.SerializeToElement(definition, McpJson.Options);
                }
            }

            return outcome.IsError ? $"Error: {outcome.Text}" : outcome.Text;
        }

        private bool HasParameter(string name) =>
            JsonSchema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(name, out _);
    }
}
