using System.ComponentModel;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using static ModelContextProtocol.Protocol.ElicitRequestParams;

namespace SegmentMcp.Mcp.Conformance;

// The suite checks 2025-11-25 sampling and logging, which the 2026-07-28 specification deprecates (SEP-2577).
#pragma warning disable MCP9005

/// <summary>The tools the conformance suite calls, each returning what its scenario checks (see <see cref="ConformanceFixtures"/>).</summary>
[McpServerToolType]
internal sealed class ConformanceTools
{
    [McpServerTool(Name = "test_simple_text", ReadOnly = true)]
    [Description("Conformance fixture: returns one text block.")]
    public static string SimpleText() => "This is a simple text response for testing.";

    [McpServerTool(Name = "test_image_content", ReadOnly = true)]
    [Description("Conformance fixture: returns a PNG image block.")]
    public static ImageContentBlock Image() => ImageContentBlock.FromBytes(ConformanceFixtures.Png, "image/png");

    [McpServerTool(Name = "test_audio_content", ReadOnly = true)]
    [Description("Conformance fixture: returns a WAV audio block.")]
    public static AudioContentBlock Audio() => AudioContentBlock.FromBytes(ConformanceFixtures.Wav, "audio/wav");

    [McpServerTool(Name = "test_embedded_resource", ReadOnly = true)]
    [Description("Conformance fixture: returns an embedded text resource.")]
    public static EmbeddedResourceBlock EmbeddedResource() => new()
    {
        Resource = new TextResourceContents { Uri = "test://embedded-resource", MimeType = "text/plain", Text = "This is an embedded resource content." },
    };

    [McpServerTool(Name = "test_multiple_content_types", ReadOnly = true)]
    [Description("Conformance fixture: returns text, image and embedded resource blocks.")]
    public static IEnumerable<ContentBlock> MultipleContentTypes() =>
    [
        new TextContentBlock { Text = "Multiple content types test:" },
        ImageContentBlock.FromBytes(ConformanceFixtures.Png, "image/png"),
        new EmbeddedResourceBlock
        {
            Resource = new TextResourceContents { Uri = "test://mixed-content-resource", MimeType = "application/json", Text = """{"test":"data","value":123}""" },
        },
    ];

    [McpServerTool(Name = "test_error_handling", ReadOnly = true)]
    [Description("Conformance fixture: always returns a tool error.")]
    public static CallToolResult ErrorHandling() => SegmentMcpServer.Error("This tool intentionally returns an error for testing");

    [McpServerTool(Name = "test_tool_with_logging", ReadOnly = true)]
    [Description("Conformance fixture: sends three info log notifications about 50 ms apart.")]
    public static async Task<string> WithLogging(McpServer server, CancellationToken cancellationToken)
    {
        await LogAsync(server, "Tool execution started", cancellationToken).ConfigureAwait(false);
        await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        await LogAsync(server, "Tool processing data", cancellationToken).ConfigureAwait(false);
        await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        await LogAsync(server, "Tool execution completed", cancellationToken).ConfigureAwait(false);
        return "Tool with logging executed successfully.";
    }

