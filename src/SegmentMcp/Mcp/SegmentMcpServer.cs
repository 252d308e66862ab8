using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Export;
using SegmentMcp.Mcp.Tools;

namespace SegmentMcp.Mcp;

/// <summary>Everything the MCP server serves, registered the same way for stdio, HTTP and the in-process tests.</summary>
internal static class SegmentMcpServer
{
    public const string Instructions = """
        SegmentMcp builds audience segments over this workspace's profiles and events. Start with describe_schema for
        real metric, property and value names; draft definitions in the segment language (resource
        segmentmcp://dsl/schema) and try them with preview_segment; show the person the read_back and create_segment
        only after they confirm. To change a saved segment, preview the new definition with compare_to set to it, so
        the person sees who would enter and exit before update_segment. To say who is in a segment, use
        segment_breakdown (their properties, what they bought, their spend as an event's $value) rather than paging
        members; check_membership explains one person, condition by condition. Errors list every problem with its JSON
        path and the closest existing names.
        """;

    /// <summary>The classes whose [McpServerTool] methods are the product's tools.</summary>
    private static readonly Type[] ToolTypes =
    [
        typeof(SchemaTools), typeof(SegmentTools), typeof(PreviewTools), typeof(MembershipTools),
        typeof(HistoryTools), typeof(ListTools), typeof(RefreshTools), typeof(ProfileTools),
    ];

    /// <summary>Tools for a server on the user's own machine (stdio): they touch its files.</summary>
    private static readonly Type[] LocalToolTypes = [typeof(ExportTools), typeof(ImportTools)];

    /// <summary>The product's tool names: only their schemas are rewritten, never another registration's (the conformance fixtures).</summary>
    private static readonly IReadOnlySet<string> ToolNames = ToolSchemas.NamesOf([.. ToolTypes, .. LocalToolTypes]);

    /// <summary>The product's services (<see cref="SegmentServices"/>) plus what only the MCP server needs: its prompts.</summary>
    public static IServiceCollection AddSegmentMcpServices(this IServiceCollection services, IClickHouseEngine engine, StorageSchema schema, string? promptsDirectory = null)
    {
        services.AddSegmentServices(engine, schema);
        services.TryAddSingleton(_ => new SegmentPrompts(promptsDirectory ?? SegmentPrompts.DefaultDirectory));
        services.TryAddSingleton<MemberProfiles>();
        services.TryAddSingleton<SegmentSubscriptions>();

        // Every tick, whoever runs it (the background service, refresh_segments, a save), reaches the subscribers.
        var evaluator = services.Last(d => d.ServiceType == typeof(ISegmentEvaluator));
        services.Remove(evaluator);
        services.AddSingleton<ISegmentEvaluator>(sp => new NotifyingEvaluator(
            evaluator.ImplementationInstance as ISegmentEvaluator ?? (ISegmentEvaluator)evaluator.ImplementationFactory!(sp),
            sp.GetRequiredService<SegmentSubscriptions>(),
            sp.GetService<WebhookSignal>()));
        return services;
    }

    /// <summary>
    /// Updates about saved segments (<see cref="SegmentSubscriptions"/>) for a server with one client at a time (stdio,
    /// in-process pipes), whose session is a stream notifications can go out on: <c>resources/subscribe</c> and the
    /// resource list's changes for revisions up to 2025-11-25, <c>subscriptions/listen</c> for 2026-07-28.
    /// </summary>
    public static IMcpServerBuilder WithSegmentSubscriptions(this IMcpServerBuilder builder)
    {
        builder.Services.Replace(ServiceDescriptor.Singleton(sp => ActivatorUtilities.CreateInstance<SegmentSubscriptions>(sp, true)));
        return builder
            .WithSubscribeToResourcesHandler((request, cancellationToken) => request.Services!.GetRequiredService<SegmentSubscriptions>().SubscribeAsync(request, cancellationToken))
            .WithUnsubscribeFromResourcesHandler((request, cancellationToken) => request.Services!.GetRequiredService<SegmentSubscriptions>().UnsubscribeAsync(request, cancellationToken))
            .WithSegmentListen();
    }

