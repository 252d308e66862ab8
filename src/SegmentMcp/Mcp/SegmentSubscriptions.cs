using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Mcp;

/// <summary>
/// <c>resources/subscribe</c> for saved segments (<c>segmentmcp://segments/{id}</c>) on a server with one client
/// (stdio): after an evaluation in which members entered or left a subscribed segment, or which evaluated a new
/// version of it, and when it is deleted, the client gets <c>notifications/resources/updated</c> with its URI, so an
/// agent can wait for "someone joined my VIP segment" instead of polling. A tick that changed nothing sends nothing.
/// </summary>
internal sealed class SegmentSubscriptions(ITenantAccessor tenant, ILogger<SegmentSubscriptions> logger)
{
    public const string UriPrefix = "segmentmcp://segments/";

    private readonly ConcurrentDictionary<string, McpServer> subscribed = new(StringComparer.Ordinal);

    public static string UriOf(string segmentId) => UriPrefix + Uri.EscapeDataString(segmentId);

    public async ValueTask<EmptyResult> SubscribeAsync(RequestContext<SubscribeRequestParams> request, CancellationToken cancellationToken)
    {
        var uri = SegmentUri(request.Params?.Uri);
        var id = Uri.UnescapeDataString(uri[UriPrefix.Length..]);
        var store = request.Services!.GetRequiredService<ISegmentStore>();
        if (id.Length > ArgumentGuard.MaxIdLength || await store.GetAsync(tenant.Tenant, id, cancellationToken).ConfigureAwait(false) is null)
        {
            var notFound = new McpProtocolException($"Resource not found: no saved segment '{ToolSupport.Echo(id)}' in this workspace ({ToolSupport.Echo(uri)}). List them with list_segments.", McpErrorCode.InvalidParams);
            notFound.Data["uri"] = uri;
            throw notFound;
        }

        subscribed[uri] = request.Server;
        return new EmptyResult();
    }

    public ValueTask<EmptyResult> UnsubscribeAsync(RequestContext<UnsubscribeRequestParams> request, CancellationToken cancellationToken)
    {
        subscribed.TryRemove(SegmentUri(request.Params?.Uri), out _);
        return ValueTask.FromResult(new EmptyResult());
    }

    /// <summary>Tells the subscribers of the segments whose members or definition this tick changed, and of those it purged.</summary>
    public Task PublishAsync(TickReport report, CancellationToken cancellationToken)
    {
        if (subscribed.IsEmpty)
        {
            return Task.CompletedTask;
        }

        var company = tenant.Tenant;
        var changed = report.Segments
            .Where(s => s.Tenant == company && (s.Entered + s.Exited > 0 || s.EvaluatedWhole))
            .Select(s => s.SegmentId)
            .Concat(report.Purged.Where(p => p.StartsWith(company + "/", StringComparison.Ordinal)).Select(p => p[(company.Length + 1)..]));
        return NotifyAsync(changed, cancellationToken);
    }

    /// <summary>Tells the subscribers of these segments of this server's tenant that they changed.</summary>
    public async Task NotifyAsync(IEnumerable<string> segmentIds, CancellationToken cancellationToken)
    {
        foreach (var uri in segmentIds.Distinct(StringComparer.Ordinal).Select(UriOf))
        {
            if (!subscribed.TryGetValue(uri, out var server))
            {
                continue;
            }

            try
            {
                await server.SendNotificationAsync(NotificationMethods.ResourceUpdatedNotification, new ResourceUpdatedNotificationParams { Uri = uri }, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // The client went away: its subscriptions go with it; the evaluation is not its concern.
                subscribed.TryRemove(uri, out _);
                logger.LogDebug(exception, "Could not notify {Uri}; subscription dropped", uri);
            }
        }
    }

    private static string SegmentUri(string? uri) =>
        string.IsNullOrEmpty(uri)
            ? throw new McpProtocolException("'uri' is required.", McpErrorCode.InvalidParams)
            : uri.StartsWith(UriPrefix, StringComparison.Ordinal) && uri.Length > UriPrefix.Length
                ? uri
                : throw new McpProtocolException($"Only saved segments send updates: subscribe to {UriPrefix}{{id}}, not '{ToolSupport.Echo(uri)}'.", McpErrorCode.InvalidParams);
}

/// <summary>
/// The evaluator with every tick's report (a failed tick's too) passed to <see cref="SegmentSubscriptions"/>. It owns
/// the evaluator it wraps: disposing it waits for that one's work after a tick, as the container would have.
/// </summary>
internal sealed class NotifyingEvaluator(ISegmentEvaluator inner, SegmentSubscriptions subscriptions) : ISegmentEvaluator, IAsyncDisposable, IDisposable
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
            throw;
        }

        await subscriptions.PublishAsync(report, cancellationToken).ConfigureAwait(false);
        return report;
    }
}