    [McpServerTool(Name = "test_tool_with_progress", ReadOnly = true)]
    [Description("Conformance fixture: reports progress 0, 50 and 100 of 100 about 50 ms apart.")]
    public static async Task<string> WithProgress(McpServer server, RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken)
    {
        var token = context.Params?.ProgressToken;
        foreach (var done in new[] { 0, 50, 100 })
        {
            if (done > 0)
            {
                await Task.Delay(50, cancellationToken).ConfigureAwait(false);
            }

            // Awaited, not IProgress.Report: a notification sent after the result would miss the request's stream.
            if (token is { } progressToken)
            {
                await server.NotifyProgressAsync(progressToken, new ProgressNotificationValue { Progress = done, Total = 100 }, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }

        return token is null ? "Done (no progress token was sent)." : "Done.";
    }

    [McpServerTool(Name = "test_sampling")]
    [Description("Conformance fixture: asks the client's model (sampling/createMessage) and returns its answer.")]
    public static async Task<CallToolResult> Sampling(McpServer server, [Description("The prompt to send to the model.")] string prompt, CancellationToken cancellationToken)
    {
        if (server.ClientCapabilities?.Sampling is null)
        {
            return SegmentMcpServer.Error("The client does not support sampling.");
        }

        var result = await server.SampleAsync(
            new CreateMessageRequestParams { Messages = [new SamplingMessage { Role = Role.User, Content = [new TextContentBlock { Text = prompt }] }], MaxTokens = 100 },
            cancellationToken).ConfigureAwait(false);
        return Text($"LLM response: {result.Content.OfType<TextContentBlock>().FirstOrDefault()?.Text ?? "(no text)"}");
    }

    [McpServerTool(Name = "test_elicitation")]
    [Description("Conformance fixture: asks the user (elicitation/create) for a username and email.")]
    public static Task<CallToolResult> Elicitation(McpServer server, [Description("The message to show the user.")] string message, CancellationToken cancellationToken) =>
        ElicitAsync(
            server,
            message,
            new RequestSchema
            {
                Properties =
                {
                    ["username"] = new StringSchema { Description = "User's response" },
                    ["email"] = new StringSchema { Description = "User's email address" },
                },
                Required = ["username", "email"],
            },
            "User response",
            cancellationToken);

    [McpServerTool(Name = "test_elicitation_sep1034_defaults")]
    [Description("Conformance fixture: elicitation whose string, integer, number, enum and boolean fields carry defaults (SEP-1034).")]
    public static Task<CallToolResult> ElicitationDefaults(McpServer server, CancellationToken cancellationToken) =>
        ElicitAsync(
            server,
            "Please confirm or change these values.",
            new RequestSchema
            {
                Properties =
                {
                    ["name"] = new StringSchema { Description = "User name", Default = "John Doe" },
                    ["age"] = new NumberSchema { Type = "integer", Description = "User age", Default = 30 },
                    ["score"] = new NumberSchema { Description = "User score", Default = 95.5 },
                    ["status"] = new UntitledSingleSelectEnumSchema { Description = "User status", Enum = ["active", "inactive", "pending"], Default = "active" },
                    ["verified"] = new BooleanSchema { Description = "Verification status", Default = true },
                },
            },
            "Elicitation completed",
            cancellationToken);

    [McpServerTool(Name = "test_elicitation_sep1330_enums")]
    [Description("Conformance fixture: elicitation with the five enum forms of SEP-1330.")]
    public static Task<CallToolResult> ElicitationEnums(McpServer server, CancellationToken cancellationToken) =>
        ElicitAsync(
            server,
            "Please choose.",
            new RequestSchema
            {
                Properties =
                {
                    ["untitledSingle"] = new UntitledSingleSelectEnumSchema { Description = "Pick one", Enum = ["option1", "option2", "option3"] },
                    ["titledSingle"] = new TitledSingleSelectEnumSchema
                    {
                        Description = "Pick one",
                        OneOf = [new() { Const = "value1", Title = "First Option" }, new() { Const = "value2", Title = "Second Option" }, new() { Const = "value3", Title = "Third Option" }],
                    },
#pragma warning disable MCP9001 // The deprecated enumNames form is one of the five the scenario asks for.
                    ["legacyEnum"] = new LegacyTitledEnumSchema { Description = "Pick one", Enum = ["opt1", "opt2", "opt3"], EnumNames = ["Option One", "Option Two", "Option Three"] },
#pragma warning restore MCP9001
                    ["untitledMulti"] = new UntitledMultiSelectEnumSchema { Description = "Pick any", Items = new UntitledEnumItemsSchema { Enum = ["option1", "option2", "option3"] } },
                    ["titledMulti"] = new TitledMultiSelectEnumSchema
                    {
                        Description = "Pick any",
                        Items = new TitledEnumItemsSchema
                        {
                            AnyOf = [new() { Const = "value1", Title = "First Choice" }, new() { Const = "value2", Title = "Second Choice" }, new() { Const = "value3", Title = "Third Choice" }],
                        },
                    },
                },
            },
            "Elicitation completed",
            cancellationToken);

    /// <summary><c>json_schema_2020_12_tool</c>: its input schema uses <c>$schema</c>, <c>$defs</c> and <c>$ref</c>, which the listing must keep (SEP-1613).</summary>
    public static McpServerTool JsonSchema202012Tool()
    {
        var tool = McpServerTool.Create(
            () => "JSON Schema 2020-12 tool executed.",
            new McpServerToolCreateOptions { Name = "json_schema_2020_12_tool", Description = "Conformance fixture: a tool whose input schema uses JSON Schema 2020-12 keywords.", ReadOnly = true });
        tool.ProtocolTool.InputSchema = JsonElement.Parse("""
            {
              "$schema": "https://json-schema.org/draft/2020-12/schema",
              "type": "object",
              "$defs": { "address": { "type": "object", "properties": { "street": { "type": "string" }, "city": { "type": "string" } } } },
              "properties": { "name": { "type": "string" }, "address": { "$ref": "#/$defs/address" } },
              "additionalProperties": false
            }
            """);
        return tool;
    }

    private static async Task<CallToolResult> ElicitAsync(McpServer server, string message, RequestSchema schema, string label, CancellationToken cancellationToken)
    {
        if (server.ClientCapabilities?.Elicitation is null)
        {
            return SegmentMcpServer.Error("The client does not support elicitation.");
        }

        var result = await server.ElicitAsync(new ElicitRequestParams { Message = message, RequestedSchema = schema }, cancellationToken).ConfigureAwait(false);
        var content = result.Content is null ? "{}" : "{" + string.Join(", ", result.Content.Select(c => $"\"{c.Key}\": {c.Value.GetRawText()}")) + "}";
        return Text($"{label}: action={result.Action}, content={content}");
    }

    /// <summary>An info log notification, unless the client asked (logging/setLevel) for a higher level only.</summary>
    private static async Task LogAsync(McpServer server, string message, CancellationToken cancellationToken)
    {
        if (server.LoggingLevel is { } level && level > LoggingLevel.Info)
        {
            return;
        }

        await server.SendNotificationAsync(
            NotificationMethods.LoggingMessageNotification,
            new LoggingMessageNotificationParams { Level = LoggingLevel.Info, Logger = "conformance", Data = JsonSerializer.SerializeToElement(message, McpJsonUtilities.DefaultOptions) },
            cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static CallToolResult Text(string text) => new() { Content = [new TextContentBlock { Text = text }] };
}
