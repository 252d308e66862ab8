using System.CommandLine;
using SegmentMcp.Cli;

namespace SegmentMcp.Agent;

/// <summary>
/// Which language model the agent talks to: any OpenAI-compatible chat-completions endpoint with tool calling
/// (OpenAI, Azure OpenAI's v1 API, Ollama, vLLM, LM Studio), by base URL and model name, with an optional key.
/// </summary>
internal sealed record LlmEndpoint(Uri Endpoint, string Model, string? Key)
{
    public const string EndpointVariable = "SEGMENTMCP_LLM_ENDPOINT";
    public const string ModelVariable = "SEGMENTMCP_LLM_MODEL";
    public const string KeyVariable = "SEGMENTMCP_LLM_KEY";

    public static readonly Option<string?> EndpointFlag = Flags.Text(
        "--llm-endpoint", "URL", $"Base URL of an OpenAI-compatible chat-completions API, e.g. http://localhost:11434/v1 (env {EndpointVariable}).", value => CheckUrl(value) is { } problem ? $"--llm-endpoint: {problem}" : null);

    public static readonly Option<string?> ModelFlag = Flags.Text(
        "--llm-model", "NAME", $"The model to use, e.g. gpt-4o-mini or qwen2.5:7b (env {ModelVariable}).");

    /// <summary>The model flags, declared once for every verb that talks to a model. The key is read from the environment only, so it never shows in a process list.</summary>
    public static IReadOnlyList<Option> Options { get; } = [EndpointFlag, ModelFlag];

    /// <summary>The endpoint from the flags, else the environment; a usage error saying exactly what to set when either part is missing.</summary>
    public static LlmEndpoint FromArguments(ParseResult args)
    {
        var endpoint = args.GetValue(EndpointFlag) ?? NullIfEmpty(Environment.GetEnvironmentVariable(EndpointVariable));
        var model = args.GetValue(ModelFlag) ?? NullIfEmpty(Environment.GetEnvironmentVariable(ModelVariable));
        var missing = new List<string>();
        if (endpoint is null)
        {
            missing.Add($"{EndpointVariable} (or --llm-endpoint)");
        }

        if (model is null)
        {
            missing.Add($"{ModelVariable} (or --llm-model)");
        }

        if (missing.Count > 0)
        {
            throw new UsageException(
                $"no language model configured: set {string.Join(" and ", missing)}. "
                + $"{EndpointVariable} is the base URL of an OpenAI-compatible chat-completions API with tool calling, "
                + $"e.g. http://localhost:11434/v1 for Ollama or https://api.openai.com/v1 for OpenAI; {ModelVariable} the model, e.g. qwen2.5:7b or gpt-4o-mini; "
                + $"{KeyVariable} the API key when the endpoint needs one");
        }

        if (CheckUrl(endpoint!) is { } problem)
        {
            throw new UsageException($"{EndpointVariable}: {problem}");
        }

        return new LlmEndpoint(new Uri(endpoint!), model!, NullIfEmpty(Environment.GetEnvironmentVariable(KeyVariable)));
    }

    private static string? CheckUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? null
            : $"'{value}' is not an http(s) URL such as http://localhost:11434/v1";

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