    /// <summary>
    /// The tools that write and read the user's files (<see cref="ExportTools"/>, <see cref="ImportTools"/>), for a server on the user's own machine: stdio, whose
    /// client started it. The HTTP server, shared by tenants over the network, does not offer them.
    /// </summary>
    public static IMcpServerBuilder WithLocalFileTools(this IMcpServerBuilder builder) =>
        builder.WithTools((IEnumerable<Type>)LocalToolTypes, McpJson.Options);

    /// <summary>
    /// <c>subscriptions/listen</c> (2026-07-28) for saved segments: the stateless HTTP server holds no session to push
    /// on, but a listen request's own response stream carries the updates until the client ends it.
    /// </summary>
    public static IMcpServerBuilder WithSegmentListen(this IMcpServerBuilder builder)
    {
        // A custom listen handler advertises nothing by itself; clients keep resourceSubscriptions only where
        // resources.subscribe is advertised.
        builder.Services.Configure<McpServerOptions>(options =>
        {
            options.Capabilities ??= new ServerCapabilities();
            options.Capabilities.Resources ??= new ResourcesCapability();
            options.Capabilities.Resources.Subscribe = true;
        });
        return builder.WithSubscriptionsListenHandler((request, cancellationToken) => request.Services!.GetRequiredService<SegmentSubscriptions>().ListenAsync(request, cancellationToken));
    }

    /// <summary>
    /// For the stateless HTTP server: a client that initializes (revisions up to 2025-11-25) has no stream its updates
    /// could go out on, so its initialize result does not offer <c>resources/subscribe</c>; 2026-07-28 clients, which
    /// subscribe with <c>subscriptions/listen</c>, still see <c>resources.subscribe</c> in <c>server/discover</c>.
    /// </summary>
    public static IMcpServerBuilder WithoutSessionSubscriptions(this IMcpServerBuilder builder) => builder
        .WithMessageFilters(filters => filters.AddOutgoingFilter(next => (context, cancellationToken) =>
        {
            if (context.JsonRpcMessage is JsonRpcResponse { Result: JsonObject result } && result.ContainsKey("protocolVersion") && result["capabilities"]?["resources"] is JsonObject resources)
            {
                resources.Remove("subscribe");
            }

            return next(context, cancellationToken);
        }))
        .WithSubscribeToResourcesHandler((_, _) => throw new McpProtocolException(
            $"resources/subscribe needs a session to send updates on, and this HTTP server keeps none: subscribe with subscriptions/listen (protocol {SegmentSubscriptions.ListenRevision}), whose own response stream carries the updates, or serve over stdio.",
            McpErrorCode.MethodNotFound));

