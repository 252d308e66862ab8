using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.App;

/// <summary>
/// The evidence for the behavioural conditions: the profile's events of each metric in the time ranges the condition
/// reads, and with where filters those passing them (matching_…), so "why not?" has an answer.
/// </summary>
public sealed partial class MembershipCheck
{
    /// <summary>Event times read for one regularly condition's periods (a profile's, so far more than any period holds).</summary>
    private const int MaxEventTimes = 100_000;

    private const string WhereNote =
        "events_… counts, first and last are of every event of the metric; matching_… of those passing the where filters, the events the condition reads.";

    private async Task AddBehaviouralEvidenceAsync(
        string tenant, Condition condition, string profileId, DateTime now, Dictionary<string, object?> evidence, CancellationToken cancellationToken)
    {
        Task<Storage.EventEvidence> Events(string metric, IReadOnlyList<PropertyFilter> where, DateTime? from, DateTime? until) =>
            profiles.EventsAsync(tenant, profileId, new EventSelection(metric, where, from, until), now, cancellationToken);

        switch (condition)
        {
            case FirstTimeCondition c:
                {
                    var range = TimeRange.Of(c.Window, now);
                    var ever = await Events(c.Metric, c.Where, null, null).ConfigureAwait(false);
                    var before = range.From is { } from ? await Events(c.Metric, c.Where, null, from).ConfigureAwait(false) : null;
                    var within = await Events(c.Metric, c.Where, range.From, range.Until).ConfigureAwait(false);
                    evidence["metric"] = c.Metric;
                    evidence["from"] = range.From;
                    evidence["until"] = range.Until ?? now;
                    evidence["first_ever"] = ever.First;
                    evidence["events_before_window"] = before?.Events ?? 0;
                    evidence["events_in_window"] = within.Events;
                    if (c.Where.Count > 0)
                    {
                        // The condition's "first time" is the first event passing the filters.
                        evidence["first_matching_ever"] = ever.FirstMatching;
                        evidence["matching_before_window"] = before?.Matching ?? 0;
                        evidence["matching_in_window"] = within.Matching;
                    }

                    Note(c.Where, evidence);
                    break;
                }

            case SequenceCondition c:
                {
                    var range = TimeRange.Of(c.Window, now);
                    var steps = new List<Dictionary<string, object?>>();
                    foreach (var step in c.Steps)
                    {
                        var seen = await Events(step.Metric, step.Where, range.From, range.Until).ConfigureAwait(false);
                        var read = new Dictionary<string, object?>(StringComparer.Ordinal)
                        {
                            ["metric"] = step.Metric,
                            ["events_in_window"] = seen.Events,
                            ["first"] = seen.First,
                            ["last"] = seen.Last,
                        };
                        if (step.Where.Count > 0)
                        {
                            read["matching_in_window"] = seen.Matching;
                            read["first_matching"] = seen.FirstMatching;
                            read["last_matching"] = seen.LastMatching;
                        }

                        steps.Add(read);
                    }

                    evidence["from"] = range.From;
                    evidence["until"] = range.Until ?? now;
                    evidence["within_hours"] = c.WithinHours;
                    evidence["steps"] = steps;
                    Note(c.Steps.SelectMany(s => s.Where).ToList(), evidence);
                    break;
                }

            case StoppedCondition c:
                {
                    var before = TimeRange.Of(c.Before, now);
                    var recent = TimeRange.Of(c.Recent, now);
                    var then = await Events(c.Metric, c.Where, before.From, before.Until).ConfigureAwait(false);
                    var lately = await Events(c.Metric, c.Where, recent.From, null).ConfigureAwait(false);
                    evidence["metric"] = c.Metric;
                    evidence["events_between"] = then.Events;
                    evidence["between_from"] = before.From;
                    evidence["between_until"] = before.Until;
                    evidence["last_between"] = then.Last;
                    evidence["events_recent"] = lately.Events;
                    evidence["recent_from"] = recent.From;
                    if (c.Where.Count > 0)
                    {
                        evidence["matching_between"] = then.Matching;
                        evidence["last_matching_between"] = then.LastMatching;
                        evidence["matching_recent"] = lately.Matching;
                    }

                    Note(c.Where, evidence);
                    break;
                }

            case RestartedCondition c:
                {
                    var recentFrom = now.AddDays(-c.RecentDays);
                    var recent = await Events(c.Metric, [], recentFrom, null).ConfigureAwait(false);
                    var earlier = await Events(c.Metric, [], null, recent.First ?? recentFrom).ConfigureAwait(false);
                    evidence["metric"] = c.Metric;
                    evidence["events_recent"] = recent.Events;
                    evidence["first_recent"] = recent.First;
                    evidence["last_before"] = earlier.Last;
                    evidence["gap_days"] = recent.First is { } back && earlier.Last is { } left ? Math.Round((back - left).TotalDays, 1) : null;
                    break;
                }

            case RegularlyCondition c:
                {
                    var (oldest, current) = c.Span(now);
                    // The periods count what the condition counts: the events passing its where filters.
                    var times = await profiles.MatchingEventTimesAsync(tenant, profileId, new EventSelection(c.Metric, c.Where, oldest, current), now, MaxEventTimes, cancellationToken).ConfigureAwait(false);
                    var periods = new List<Dictionary<string, object?>>();
                    var edges = c.Edges(now);
                    for (var back = edges.Count - 1; back > 0; back--)
                    {
                        var (start, end) = (edges[back], edges[back - 1]);
                        var count = times.Count(t => t >= start && t < end);
                        periods.Add(new Dictionary<string, object?>(StringComparer.Ordinal)
                        {
                            ["from"] = start,
                            ["events"] = count,
                            ["meets"] = SegmentReads.Compare(count, c.Op, c.Value),
                        });
                    }

                    evidence["metric"] = c.Metric;
                    evidence["periods"] = periods;
                    evidence["periods_meeting"] = periods.Count(p => (bool)p["meets"]!);
                    evidence["min_periods"] = c.MinPeriods;
                    if (c.Where.Count > 0)
                    {
                        evidence["note"] = "Each period's events are those passing the where filters.";
                    }

                    break;
                }

            case LastEventCondition c:
                {
                    var last = await profiles.LastEventAsync(tenant, profileId, c.Metric, c.Filter.Name, now, cancellationToken).ConfigureAwait(false);
                    evidence["metric"] = c.Metric;
                    evidence["last_at"] = last?.At;
                    evidence["property"] = c.Filter.Name;
                    evidence["value"] = last?.Value;
                    break;
                }

            // Whether the profile was on the list (or in the bucket) is the condition's match itself.
            case InListCondition c:
                evidence["list_id"] = c.ListId;
                break;
            case RandomBucketCondition c:
                evidence["percent"] = c.Percent;
                evidence["seed"] = c.Seed;
                break;
        }
    }

    private static void Note(IReadOnlyList<PropertyFilter> where, Dictionary<string, object?> evidence)
    {
        if (where.Count > 0)
        {
            evidence["note"] = WhereNote;
        }
    }
}
