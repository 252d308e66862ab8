using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
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
    /// <summary>Changes per POST: a receiver gets bodies of a bounded size whatever a round holds.</summary>
    internal const int PostBatch = 1_000;

    private static readonly Option<string[]> WatchIds = Flags.Repeated("--id", "S", "A saved segment to watch (repeatable; default every saved segment of the tenant, those saved later too).");

    private static readonly Option<int> Every = Flags.Int("--every", "SECONDS", "Seconds between rounds (default 60).", 60, 1, 86_400);

    private static readonly Option<int> Rounds = Flags.Int("--rounds", "N", "Stop after N rounds (default 0: until Ctrl+C or SIGTERM).", 0, 0, 1_000_000);

    private static readonly Option<DateTime?> WatchSince = Flags.Time("--since", "Deliver changes recorded at or after this time too (default: from the start of the watch).");

    private static readonly Option<string> WatchFormat = Flags.Text(
        "--format", "ndjson|csv", "ndjson: {\"segment_id\", \"profile_id\", \"change\", \"at\"} a line (default); csv: those columns with a header.", "ndjson",
        value => value is "csv" or "ndjson" ? null : $"--format must be ndjson or csv, not '{value}'");

    private static readonly Option<bool> ReadOnly = Flags.Switch(
        "--no-evaluate", "With --clickhouse: only read what another process (serve --evaluate-every, evaluate) records; by default each round evaluates first.");

    private static readonly Option<string?> Post = Flags.Text(
        "--post", "URL", $"POST each round's changes to URL as JSON, {PostBatch:N0} a request, instead of writing them: {{\"company\", \"changes\": [{{segment_id, profile_id, change, at}}, …]}}; a failed POST sends them again next round.",
        value => Uri.TryCreate(value, UriKind.Absolute, out var url) && url.Scheme is "http" or "https" ? null : $"--post must be an http:// or https:// URL, not '{value}'");

    private static readonly Option<string[]> PostHeaders = Flags.Repeated("--post-header", "\"NAME: VALUE\"", "A header every POST carries, e.g. \"Authorization: Bearer …\" (repeatable).");

    private static Command WatchVerb() => CommandLine.Verb(
        "watch",
        "Print saved segments' entries and exits as they are recorded (or POST them to a URL), evaluating every --every seconds.",
        [WatchIds, Company, Every, Rounds, WatchSince, WatchFormat, MemberExport.Properties, ReadOnly, Post, PostHeaders, .. EngineSelection.Options],
        WatchAsync);

    private static Task<int> WatchAsync(ParseResult args, CancellationToken stop)
    {
        string[] ids = [.. args.ValueOf(WatchIds).Select(id => string.IsNullOrWhiteSpace(id) ? throw new UsageException("--id: a segment id is not blank") : id).Distinct(StringComparer.Ordinal)];
        var format = args.ValueOf(WatchFormat);
        var properties = MemberExport.PropertyNames(args, format);
        var every = TimeSpan.FromSeconds(args.GetValue(Every));
        var rounds = args.GetValue(Rounds);
        var evaluate = !args.GetValue(ReadOnly);
        if (!evaluate && EngineSelection.FromArguments(args).ConnectionString is null)
        {
            throw new UsageException("--no-evaluate: the embedded data is open in this process alone, so nothing else records changes in it; give --clickhouse CONN, or leave --no-evaluate out");
        }

        var post = args.GetValue(Post) is { } url ? new Uri(url) : null;
        var headers = args.ValueOf(PostHeaders).Select(PostHeader).ToList();
        if (headers.Count > 0 && post is null)
        {
            throw new UsageException("--post-header: give --post URL as well");
        }

        var since = args.GetValue(WatchSince) ?? DateTime.UtcNow;
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

            var feed = new MembershipFeed(services.GetRequiredService<ISegmentStore>(), services.GetRequiredService<IMembershipReader>(), company, ids.Length == 0 ? null : ids, since);
            using var http = post is null ? null : new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var watcher = new Watcher(services, company, feed, ids.Length > 0, format, properties, post, headers, http);
            var watched = ids.Length == 0 ? $"every saved segment of '{company}'" : string.Join(", ", ids);
            await Console.Error.WriteLineAsync($"segmentmcp segments watch: {watched}, changes from {Iso(since)}, {(evaluate ? "evaluating" : "reading")} every {every.TotalSeconds:0} s{(post is null ? string.Empty : $", POST to {post}")}; Ctrl+C stops").ConfigureAwait(false);
            if (format == "csv" && post is null)
            {
                await Console.Out.WriteLineAsync(string.Join(',', Watcher.Columns(properties))).ConfigureAwait(false);
            }

            try
            {
                for (var round = 1; rounds == 0 || round <= rounds; round++)
                {
                    if (evaluate)
                    {
                        await Watcher.EvaluateAsync(services, company, stop).ConfigureAwait(false);
                    }

                    if (!await watcher.RoundAsync(stop).ConfigureAwait(false))
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

    private static (string Name, string Value) PostHeader(string header)
    {
        var colon = header.IndexOf(':', StringComparison.Ordinal);
        var name = colon > 0 ? header[..colon].Trim() : string.Empty;
        return name.Length == 0 || name.Any(c => c <= ' ' || c >= 127 || c == ':')
            ? throw new UsageException($"--post-header {header}: give \"NAME: VALUE\", e.g. \"Authorization: Bearer …\"")
            : (name, header[(colon + 1)..].Trim());
    }

    /// <summary>One watch: delivers each round of the feed to standard output or the URL.</summary>
    private sealed class Watcher(
        ServiceProvider services, string company, MembershipFeed feed, bool named, string format, string[] properties, Uri? post, List<(string Name, string Value)> headers, HttpClient? http)
    {
        public static string[] Columns(string[] properties) => ["segment_id", "profile_id", "change", "at", .. properties];

        /// <summary>One evaluator tick of the tenant; a failure is reported and the round reads what is recorded.</summary>
        public static async Task EvaluateAsync(ServiceProvider services, string company, CancellationToken stop)
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

        /// <summary>Reads and delivers one round; false once every segment named with --id is deleted.</summary>
        public async Task<bool> RoundAsync(CancellationToken stop)
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

            var columns = Columns(properties);
            var lines = await LinesAsync(round.Changes, stop).ConfigureAwait(false);
            if (post is null)
            {
                foreach (var line in lines)
                {
                    await Console.Out.WriteLineAsync(MemberWriter.Line(format, columns, line)).ConfigureAwait(false);
                }

                await Console.Out.FlushAsync(stop).ConfigureAwait(false);
            }
            else if (lines.Count > 0 && !await PostAsync(columns, lines, stop).ConfigureAwait(false))
            {
                return true; // Not acknowledged: the next round sends these again.
            }

            feed.Acknowledge(round);
            return !named || (await feed.WatchedAsync(stop).ConfigureAwait(false)).Count > 0;
        }

        /// <summary>Each change's fields in <see cref="Columns"/>' order.</summary>
        private async Task<List<object?[]>> LinesAsync(IReadOnlyList<FeedChange> changes, CancellationToken stop)
        {
            var values = new Dictionary<string, IReadOnlyDictionary<string, object?>>(StringComparer.Ordinal);
            if (properties.Length > 0 && changes.Count > 0)
            {
                // Each profile's values as of the round's last change, a page of profiles a statement.
                var profiles = services.GetRequiredService<ProfileReader>();
                var at = changes[^1].At;
                foreach (var page in changes.Select(c => c.ProfileId).Distinct(StringComparer.Ordinal).Chunk(MemberWriter.Page))
                {
                    foreach (var (id, known) in await profiles.PropertiesOfAsync(company, page, properties, at, stop).ConfigureAwait(false))
                    {
                        values[id] = known;
                    }
                }
            }

            return [.. changes.Select(change =>
            {
                var known = values.GetValueOrDefault(change.ProfileId);
                return (object?[])[change.SegmentId, change.ProfileId, change.Entered ? "entered" : "exited", Iso(change.At), .. properties.Select(p => known?.GetValueOrDefault(p))];
            })];
        }

        /// <summary>POSTs the round in batches; false (said on standard error) when one fails.</summary>
        private async Task<bool> PostAsync(string[] columns, List<object?[]> lines, CancellationToken stop)
        {
            var sent = 0;
            foreach (var batch in lines.Chunk(PostBatch))
            {
                // The objects of the ndjson lines, a batch at a time: a first round of a large segment holds no JSON for all.
                var body = new JsonObject { ["company"] = company, ["changes"] = new JsonArray([.. batch.Select(l => JsonNode.Parse(MemberWriter.Line("ndjson", columns, l)))]) };
                using var request = new HttpRequestMessage(HttpMethod.Post, post) { Content = new StringContent(body.ToJsonString(CompactJson), Encoding.UTF8, "application/json") };
                foreach (var (name, value) in headers)
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }

                string? failure;
                try
                {
                    using var response = await http!.SendAsync(request, stop).ConfigureAwait(false);
                    failure = response.IsSuccessStatusCode ? null : $"{(int)response.StatusCode} {response.ReasonPhrase}";
                }
                catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && !stop.IsCancellationRequested)
                {
                    failure = exception is TaskCanceledException ? "no answer in 30 s" : exception.Message;
                }

                if (failure is not null)
                {
                    await Console.Error.WriteLineAsync(string.Create(
                        CultureInfo.InvariantCulture,
                        $"POST {post}: {failure}; the round's {lines.Count:N0} changes are sent again next round{(sent > 0 ? $" ({sent:N0} of them were received already)" : string.Empty)}")).ConfigureAwait(false);
                    return false;
                }

                sent += batch.Length;
            }

            var entered = lines.Count(l => (string?)l[2] == "entered");
            await Console.Error.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"{Iso(DateTime.UtcNow)} POST {post}: {entered:N0} entered, {lines.Count - entered:N0} exited")).ConfigureAwait(false);
            return true;
        }
    }
}