    /// <summary>Adds the tools, resources, prompts, completions and the error boundary to an MCP server.</summary>
    public static IMcpServerBuilder WithSegmentMcp(this IMcpServerBuilder builder)
    {
        builder.Services.Configure<McpServerOptions>(options =>
        {
            options.ServerInfo = new Implementation { Name = "segmentmcp", Title = "SegmentMcp", Version = typeof(SegmentMcpServer).Assembly.GetName().Version?.ToString() ?? "1.0.0" };
            options.ServerInstructions = Instructions;
        });
        builder.Services.PostConfigure<McpServerOptions>(options =>
        {
            ToolSchemas.UseSingleTypes(options.ToolCollection ?? [], ToolNames);
            ToolSchemas.DescribeRawArguments(options.ToolCollection ?? []);
        });
        return builder
            // As IEnumerable<Type>: an array would bind to the overload that serves a target object's methods.
            .WithTools((IEnumerable<Type>)ToolTypes, McpJson.Options)
            .WithResources<SegmentResources>()
            .WithListResourcesHandler((request, cancellationToken) => SegmentResources.ListSavedAsync(request, cancellationToken))
            .WithListPromptsHandler((request, _) => ValueTask.FromResult(Prompts(request.Services).List()))
            .WithGetPromptHandler(async (request, cancellationToken) =>
            {
                var services = request.Services!;
                var arguments = (request.Params?.Arguments ?? new Dictionary<string, System.Text.Json.JsonElement>())
                    .ToDictionary(a => a.Key, a => a.Value.ValueKind == System.Text.Json.JsonValueKind.String ? a.Value.GetString() : a.Value.GetRawText(), StringComparer.Ordinal);
                return await Prompts(services).GetAsync(
                    request.Params?.Name ?? string.Empty,
                    arguments,
                    services.GetRequiredService<ITenantAccessor>().Tenant,
                    services.GetRequiredService<ISegmentStore>(),
                    services.GetRequiredService<DefinitionService>(),
                    cancellationToken).ConfigureAwait(false);
            })
            .WithCompleteHandler((request, cancellationToken) => Completions.CompleteAsync(request, cancellationToken))
            .WithMessageFilters(filters => filters.AddIncomingFilter(next => (context, cancellationToken) =>
            {
                if (context.JsonRpcMessage is JsonRpcRequest { Method: RequestMethods.ToolsCall, Params: JsonObject call }
                    && call["arguments"] is JsonObject arguments
                    && ArgumentGuard.ScrubInvalidText(arguments) is { } invalid)
                {
                    context.Items[InvalidArgumentsKey] = invalid;
                }

                return next(context, cancellationToken);
            }))
            .WithRequestFilters(filters => filters
                .AddReadResourceFilter(EngineErrorsAsMessages)
                .AddGetPromptFilter(EngineErrorsAsMessages)
                .AddCompleteFilter(EngineErrorsAsMessages))
            .WithRequestFilters(filters => filters.AddCallToolFilter(next => async (request, cancellationToken) =>
            {
                if (request.Items.TryGetValue(InvalidArgumentsKey, out var invalid) && invalid is string invalidText)
                {
                    return Error(invalidText);
                }

                // Arguments are checked before the tool (and its binder) sees them: named errors, and nothing
                // oversized reaches a query, a did-you-mean or an echo.
                if (request.MatchedPrimitive is McpServerTool tool && ArgumentGuard.Check(tool, request.Params?.Arguments) is { } problem)
                {
                    return Error(problem);
                }

                try
                {
                    return await next(request, cancellationToken).ConfigureAwait(false);
                }
                catch (McpException exception) when (exception is not McpProtocolException)
                {
                    // The tool's own words for the model, without the SDK's "An error occurred invoking" wrapper.
                    return Error(exception.Message);
                }
                catch (DefinitionException exception)
                {
                    return Error(exception.Message);
                }
                catch (ClickHouseException exception)
                {
                    return Error(EngineMessage(exception));
                }
                catch (TickFailedException exception)
                {
                    return Error($"Evaluation failed for {string.Join(", ", exception.Failures.Keys.Select(k => $"'{k}'"))}; the change is saved and the next refresh_segments or background tick retries.");
                }
            }));
    }

    /// <summary>What a model may read about an engine failure: the kind of failure and what to do, never the SQL.</summary>
    internal static string EngineMessage(ClickHouseException exception) => exception.Code switch
    {
        _ when exception.IsUnavailable => $"The segment database is not available: {exception.Message} Tell the user what to fix; once it is fixed the next call works, no restart needed.",
        ClickHouseException.TimeoutExceeded => "The query took longer than the server's time limit and was stopped. Narrow the definition (shorter windows, fewer metrics) or ask for a count instead of members.",
        ClickHouseException.MemoryLimitExceeded => "The query needed more memory than the server allows and was stopped. Narrow the definition or page with a smaller limit.",
        ClickHouseException.QueryWasCancelled => "The query was cancelled.",
        _ => $"The database could not run this request (ClickHouse error {exception.Code} {exception.ErrorName}). Try again; if it persists, report it.",
    };

    /// <summary>
    /// Resources, prompts and completions read data too: an engine failure there is the same message a tool gets (an
    /// unavailable engine says what to fix), where the SDK would answer only "An error occurred".
    /// </summary>
    private static McpRequestHandler<TParams, TResult> EngineErrorsAsMessages<TParams, TResult>(McpRequestHandler<TParams, TResult> next) =>
        async (request, cancellationToken) =>
        {
            try
            {
                return await next(request, cancellationToken).ConfigureAwait(false);
            }
            catch (ClickHouseException exception)
            {
                throw new McpException(EngineMessage(exception), exception);
            }
        };

    /// <summary>Where the incoming message filter leaves a problem found in the raw arguments for the tool filter.</summary>
    private const string InvalidArgumentsKey = "segmentmcp.invalid-arguments";

    internal static CallToolResult Error(string message) => new() { IsError = true, Content = [new TextContentBlock { Text = message }] };

    private static SegmentPrompts Prompts(IServiceProvider? services) => services!.GetRequiredService<SegmentPrompts>();
}
