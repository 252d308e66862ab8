using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace SegmentMcp.Tests.Agent;

/// <summary>What the scripted model says in one response: tool calls (by tool name suffix, arguments as JSON text) or text.</summary>
public sealed record FakeTurn(string? Text, IReadOnlyList<(string Tool, string Arguments)> Calls)
{
    public static FakeTurn Say(string text) => new(text, []);

    public static FakeTurn Call(string tool, object arguments) => new(null, [(tool, arguments as string ?? JsonSerializer.Serialize(arguments))]);
}

/// <summary>
/// A scripted stand-in for an OpenAI-compatible chat-completions API: a real HTTP server on loopback speaking the
/// wire format (<c>POST /v1/chat/completions</c>; with <c>"stream": true</c> server-sent events of
/// <c>chat.completion.chunk</c> deltas, tool calls split across chunks, a usage chunk and <c>data: [DONE]</c>;
/// otherwise one <c>chat.completion</c>). <c>script</c> decides each response from the request; every request is kept.
/// </summary>
public sealed class FakeChatCompletions : IAsyncDisposable
{
    public const int PromptTokens = 100;
    public const int CompletionTokens = 20;

    private readonly WebApplication app;
    private readonly Func<JsonObject, int, FakeTurn> script;
    private readonly List<JsonObject> requests = [];
    private readonly Lock gate = new();

    private FakeChatCompletions(WebApplication app, Func<JsonObject, int, FakeTurn> script)
    {
        this.app = app;
        this.script = script;
    }

    /// <summary>The base URL a client is configured with (<c>http://127.0.0.1:PORT/v1</c>).</summary>
    public Uri BaseUrl { get; private set; } = null!;

    public IReadOnlyList<JsonObject> Requests
    {
        get
        {
            lock (gate)
            {
                return [.. requests];
            }
        }
    }

    public static async Task<FakeChatCompletions> StartAsync(Func<JsonObject, int, FakeTurn> script)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeChatCompletions(app, script);
        app.MapPost("/v1/chat/completions", fake.HandleAsync);
        await app.StartAsync();
        fake.BaseUrl = new Uri(app.Urls.Single().TrimEnd('/') + "/v1");
        return fake;
    }

    /// <summary>The name the client gave the tool whose name ends with <paramref name="suffix"/>.</summary>
    public static string ToolName(JsonObject request, string suffix) =>
        request["tools"]!.AsArray().Select(t => t!["function"]!["name"]!.GetValue<string>()).Single(n => n.EndsWith(suffix, StringComparison.Ordinal));

    /// <summary>The text of the request's messages of one role, in order.</summary>
    public static IEnumerable<string> Messages(JsonObject request, string role) =>
        request["messages"]!.AsArray().Where(m => m!["role"]!.GetValue<string>() == role).Select(m => Content(m!["content"]));

    private static string Content(JsonNode? content) => content switch
    {
        null => string.Empty,
        JsonValue value => value.GetValue<string>(),
        JsonArray parts => string.Concat(parts.Select(p => p?["text"]?.GetValue<string>() ?? string.Empty)),
        _ => content.ToJsonString(),
    };

    private async Task HandleAsync(HttpContext context)
    {
        var request = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        int index;
        lock (gate)
        {
            index = requests.Count;
            requests.Add(request);
        }

        var turn = script(request, index);
        var calls = turn.Calls.Select((c, i) => (Id: $"call_{index}_{i}", Name: ToolName(request, c.Tool), c.Arguments)).ToList();
        var model = request["model"]?.GetValue<string>() ?? "fake";
        var id = $"chatcmpl-{index}";
        if (request["stream"]?.GetValue<bool>() != true)
        {
            var message = new JsonObject { ["role"] = "assistant", ["content"] = turn.Text };
            if (calls.Count > 0)
            {
                message["tool_calls"] = new JsonArray([.. calls.Select(c => (JsonNode?)ToolCall(c.Id, c.Name, c.Arguments))]);
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(new JsonObject
            {
                ["id"] = id,
                ["object"] = "chat.completion",
                ["created"] = 1_700_000_000,
                ["model"] = model,
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = calls.Count > 0 ? "tool_calls" : "stop" }),
                ["usage"] = Usage(),
            }.ToJsonString());
            return;
        }

        context.Response.ContentType = "text/event-stream";
        async Task Send(JsonObject delta, string? finish, JsonObject? usage = null)
        {
            var chunk = new JsonObject
            {
                ["id"] = id,
                ["object"] = "chat.completion.chunk",
                ["created"] = 1_700_000_000,
                ["model"] = model,
                ["choices"] = usage is null ? new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }) : new JsonArray(),
            };
            if (usage is not null)
            {
                chunk["usage"] = usage;
            }

            await context.Response.WriteAsync("data: " + chunk.ToJsonString() + "\n\n");
            await context.Response.Body.FlushAsync();
        }

        await Send(new JsonObject { ["role"] = "assistant", ["content"] = string.Empty }, null);
        if (turn.Text is { } text)
        {
            // A few words per chunk, as a model streams.
            foreach (var piece in Pieces(text, 12))
            {
                await Send(new JsonObject { ["content"] = piece }, null);
            }
        }

        for (var i = 0; i < calls.Count; i++)
        {
            var (callId, name, arguments) = calls[i];
            await Send(new JsonObject { ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = i, ["id"] = callId, ["type"] = "function", ["function"] = new JsonObject { ["name"] = name, ["arguments"] = string.Empty } }) }, null);
            foreach (var piece in Pieces(arguments, Math.Max(1, (arguments.Length / 3) + 1)))
            {
                await Send(new JsonObject { ["tool_calls"] = new JsonArray(new JsonObject { ["index"] = i, ["function"] = new JsonObject { ["arguments"] = piece } }) }, null);
            }
        }

        await Send(new JsonObject(), calls.Count > 0 ? "tool_calls" : "stop");
        await Send(new JsonObject(), null, Usage());
        await context.Response.WriteAsync("data: [DONE]\n\n");
    }

    private static JsonObject ToolCall(string id, string name, string arguments) =>
        new() { ["id"] = id, ["type"] = "function", ["function"] = new JsonObject { ["name"] = name, ["arguments"] = arguments } };

    private static JsonObject Usage() => new()
    {
        ["prompt_tokens"] = PromptTokens,
        ["completion_tokens"] = CompletionTokens,
        ["total_tokens"] = PromptTokens + CompletionTokens,
    };

    private static IEnumerable<string> Pieces(string text, int size)
    {
        for (var start = 0; start < text.Length; start += size)
        {
            yield return text.Substring(start, Math.Min(size, text.Length - start));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
