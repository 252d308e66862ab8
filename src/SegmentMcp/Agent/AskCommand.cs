using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SegmentMcp.Cli;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Agent;

/// <summary>What <c>ask</c> was asked to do.</summary>
internal sealed record AskRequest(string Company, string Question, bool Json, bool Save, int MaxSteps, LlmEndpoint Endpoint);

/// <summary>
/// <c>segmentmcp ask "QUESTION"</c> and <c>segmentmcp chat</c>: a question in words becomes a checked segment
/// definition (see <see cref="SegmentAgent"/>), answered with its read-back, member count, sample members and the
/// definition; <c>--save</c> saves it, <c>--json</c> prints one object for scripts. <c>chat</c> keeps the
/// conversation across questions read from standard input.
/// </summary>
internal static class AskCommand
{
    // Optional to the parser so that a missing question is worded like every other usage mistake of the verb.
    private static readonly Argument<string?> Question = new("QUESTION")
    {
        Description = "The audience in words, e.g. \"premium customers in Boston who ordered this month\".",
        Arity = ArgumentArity.ZeroOrOne,
    };
    private static readonly Option<string> Company = Flags.Company("The tenant to ask about.", "demo");
    private static readonly Option<bool> Json = Flags.Switch("--json", "Print one JSON object {question, definition, read_back, count, sample, steps, segment_id?} (the model's words go to standard error).");
    private static readonly Option<bool> Save = Flags.Switch("--save", "Save the segment and print its id.");
    private static readonly Option<int> MaxSteps = Flags.Int("--max-steps", "N", "Tool calls the agent may make for one question.", AgentOptions.DefaultMaxSteps, 1, 100);

    public static Command CreateAsk()
    {
        var command = CommandLine.Verb(
            "ask",
            "Ask for a segment in plain language: a language model drafts and checks it with the segment tools.",
            [Company, Json, Save, MaxSteps, .. LlmEndpoint.Options, .. EngineSelection.Options],
            AskAsync);
        command.Arguments.Add(Question);
        return command;
    }

    public static Command CreateChat() => CommandLine.Verb(
        "chat",
        "Talk with the segment agent: one question per line, the conversation kept (empty line, 'exit' or end of input quits; 'save' saves the last segment).",
        [Company, MaxSteps, .. LlmEndpoint.Options, .. EngineSelection.Options],
        ChatAsync);

