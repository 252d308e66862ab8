using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Export;

namespace SegmentMcp.Cli;

/// <summary>
/// <c>segments watch</c>: saved segments' entries and exits as they are recorded, a line each (or POSTed to a URL in
/// batches), evaluating every interval (or, against a server another process evaluates, only reading).
/// </summary>
internal static partial class SegmentsCommand
{
    private static readonly Option<string[]> WatchIds = Flags.Repeated("--id", "S", "A saved segment to watch (repeatable; default every saved segment of the tenant, those saved later too).");

    private static readonly Option<int> Every = Flags.Int("--every", "SECONDS", "Seconds between rounds (default 60).", 60, 1, 86_400);

    private static readonly Option<int> Rounds = Flags.Int("--rounds", "N", "Stop after N rounds (default 0: until Ctrl+C or SIGTERM).", 0, 0, 1_000_000);

    private static readonly Option<DateTime?> WatchSince = Flags.Time("--since", "Deliver changes recorded at or after this time too (default: those of the evaluations that complete after the watch starts).");

    private static readonly Option<string> WatchFormat = Flags.Text(
        "--format", "ndjson|csv", "ndjson: {\"segment_id\", \"profile_id\", \"change\", \"at\"} a line (default); csv: those columns with a header.", "ndjson",
        value => value is "csv" or "ndjson" ? null : $"--format must be ndjson or csv, not '{value}'");

    private static readonly Option<bool> ReadOnly = Flags.Switch(
        "--no-evaluate", "With --clickhouse: only read what another process (serve --evaluate-every, evaluate) records; by default each round evaluates first.");

    private static readonly Option<string?> Post = Flags.Text(
        "--post", "URL", $"POST each round's changes to URL as JSON, {WebhookTarget.Batch:N0} a request, instead of writing them: {{\"company\", \"changes\": [{{segment_id, profile_id, change, at}}, …]}}; a failed POST sends them again next round.",
        value => WebhookTarget.UrlProblem("--post", value));

    private static readonly Option<string?> State = Flags.Text(
        "--state", "FILE", "Keep where the watch stopped in FILE, and go on from there when it is given again (nothing recorded meanwhile is lost; default: start from --since or now each time).",
        value => FeedStateFile.Problem("--state", value));

    private static readonly Option<string?> PostSecretFile = Flags.Text(
        "--post-secret-file", "FILE", $"Sign every POST with the secret in FILE (at least 16 characters): a {WebhookTarget.SignatureHeader} header, t=UNIX_SECONDS,v1=HMAC-SHA256 of \"t.body\" in hex.");

    private static readonly Option<string[]> PostHeaders = Flags.Repeated("--post-header", "\"NAME: VALUE\"", "A header every POST carries, e.g. \"Authorization: Bearer …\" (repeatable).");

    private static Command WatchVerb() => CommandLine.Verb(
        "watch",
        "Print saved segments' entries and exits as they are recorded (or POST them to a URL), evaluating every --every seconds.",
        [WatchIds, Company, Every, Rounds, WatchSince, State, Only, WatchFormat, MemberExport.Properties, ReadOnly, Post, PostHeaders, PostSecretFile, .. EngineSelection.Options],
        WatchAsync);

