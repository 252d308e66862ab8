using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Export;

/// <summary>What <c>serve --post</c> sends where: the webhook, the tenants served, how often, which properties.</summary>
/// <param name="State">Where deliveries stopped, to go on from there after a restart (null: from each start).</param>
/// <param name="Segments">The saved segments whose changes are sent (null: every one of each tenant, those saved later too).</param>
/// <param name="Since">
/// The earliest change time sent to a segment without a state (null: when the service starts). The server's start, taken
/// before its evaluator starts: a tick records its changes at the time it began, so a tick begun before the webhook
/// service (waiting for the engine to open, say) would otherwise record changes just before the deliveries start.
/// </param>
/// <param name="Entered">Only entries (true), only exits (false), or both (null).</param>
internal sealed record WebhookOptions(
    WebhookTarget Target,
    IReadOnlyList<string> Tenants,
    TimeSpan Interval,
    IReadOnlyList<string> Properties,
    FeedStateFile? State = null,
    IReadOnlyList<string>? Segments = null,
    DateTime? Since = null,
    bool? Entered = null);

/// <summary>
/// Said by the serving process's evaluator after an evaluation that changed membership, so the webhook is sent at once
/// rather than at its next interval.
/// </summary>
internal sealed class WebhookSignal : IDisposable
{
    private readonly SemaphoreSlim changed = new(0, 1);

    public void Changed()
    {
        try
        {
            changed.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already said and not yet heard: once is enough.
        }
    }

    /// <summary>Waits for <see cref="Changed"/>, at most <paramref name="interval"/>.</summary>
    public Task<bool> WaitAsync(TimeSpan interval, CancellationToken cancellationToken) => changed.WaitAsync(interval, cancellationToken);

    public void Dispose() => changed.Dispose();
}

/// <summary>
/// <c>serve --post URL</c>: after each evaluation of this process that changed membership, and every interval (for
/// evaluations of other processes, and to retry), POSTs the saved segments' entries and exits that evaluations recorded since
/// the last delivery, for each tenant served, as <c>segments watch --post</c> does (the same feed and bodies): whoever
/// evaluates (the background tick, <c>refresh_segments</c>, a save, another process on a server), each evaluation is
/// sent whole once it is complete. A failed POST is logged and that tenant's changes are sent again next time, so a
/// receiver gets every change at least once. Deliveries start with the changes recorded after the server started, or
/// with <see cref="WebhookOptions.State"/> where the last run stopped.
/// </summary>
internal sealed class WebhookService(
    ISegmentStore segments, IMembershipReader membership, ProfileReader profiles, WebhookOptions options, WebhookSignal signal, ILogger<WebhookService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var since = options.Since ?? DateTime.UtcNow;
        var feeds = options.Tenants.Distinct(StringComparer.Ordinal)
            .Select(tenant => (
                Tenant: tenant,
                Feed: options.State?.Resume(segments, membership, tenant, options.Segments, since) ?? new MembershipFeed(segments, membership, tenant, options.Segments, since),
                Delivery: new ChangeDelivery(profiles, tenant, options.Properties)))
            .ToList();
        using var http = new HttpClient { Timeout = WebhookTarget.Timeout };
        logger.LogInformation(
            "Membership changes of {Segments} of {Tenants} go to {Url} every {Seconds:0} s",
            options.Segments is null ? "every saved segment" : string.Join(", ", options.Segments),
            string.Join(", ", feeds.Select(f => f.Tenant)),
            options.Target.Url,
            options.Interval.TotalSeconds);
        var namesChecked = options.Segments is null;
        try
        {
            while (true)
            {
                await signal.WaitAsync(options.Interval, stoppingToken).ConfigureAwait(false);
                namesChecked = namesChecked || await CheckNamedSegmentsAsync(options.Segments!, stoppingToken).ConfigureAwait(false);
                var delivered = false;
                foreach (var (tenant, feed, delivery) in feeds)
                {
                    delivered |= await DeliverAsync(tenant, feed, delivery, http, stoppingToken).ConfigureAwait(false);
                }

                if (delivered && options.State is { } state)
                {
                    Remember(state, feeds.Select(f => (f.Tenant, f.Feed)));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: what was delivered stays delivered.
        }
    }

    /// <summary>
    /// Says which <c>--post-segment</c> ids no company served has, with the closest, so a mistyped id is not a silent
    /// webhook; false while the segments cannot be read yet (the engine not open), to look again next time.
    /// </summary>
    private async Task<bool> CheckNamedSegmentsAsync(IReadOnlyList<string> named, CancellationToken stoppingToken)
    {
        var saved = new List<(string Id, string Name)>();
        try
        {
            foreach (var tenant in options.Tenants.Distinct(StringComparer.Ordinal))
            {
                saved.AddRange((await segments.ListAsync(tenant, stoppingToken).ConfigureAwait(false)).Select(s => (s.Id, s.Name)));
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            return false;
        }

        foreach (var id in named.Where(id => !saved.Any(s => s.Id == id)))
        {
            logger.LogWarning(
                "--post-segment {Id}: no saved segment of {Tenants} has this id, so none of its changes are sent.{Suggestion}",
                id,
                string.Join(", ", options.Tenants.Distinct(StringComparer.Ordinal)),
                Suggestions.DidYouMeanNamed(id, saved));
        }

        return true;
    }

    private void Remember(FeedStateFile state, IEnumerable<(string Tenant, MembershipFeed Feed)> feeds)
    {
        try
        {
            state.Save(feeds);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            // Deliveries go on; a restart would send again what came after the last state written.
            logger.LogWarning("Where the webhook deliveries stopped could not be kept in {Path}: {Reason}", state.Path, exception.Message);
        }
    }

    /// <summary>One tenant's round; true when it was delivered (acknowledged), whether or not it held changes.</summary>
    private async Task<bool> DeliverAsync(string tenant, MembershipFeed feed, ChangeDelivery delivery, HttpClient http, CancellationToken stoppingToken)
    {
        try
        {
            var round = await feed.NextAsync(stoppingToken).ConfigureAwait(false);
            var rows = await delivery.RowsAsync(round.Only(options.Entered), stoppingToken).ConfigureAwait(false);
            if (rows.Count > 0 && await delivery.PostAsync(http, options.Target, rows, stoppingToken).ConfigureAwait(false) is var (problem, received))
            {
                logger.LogWarning(
                    "POST {Url} for {Tenant} failed: {Problem}; its {Count} changes are sent again next time ({Received} of them were received already)",
                    options.Target.Url, tenant, problem, rows.Count, received);
                return false;
            }

            feed.Acknowledge(round);
            if (rows.Count > 0)
            {
                logger.LogInformation("POST {Url} for {Tenant}: {Counts}", options.Target.Url, tenant, ChangeDelivery.Counts(rows));
            }

            return true;
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            // The engine not open yet or gone for a moment: nothing was acknowledged, so the next time reads it all again.
            logger.LogWarning("Membership changes of {Tenant} could not be read for {Url}; trying again next time: {Reason}", tenant, options.Target.Url, exception.Message);
            return false;
        }
    }
}