    private static async Task<int> AskAsync(ParseResult args, CancellationToken cancellationToken)
    {
        var question = args.GetValue(Question)?.Trim() ?? string.Empty;
        if (question.Length == 0)
        {
            throw new UsageException("QUESTION is missing: ask in words, e.g. segmentmcp ask \"premium customers in Boston\"");
        }

        var endpoint = LlmEndpoint.FromArguments(args);
        var selection = EngineSelection.FromArguments(args);
        StandardInput.Detach(); // see StandardInput: a piped stdin would break the engine's inserts
        var (engine, schema) = await selection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var request = new AskRequest(args.ValueOf(Company), question, args.GetValue(Json), args.GetValue(Save), args.GetValue(MaxSteps), endpoint);
        return await AnswerAsync(engine, schema, request, Console.Out, Console.Error, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>ask</c> once the engine is open: the answer (or the <c>--json</c> object) goes to <paramref name="output"/>;
    /// with <c>--json</c> the model's words and any problem go to <paramref name="messages"/>.
    /// </summary>
    internal static async Task<int> AnswerAsync(
        IClickHouseEngine engine, StorageSchema schema, AskRequest request, TextWriter output, TextWriter messages, string? promptsDirectory, CancellationToken cancellationToken)
    {
        await using var toolbox = await SegmentToolbox.StartAsync(engine, schema, request.Company, promptsDirectory, cancellationToken).ConfigureAwait(false);
        using var http = SegmentAgent.CreateHttpClient();
        var agent = await SegmentAgent.CreateAsync(toolbox, request.Endpoint, new AgentOptions { MaxSteps = request.MaxSteps }, http, cancellationToken).ConfigureAwait(false);
        var words = request.Json ? messages : output;
        var answer = await agent.AskAsync(request.Question, words, cancellationToken).ConfigureAwait(false);
        await words.WriteLineAsync().ConfigureAwait(false);
        var segmentId = answer.Definition is not null && request.Save
            ? await agent.SaveAsync(answer, cancellationToken).ConfigureAwait(false)
            : null;
        await output.WriteAsync(request.Json ? ToJson(answer, segmentId) + Environment.NewLine : Summary(answer, segmentId)).ConfigureAwait(false);
        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (answer.Problem is not null)
        {
            await messages.WriteLineAsync($"segmentmcp ask: {answer.Problem}").ConfigureAwait(false);
            return CommandLine.Failed;
        }

        return CommandLine.Ok;
    }

    private static async Task<int> ChatAsync(ParseResult args, CancellationToken cancellationToken)
    {
        var endpoint = LlmEndpoint.FromArguments(args);
        var selection = EngineSelection.FromArguments(args);
        using var input = new StreamReader(StandardInput.Detach(), Encoding.UTF8);
        var (engine, schema) = await selection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return await ConverseAsync(engine, schema, args.ValueOf(Company), endpoint, args.GetValue(MaxSteps), input, Console.Out, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>chat</c> once the engine is open: questions from <paramref name="input"/>, one a line, answered in one conversation.</summary>
    internal static async Task<int> ConverseAsync(
        IClickHouseEngine engine,
        StorageSchema schema,
        string company,
        LlmEndpoint endpoint,
        int maxSteps,
        TextReader input,
        TextWriter output,
        string? promptsDirectory,
        CancellationToken cancellationToken)
    {
        await using var toolbox = await SegmentToolbox.StartAsync(engine, schema, company, promptsDirectory, cancellationToken).ConfigureAwait(false);
        using var http = SegmentAgent.CreateHttpClient();
        var agent = await SegmentAgent.CreateAsync(toolbox, endpoint, new AgentOptions { MaxSteps = maxSteps }, http, cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync($"Segment agent for '{company}' ({endpoint.Model}). Ask for an audience in words; 'save' saves the last segment; an empty line or 'exit' quits.").ConfigureAwait(false);
        AgentAnswer? last = null;
        while (true)
        {
            await output.WriteAsync("> ").ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            var line = (await input.ReadLineAsync(cancellationToken).ConfigureAwait(false))?.Trim();
            if (string.IsNullOrEmpty(line) || line.Equals("exit", StringComparison.OrdinalIgnoreCase))
            {
                await output.WriteLineAsync().ConfigureAwait(false);
                return CommandLine.Ok;
            }

            if (line.Equals("save", StringComparison.OrdinalIgnoreCase))
            {
                await output.WriteLineAsync(last?.Definition is null
                    ? "Nothing to save yet: ask for a segment first."
                    : $"Saved as {await agent.SaveAsync(last, cancellationToken).ConfigureAwait(false)}.").ConfigureAwait(false);
                continue;
            }

            var answer = await agent.AskAsync(line, output, cancellationToken).ConfigureAwait(false);
            await output.WriteLineAsync().ConfigureAwait(false);
            if (answer.Definition is not null)
            {
                last = answer;
                await output.WriteAsync(Summary(answer, null)).ConfigureAwait(false);
            }
            else if (answer.Steps > 0)
            {
                await output.WriteLineAsync($"(no segment this time: {answer.Problem})").ConfigureAwait(false);
            }
        }
    }

    /// <summary>The <c>--json</c> object: {question, definition, read_back, count, sample, steps, segment_id?} (and error when there is no definition).</summary>
    internal static string ToJson(AgentAnswer answer, string? segmentId)
    {
        var result = new JsonObject
        {
            ["question"] = answer.Question,
            ["definition"] = answer.Definition is null ? null : JsonNode.Parse(SegmentDefinitionJson.Write(answer.Definition.Definition)),
            ["read_back"] = answer.ReadBack,
            ["count"] = answer.Count,
            ["sample"] = new JsonArray([.. answer.Sample.Select(id => (JsonNode?)JsonValue.Create(id))]),
            ["steps"] = answer.Steps,
        };
        if (segmentId is not null)
        {
            result["segment_id"] = segmentId;
        }

        if (answer.Problem is not null)
        {
            result["error"] = answer.Problem;
        }

        return result.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    /// <summary>The answer as a person reads it, under the model's own words.</summary>
    private static string Summary(AgentAnswer answer, string? segmentId)
    {
        if (answer.Definition is null)
        {
            return string.Empty;
        }

        var text = new StringBuilder();
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"  {answer.ReadBack}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  {answer.Count:N0} {(answer.Count == 1 ? "member" : "members")}{(answer.Sample.Count > 0 ? ", e.g. " + string.Join(", ", answer.Sample) : string.Empty)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  definition: {SegmentDefinitionJson.Write(answer.Definition.Definition)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  {answer.Steps} tool calls, {answer.RepairRounds} repair rounds, {answer.Elapsed.TotalSeconds:F1} s");
        if (segmentId is not null)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  saved as {segmentId}");
        }

        return text.ToString();
    }
}
