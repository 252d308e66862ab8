using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Export;

namespace SegmentMcp.Mcp;

/// <summary>
/// Updates about saved segments (<c>segmentmcp://segments/{id}</c>), so an agent can wait for "someone joined my VIP
/// segment" instead of polling. After an evaluation in which members entered or left a watched segment, or which
/// evaluated a new version of it, and when it is deleted, the client gets <c>notifications/resources/updated</c> with
/// its URI; a tick that changed nothing sends nothing. When segments are created, changed or deleted through this
/// server, <c>notifications/resources/list_changed</c> says that <c>resources/list</c> changed.
/// Two protocols ask for them:
/// <list type="bullet">
/// <item><description><c>resources/subscribe</c> (revisions up to 2025-11-25) on a server with one client at a time
/// (stdio), whose session is the stream the updates go out on;</description></item>
/// <item><description><c>subscriptions/listen</c> (2026-07-28), on stdio and on the stateless HTTP server alike: the
/// listen request's own response stream carries the updates, each tagged with its id, until the client cancels it.</description></item>
/// </list>
/// Every watch keeps the tenant it was made for: an evaluation of all tenants tells each client only of its own.
/// </summary>
internal sealed class SegmentSubscriptions(ITenantAccessor tenant, ILogger<SegmentSubscriptions> logger, bool sessionNotifications = false)
{
    public const string UriPrefix = "segmentmcp://segments/";

    /// <summary>More segments than one listen request may name; a workspace lists its segments 200 a page.</summary>
    public const int MaxSegmentsPerListen = 1000;

    /// <summary>
    /// Notifications a listen stream may have waiting to be sent. Publishing only queues them, so a client that stops
    /// reading never holds up an evaluation; one this far behind is told so and its subscription ends.
    /// </summary>
    public const int MaxPendingPerListener = 1000;

    /// <summary>Open listen streams a workspace may hold: each is an open request, and one key should not hold unboundedly many.</summary>
    public const int MaxListenersPerTenant = 100;

    /// <summary>The protocol revision that replaced <c>resources/subscribe</c> by <c>subscriptions/listen</c>.</summary>
    public const string ListenRevision = "2026-07-28";

    private readonly ConcurrentDictionary<(string Tenant, string Uri), McpServer> sessions = new();
    private readonly ConcurrentDictionary<Listener, byte> listeners = new();

    public static string UriOf(string segmentId) => UriPrefix + Uri.EscapeDataString(segmentId);

    public async ValueTask<EmptyResult> SubscribeAsync(RequestContext<SubscribeRequestParams> request, CancellationToken cancellationToken)
    {
        var company = tenant.Tenant;
        var uri = await ExistingSegmentUriAsync(request.Services!, company, request.Params?.Uri, "uri", cancellationToken).ConfigureAwait(false);
        sessions[(company, uri)] = request.Server;
        return new EmptyResult();
    }

    public ValueTask<EmptyResult> UnsubscribeAsync(RequestContext<UnsubscribeRequestParams> request, CancellationToken cancellationToken)
    {
        sessions.TryRemove((tenant.Tenant, SegmentUri(request.Params?.Uri, "uri")), out _);
        return ValueTask.FromResult(new EmptyResult());
    }

    /// <summary>
    /// <c>subscriptions/listen</c>: checks the segments asked for, acknowledges what this server will send (the
    /// segments' updates, the resource list's changes; tool and prompt lists never change), then holds the stream
    /// open until the client cancels the request, or answers it when the server stops.
    /// </summary>
    public async ValueTask<EmptyResult> ListenAsync(RequestContext<SubscriptionsListenRequestParams> request, CancellationToken cancellationToken)
    {
        var company = tenant.Tenant;
        var requested = request.Params?.Notifications ?? new SubscriptionsListenNotifications();
        var asked = requested.ResourceSubscriptions ?? [];
        if (asked.Count > MaxSegmentsPerListen)
        {
            throw new McpProtocolException($"notifications.resourceSubscriptions: {asked.Count} URIs; one subscriptions/listen takes at most {MaxSegmentsPerListen}.", McpErrorCode.InvalidParams);
        }

        var uris = new List<string>();
        for (var i = 0; i < asked.Count; i++)
        {
            var uri = await ExistingSegmentUriAsync(request.Services!, company, asked[i], $"notifications.resourceSubscriptions[{i}]", cancellationToken).ConfigureAwait(false);
            if (!uris.Contains(uri, StringComparer.Ordinal))
            {
                uris.Add(uri);
            }
        }

        var granted = new SubscriptionsListenNotifications
        {
            ResourceSubscriptions = uris.Count > 0 ? uris : null,
            ResourcesListChanged = requested.ResourcesListChanged == true ? true : null,
        };
        var listener = new Listener(company, request.JsonRpcRequest.Id, new HashSet<string>(uris, StringComparer.Ordinal), granted.ResourcesListChanged == true);

        // A stopping server ends its streams with a response; held open, they would hold up its shutdown (Kestrel waits
        // 30 s for open requests).
        var stopping = request.Services?.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        using var ends = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stopping);

