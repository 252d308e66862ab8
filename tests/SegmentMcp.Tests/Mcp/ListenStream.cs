using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace SegmentMcp.Tests.Mcp;

/// <summary>
/// A <c>subscriptions/listen</c> request held open by a 2026-07-28 client, and the notifications tagged with its id,
/// in the order they arrived. Disposing it cancels the request, which is how a client ends a subscription.
/// </summary>
public sealed class ListenStream : IAsyncDisposable
{
    private static readonly string[] Methods =
    [
        NotificationMethods.SubscriptionsAcknowledgedNotification,
        NotificationMethods.ResourceUpdatedNotification,
        NotificationMethods.ResourceListChangedNotification,
    ];

    private readonly Channel<(string Method, JsonObject Params)> arrived = Channel.CreateUnbounded<(string, JsonObject)>();
    private readonly CancellationTokenSource open = new();
    private readonly List<IAsyncDisposable> handlers = [];
    private Task<JsonRpcResponse> request = Task.FromResult(new JsonRpcResponse { Result = null });

    private ListenStream(string id) => Id = id;

    public string Id { get; }

    /// <summary>What the server's acknowledgement says it will send.</summary>
    public SubscriptionsListenNotifications Granted { get; private set; } = new();

    /// <summary>Opens the stream and reads its acknowledgement, which must come first.</summary>
    public static async Task<ListenStream> OpenAsync(McpClient client, string id, SubscriptionsListenNotifications notifications)
    {
        var stream = new ListenStream(id);
        foreach (var method in Methods)
        {
            stream.handlers.Add(client.RegisterNotificationHandler(method, (notification, _) =>
            {
                if (notification.Params is JsonObject parameters && parameters["_meta"]?[MetaKeys.SubscriptionId]?.GetValue<string>() == id)
                {
                    stream.arrived.Writer.TryWrite((notification.Method, parameters));
                }

                return ValueTask.CompletedTask;
            }));
        }

        stream.request = client.SendRequestAsync(
            new JsonRpcRequest
            {
                Id = new RequestId(id),
                Method = RequestMethods.SubscriptionsListen,
                Params = JsonSerializer.SerializeToNode(new SubscriptionsListenRequestParams { Notifications = notifications }, McpJsonUtilities.DefaultOptions),
            },
            stream.open.Token);
        try
        {
            var first = await stream.NextAsync();
            Assert.Equal(NotificationMethods.SubscriptionsAcknowledgedNotification, first.Method);
            stream.Granted = first.Params["notifications"].Deserialize<SubscriptionsListenNotifications>(McpJsonUtilities.DefaultOptions)!;
            return stream;
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    /// <summary>The next notification on this stream: its method and the URI it names (null for a list change).</summary>
    public async Task<(string Method, JsonObject Params)> NextAsync()
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var waiting = arrived.Reader.ReadAsync(wait.Token).AsTask();
        if (await Task.WhenAny(waiting, request) == request && !waiting.IsCompleted)
        {
            // The request ended (an error, or the server closed it) before anything arrived: say why.
            await request;
            Assert.Fail($"subscriptions/listen '{Id}' completed without a notification");
        }

        return await waiting;
    }

    /// <summary>The next notification, which must be a resources/updated for <paramref name="uri"/>; returns what it says changed.</summary>
    public async Task<JsonObject> UpdatedAsync(string uri)
    {
        var (method, parameters) = await NextAsync();
        Assert.Equal((NotificationMethods.ResourceUpdatedNotification, uri), (method, (string?)parameters["uri"]));
        return Assert.IsType<JsonObject>(parameters["_meta"]?["segmentmcp/change"]);
    }

    /// <summary>The next notification, which must be a resources/list_changed.</summary>
    public async Task ListChangedAsync() =>
        Assert.Equal(NotificationMethods.ResourceListChangedNotification, (await NextAsync()).Method);

    /// <summary>
    /// The next <paramref name="count"/> notifications as "method uri change", sorted: one call's notifications go out in
    /// order, but the client may run its handlers for them concurrently.
    /// </summary>
    public async Task<string[]> NextSortedAsync(int count)
    {
        var next = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var (method, parameters) = await NextAsync();
            next.Add($"{method} {(string?)parameters["uri"]} {parameters["_meta"]?["segmentmcp/change"]?.ToJsonString()}".TrimEnd());
        }

        return [.. next.Order(StringComparer.Ordinal)];
    }

    /// <summary>The request itself: it fails when the server refuses the subscription.</summary>
    public Task<JsonRpcResponse> Request => request;

    public async ValueTask DisposeAsync()
    {
        await open.CancelAsync();
        try
        {
            await request;
        }
        catch (Exception exception) when (exception is OperationCanceledException or McpProtocolException)
        {
            // A cancelled subscription ends without a response; a refused one's error reached who opened it.
        }

        foreach (var handler in handlers)
        {
            await handler.DisposeAsync();
        }

        open.Dispose();
    }

    /// <summary>Sends a listen request that the server must refuse; returns its error.</summary>
    public static Task<McpProtocolException> RefusedAsync(McpClient client, SubscriptionsListenNotifications notifications) =>
        Assert.ThrowsAsync<McpProtocolException>(() => client.SendRequestAsync(new JsonRpcRequest
        {
            Method = RequestMethods.SubscriptionsListen,
            Params = JsonSerializer.SerializeToNode(new SubscriptionsListenRequestParams { Notifications = notifications }, McpJsonUtilities.DefaultOptions),
        }));
}