    private static Task<int> WatchAsync(ParseResult args, CancellationToken stop)
    {
        string[] ids = [.. args.ValueOf(WatchIds).Select(id => string.IsNullOrWhiteSpace(id) ? throw new UsageException("--id: a segment id is not blank") : id).Distinct(StringComparer.Ordinal)];
        var format = args.ValueOf(WatchFormat);
        bool? entered = args.GetValue(Only) is { } only ? only == "entered" : null;
        var properties = MemberExport.PropertyNames(args, format);
        var every = TimeSpan.FromSeconds(args.GetValue(Every));
        var rounds = args.GetValue(Rounds);
        var evaluate = !args.GetValue(ReadOnly);
        if (!evaluate && EngineSelection.FromArguments(args).ConnectionString is null)
        {
            throw new UsageException("--no-evaluate: the embedded data is open in this process alone, so nothing else records changes in it; give --clickhouse CONN, or leave --no-evaluate out");
        }

        var headers = args.ValueOf(PostHeaders).Select(PostHeader).ToList();
        var secretFile = args.GetValue(PostSecretFile);
        if ((headers.Count > 0 || secretFile is not null) && args.GetValue(Post) is null)
        {
            throw new UsageException("--post-header and --post-secret-file: give --post URL as well");
        }

        var post = args.GetValue(Post) is { } url
            ? new WebhookTarget(new Uri(url), headers, secretFile is null ? null : WebhookTarget.ReadSecret("--post-secret-file", secretFile))
            : null;

        var givenSince = args.GetValue(WatchSince);
        var since = givenSince ?? DateTime.UtcNow;
        var state = args.GetValue(State) is { } statePath ? new FeedStateFile(statePath, "--state") : null;
        return WithServicesAsync(args, async (services, company) =>
        {
            foreach (var id in ids)
            {
                if (await FindAsync(services, company, id, stop).ConfigureAwait(false) is null)
                {
                    return CommandLine.Failed;
                }
            }

            if (!await MemberExport.KnownPropertiesAsync(services, company, properties, stop).ConfigureAwait(false))
            {
                return CommandLine.Failed;
            }

            var feed = state?.Resume(services.GetRequiredService<ISegmentStore>(), services.GetRequiredService<IMembershipReader>(), company, ids.Length == 0 ? null : ids, since)
                ?? new MembershipFeed(services.GetRequiredService<ISegmentStore>(), services.GetRequiredService<IMembershipReader>(), company, ids.Length == 0 ? null : ids, since);
            if (givenSince is null && (state is null || !state.Load().ContainsKey(company)))
            {
                // From now: from the evaluations that complete after this, one already under way included.
                await feed.BeginAsync(stop).ConfigureAwait(false);
            }

            using var http = post is null ? null : new HttpClient { Timeout = WebhookTarget.Timeout };
            var delivery = new ChangeDelivery(services.GetRequiredService<ProfileReader>(), company, properties);
            var watched = ids.Length == 0 ? $"every saved segment of '{company}'" : string.Join(", ", ids);
            await Console.Error.WriteLineAsync($"segmentmcp segments watch: {watched}, changes from {(state is not null && feed.Positions.Count > 0 ? $"where {state.Path} left off" : Iso(feed.Since))}, {(evaluate ? "evaluating" : "reading")} every {every.TotalSeconds:0} s{(post is null ? string.Empty : $", POST to {post.Url}")}; Ctrl+C stops").ConfigureAwait(false);
            if (format == "csv" && post is null)
            {
                await Console.Out.WriteLineAsync(string.Join(',', delivery.Columns)).ConfigureAwait(false);
            }

            try
            {
                for (var round = 1; rounds == 0 || round <= rounds; round++)
                {
                    if (evaluate)
                    {
                        await EvaluateForWatchAsync(services, company, stop).ConfigureAwait(false);
                    }

                    var going = await WatchRoundAsync(feed, delivery, ids.Length > 0, entered, format, post, http, stop).ConfigureAwait(false);
                    state?.Save([(company, feed)]);
                    if (!going)
                    {
                        await Console.Error.WriteLineAsync("segmentmcp segments watch: every watched segment was deleted").ConfigureAwait(false);
                        return CommandLine.Ok;
                    }

                    if (rounds == 0 || round < rounds)
                    {
                        await Task.Delay(every, stop).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Ctrl+C or SIGTERM between rounds or within one: what was delivered stays delivered.
            }

            return CommandLine.Ok;
        }, stop);
    }

    private static (string Name, string Value) PostHeader(string header) =>
        WebhookTarget.Header(header) ?? throw new UsageException($"--post-header {header}: give \"NAME: VALUE\", e.g. \"Authorization: Bearer …\"");

    /// <summary>One evaluator tick of the tenant; a failure is reported and the round reads what is recorded.</summary>
    private static async Task EvaluateForWatchAsync(ServiceProvider services, string company, CancellationToken stop)
    {
        try
        {
            await services.GetRequiredService<ISegmentEvaluator>().TickAsync(company, null, null, stop).ConfigureAwait(false);
        }
        catch (TickFailedException failed)
        {
            await Console.Error.WriteLineAsync($"segmentmcp segments watch: evaluation failed, the next round retries: {failed.Message}").ConfigureAwait(false);
        }
        catch (ClickHouseException unavailable) when (unavailable.IsUnavailable)
        {
            await Console.Error.WriteLineAsync($"segmentmcp segments watch: the engine is not available, the next round retries: {unavailable.Message}").ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Reads and delivers one round to standard output or the webhook; false once every segment named with --id is
    /// deleted. A round whose POST fails is not acknowledged, so the next sends it again.
    /// </summary>
    private static async Task<bool> WatchRoundAsync(
        MembershipFeed feed, ChangeDelivery delivery, bool named, bool? entered, string format, WebhookTarget? post, HttpClient? http, CancellationToken stop)
    {
        FeedRound round;
        try
        {
            round = await feed.NextAsync(stop).ConfigureAwait(false);
        }
        catch (ClickHouseException unavailable) when (unavailable.IsUnavailable)
        {
            await Console.Error.WriteLineAsync($"segmentmcp segments watch: the engine is not available, the next round retries: {unavailable.Message}").ConfigureAwait(false);
            return true;
        }

        foreach (var id in round.Deleted)
        {
            await Console.Error.WriteLineAsync($"segment {id} was deleted; no longer watched").ConfigureAwait(false);
        }

        var rows = await delivery.RowsAsync(round.Only(entered), stop).ConfigureAwait(false);
        if (post is null)
        {
            foreach (var row in rows)
            {
                await Console.Out.WriteLineAsync(MemberWriter.Line(format, delivery.Columns, row)).ConfigureAwait(false);
            }

            await Console.Out.FlushAsync(stop).ConfigureAwait(false);
        }
        else if (rows.Count > 0)
        {
            if (await delivery.PostAsync(http!, post, rows, stop).ConfigureAwait(false) is var (problem, received))
            {
                await Console.Error.WriteLineAsync(string.Create(
                    CultureInfo.InvariantCulture,
                    $"POST {post.Url}: {problem}; the round's {rows.Count:N0} changes are sent again next round{(received > 0 ? $" ({received:N0} of them were received already)" : string.Empty)}")).ConfigureAwait(false);
                return true;
            }

            await Console.Error.WriteLineAsync($"{Iso(DateTime.UtcNow)} POST {post.Url}: {ChangeDelivery.Counts(rows)}").ConfigureAwait(false);
        }

        feed.Acknowledge(round);
        return !named || (await feed.WatchedAsync(stop).ConfigureAwait(false)).Count > 0;
    }
}