        // The acknowledgement is queued first, before anything can be published to the stream.
        var acknowledgement = JsonSerializer.SerializeToNode(new SubscriptionsAcknowledgedNotificationParams { Notifications = granted }, McpJsonUtilities.DefaultOptions)!.AsObject();
        listener.Offer(NotificationMethods.SubscriptionsAcknowledgedNotification, acknowledgement);
        lock (listeners)
        {
            if (listeners.Keys.Count(l => l.Tenant == company) >= MaxListenersPerTenant)
            {
                throw new McpProtocolException($"This workspace already has {MaxListenersPerTenant} open subscriptions/listen requests, the most it may hold: cancel one, or name several segments in one request's resourceSubscriptions.", McpErrorCode.InvalidRequest);
            }

            listeners[listener] = 0;
        }

        try
        {
            // This request sends its own stream's notifications, one at a time and in order, until it ends.
            await foreach (var (method, parameters) in listener.Pending.ReadAllAsync(ends.Token).ConfigureAwait(false))
            {
                await request.Server.SendMessageAsync(new JsonRpcNotification { Method = method, Params = parameters }, ends.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ends.IsCancellationRequested)
        {
            // The client cancelled the request or went away, or the server is stopping: that is how a subscription ends.
            return new EmptyResult();
        }
        finally
        {
            listeners.TryRemove(listener, out _);
        }

        // The queue was closed: the client fell too far behind.
        logger.LogWarning("Subscription {Id} of {Tenant} ended: its client fell {Pending} notifications behind", listener.Id, company, MaxPendingPerListener);
        throw new McpProtocolException(
            $"This subscription fell more than {MaxPendingPerListener} notifications behind and was ended. Listen again, and catch up with membership_changes since the last update you saw.",
            McpErrorCode.InternalError);
    }

    /// <summary>The <c>_meta</c> key of an update that says what changed, so a watcher need not read the segment to know.</summary>
    public const string ChangeMetaKey = "segmentmcp/change";

    /// <summary>Tells the watchers of the segments whose members or definition this tick changed, and of those it purged.</summary>
    public async Task PublishAsync(TickReport report, CancellationToken cancellationToken)
    {
        if (sessions.IsEmpty && listeners.IsEmpty)
        {
            return;
        }

        foreach (var segment in report.Segments.Where(s => s.Entered + s.Exited > 0 || s.NewVersion))
        {
            await NotifyAsync(segment.Tenant, segment.SegmentId, () => new JsonObject
            {
                // Written as the tools write times, so it equals their evaluated_at character for character.
                ["evaluated_at"] = DateTime.SpecifyKind(report.EvaluatedAt, DateTimeKind.Utc),
                ["version"] = segment.Version,
                ["new_version"] = segment.NewVersion,
                ["size"] = segment.Size,
                ["entered"] = segment.Entered,
                ["exited"] = segment.Exited,
            }, cancellationToken).ConfigureAwait(false);
        }

        foreach (var purged in report.Purged.Select(p => p.Split('/', 2)).Where(p => p.Length == 2))
        {
            await SegmentDeletedAsync(purged[0], purged[1], cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Tells the watchers of a deleted segment of <paramref name="company"/>.</summary>
    public Task SegmentDeletedAsync(string company, string segmentId, CancellationToken cancellationToken) =>
        NotifyAsync(company, segmentId, () => new JsonObject { ["deleted"] = true }, cancellationToken);

    private async Task NotifyAsync(string company, string segmentId, Func<JsonObject> change, CancellationToken cancellationToken)
    {
        var uri = UriOf(segmentId);
        if (sessions.TryGetValue((company, uri), out var server))
        {
            try
            {
                await server.SendNotificationAsync(
                    NotificationMethods.ResourceUpdatedNotification,
                    new ResourceUpdatedNotificationParams { Uri = uri, Meta = new JsonObject { [ChangeMetaKey] = change() } },
                    cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // The client went away: its subscriptions go with it; the evaluation is not its concern.
                sessions.TryRemove((company, uri), out _);
                logger.LogDebug(exception, "Could not notify {Uri}; subscription dropped", uri);
            }
        }

        foreach (var listener in listeners.Keys.Where(l => l.Tenant == company && l.Uris.Contains(uri)))
        {
            Offer(listener, NotificationMethods.ResourceUpdatedNotification, new JsonObject { ["uri"] = uri, ["_meta"] = new JsonObject { [ChangeMetaKey] = change() } });
        }
    }

    /// <summary>
    /// Tells <paramref name="company"/>'s clients that <c>resources/list</c> changed (a segment was created, changed or
    /// deleted): the listen streams that asked, and on stdio the session of <paramref name="caller"/> when it speaks a
    /// revision before subscriptions/listen (it was promised <c>listChanged</c> at initialization).
    /// </summary>
    public async Task SegmentListChangedAsync(string company, McpServer? caller, CancellationToken cancellationToken)
    {
        if (sessionNotifications && caller is not null && !IsListenRevision(caller.NegotiatedProtocolVersion))
        {
            try
            {
                await caller.SendNotificationAsync(NotificationMethods.ResourceListChangedNotification, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                logger.LogDebug(exception, "Could not send {Method}", NotificationMethods.ResourceListChangedNotification);
            }
        }

        foreach (var listener in listeners.Keys.Where(l => l.Tenant == company && l.ListChanged))
        {
            Offer(listener, NotificationMethods.ResourceListChangedNotification, []);
        }
    }

    private void Offer(Listener listener, string method, JsonObject parameters)
    {
        if (!listener.Offer(method, parameters))
        {
            // Its queue is full and now closed: the listen request ends with an error, and nothing more is queued.
            listeners.TryRemove(listener, out _);
        }
    }

    private static bool IsListenRevision(string? protocolVersion) =>
        protocolVersion is not null && string.CompareOrdinal(protocolVersion, ListenRevision) >= 0;

    /// <summary>The URI of a saved segment of <paramref name="company"/>, or the resource-not-found error naming <paramref name="where"/>.</summary>
    private static async Task<string> ExistingSegmentUriAsync(IServiceProvider services, string company, string? given, string where, CancellationToken cancellationToken)
    {
        var uri = SegmentUri(given, where);
        var id = Uri.UnescapeDataString(uri[UriPrefix.Length..]);
        var store = services.GetRequiredService<ISegmentStore>();
        if (id.Length > ArgumentGuard.MaxIdLength || await store.GetAsync(company, id, cancellationToken).ConfigureAwait(false) is null)
        {
            var notFound = new McpProtocolException($"Resource not found: no saved segment '{ToolSupport.Echo(id)}' in this workspace ({ToolSupport.Echo(uri)}{(where == "uri" ? string.Empty : ", " + where)}). List them with list_segments.", McpErrorCode.InvalidParams);
            notFound.Data["uri"] = uri;
            throw notFound;
        }

        return uri;
    }

    private static string SegmentUri(string? uri, string where) =>
        string.IsNullOrEmpty(uri)
            ? throw new McpProtocolException($"'{where}' is required.", McpErrorCode.InvalidParams)
            : uri.StartsWith(UriPrefix, StringComparison.Ordinal) && uri.Length > UriPrefix.Length
                ? uri
                : throw new McpProtocolException($"Only saved segments send updates: subscribe to {UriPrefix}{{id}}, not '{ToolSupport.Echo(uri)}'{(where == "uri" ? string.Empty : " (" + where + ")")}.", McpErrorCode.InvalidParams);

    /// <summary>
    /// One <c>subscriptions/listen</c> stream: what it watches, for which tenant, and the notifications waiting for its
    /// request to send them, each tagged with the request's id.
    /// </summary>
    private sealed class Listener(string tenant, RequestId id, IReadOnlySet<string> uris, bool listChanged)
    {
        private readonly Channel<(string Method, JsonObject Params)> pending = Channel.CreateBounded<(string, JsonObject)>(
            new BoundedChannelOptions(MaxPendingPerListener) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

        public string Tenant => tenant;

        public RequestId Id => id;

        public IReadOnlySet<string> Uris => uris;

        public bool ListChanged => listChanged;

        public ChannelReader<(string Method, JsonObject Params)> Pending => pending.Reader;

        /// <summary>Queues a notification; false when the queue is full, which closes it.</summary>
        public bool Offer(string method, JsonObject parameters)
        {
            if (parameters["_meta"] is not JsonObject meta)
            {
                parameters["_meta"] = meta = [];
            }

            meta[MetaKeys.SubscriptionId] = id.Id is long number ? JsonValue.Create(number) : JsonValue.Create(id.Id?.ToString());
            if (pending.Writer.TryWrite((method, parameters)))
            {
                return true;
            }

            pending.Writer.TryComplete();
            return false;
        }
    }
}

/// <summary>
/// The evaluator with every tick's report (a failed tick's too) passed to <see cref="SegmentSubscriptions"/>. It owns
/// the evaluator it wraps: disposing it waits for that one's work after a tick, as the container would have.
/// </summary>
internal sealed class NotifyingEvaluator(ISegmentEvaluator inner, SegmentSubscriptions subscriptions, WebhookSignal? webhook = null) : ISegmentEvaluator, IAsyncDisposable, IDisposable
{
    public ValueTask DisposeAsync() => inner is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;

    public void Dispose() => (inner as IDisposable)?.Dispose();

    public async Task<TickReport> TickAsync(string? tenant, DateTime? asOf, IProgress<TickProgress>? progress, CancellationToken cancellationToken)
    {
        TickReport report;
        try
        {
            report = await inner.TickAsync(tenant, asOf, progress, cancellationToken).ConfigureAwait(false);
        }
        catch (TickFailedException failed)
        {
            await subscriptions.PublishAsync(failed.Report, cancellationToken).ConfigureAwait(false);
            Signal(failed.Report);
            throw;
        }

        await subscriptions.PublishAsync(report, cancellationToken).ConfigureAwait(false);
        Signal(report);
        return report;
    }

    private void Signal(TickReport report)
    {
        if (webhook is not null && report.Segments.Any(s => s.Entered > 0 || s.Exited > 0))
        {
            webhook.Changed();
        }
    }
}
