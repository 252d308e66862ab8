using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.App;

/// <summary>One profile entering or leaving one saved segment, as a feed delivers it.</summary>
public sealed record FeedChange(string SegmentId, string ProfileId, bool Entered, DateTime At);

/// <summary>
/// What a feed read in one round: the changes, oldest first, and the watched segments found deleted. Delivered once
/// <see cref="MembershipFeed.Acknowledge"/> is called with it; until then the next round reads the same changes again.
/// </summary>
public sealed class FeedRound
{
    internal FeedRound(IReadOnlyList<FeedChange> changes, IReadOnlyList<string> deleted, IReadOnlyDictionary<string, DateTime> reachedBySegment)
    {
        Changes = changes;
        Deleted = deleted;
        Reached = reachedBySegment;
    }

    public IReadOnlyList<FeedChange> Changes { get; }

    /// <summary>The entries alone (<paramref name="entered"/> true), the exits alone (false) or every change (null).</summary>
    public IReadOnlyList<FeedChange> Only(bool? entered) => entered is { } wanted ? [.. Changes.Where(c => c.Entered == wanted)] : Changes;

    /// <summary>Watched segments deleted since the last acknowledged round (each reported once).</summary>
    public IReadOnlyList<string> Deleted { get; }

    /// <summary>Per segment, the time from which its next round reads once this one is acknowledged.</summary>
    internal IReadOnlyDictionary<string, DateTime> Reached { get; }
}

/// <summary>
/// Saved segments' entries and exits as they are recorded, round after round: <c>segments watch</c>. Each round reads,
/// for every watched segment, the log from where the last acknowledged round stopped up to the segment's last
/// completed evaluation. A segment's evaluation time advances only once every change of that evaluation is written, so
/// a round never sees half an evaluation, whichever process evaluates; and a round that is not acknowledged (its
/// delivery failed) is read again by the next, so every change is delivered at least once and, when every delivery
/// succeeds, exactly once.
/// </summary>
/// <param name="segmentIds">The segments to watch; null watches every saved segment of the tenant, those saved later too.</param>
/// <param name="since">The earliest change time delivered (a segment first evaluated later delivers its first members as entries).</param>
/// <param name="resumeAt">Where an earlier feed stopped, per segment (its <see cref="Positions"/>), to go on from there.</param>
public sealed class MembershipFeed(
    ISegmentStore segments, IMembershipReader membership, string tenant, IReadOnlyCollection<string>? segmentIds, DateTime since, IReadOnlyDictionary<string, DateTime>? resumeAt = null)
{
    /// <summary>Log rows read per statement.</summary>
    internal const int Page = 10_000;

    private readonly Dictionary<string, DateTime> positions = new(resumeAt ?? new Dictionary<string, DateTime>(), StringComparer.Ordinal);

    /// <summary>The earliest change time delivered for a segment without a position.</summary>
    public DateTime Since => since;

    /// <summary>Per segment delivered from, the time its next round reads from: what a later feed resumes at.</summary>
    public IReadOnlyDictionary<string, DateTime> Positions => new Dictionary<string, DateTime>(positions, StringComparer.Ordinal);
    private readonly HashSet<string> deleted = new(StringComparer.Ordinal);

    /// <summary>The segments watched that are not deleted (all of the tenant's when none were named).</summary>
    public async Task<IReadOnlyList<SavedSegment>> WatchedAsync(CancellationToken cancellationToken)
    {
        var saved = await segments.ListAsync(tenant, cancellationToken).ConfigureAwait(false);
        return segmentIds is null ? saved : [.. saved.Where(s => segmentIds.Contains(s.Id, StringComparer.Ordinal))];
    }

    /// <summary>
    /// Starts the feed at the evaluations completed so far: each watched segment without a position is read from after
    /// its last completed evaluation (a segment not evaluated yet, from its first), so rounds hold exactly the
    /// evaluations that complete after this call. An evaluation logs its changes at the time it began, so one that
    /// began before the feed's start (another process's tick, say) and completes after it would otherwise be taken for
    /// history and skipped. For a feed "from now"; one from a given time or a resumed position needs no call. Segments
    /// saved later are read from <see cref="Since"/>.
    /// </summary>
    public async Task BeginAsync(CancellationToken cancellationToken)
    {
        foreach (var segment in await WatchedAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!positions.ContainsKey(segment.Id))
            {
                positions[segment.Id] = segment.EvaluatedAt is { } evaluated ? After(evaluated) : DateTime.UnixEpoch;
            }
        }
    }

    /// <summary>The changes recorded since the last acknowledged round, up to each segment's last completed evaluation.</summary>
    public async Task<FeedRound> NextAsync(CancellationToken cancellationToken)
    {
        var watched = await WatchedAsync(cancellationToken).ConfigureAwait(false);
        var gone = segmentIds is null
            ? positions.Keys.Where(id => !deleted.Contains(id) && !watched.Any(s => s.Id == id)).ToList()
            : segmentIds.Where(id => !deleted.Contains(id) && !watched.Any(s => s.Id == id)).ToList();
        var changes = new List<FeedChange>();
        var reached = new Dictionary<string, DateTime>(StringComparer.Ordinal);
        foreach (var segment in watched)
        {
            var from = positions.GetValueOrDefault(segment.Id, since);
            if (segment.EvaluatedAt is not { } evaluated || evaluated < from)
            {
                continue;
            }

            var until = After(evaluated);
            (DateTime At, string ProfileId)? after = null;
            while (true)
            {
                var page = await membership.ChangesAsync(tenant, segment.Id, from, until, after, Page, cancellationToken).ConfigureAwait(false);
                changes.AddRange(page.Select(c => new FeedChange(segment.Id, c.ProfileId, c.Entered, c.At)));
                if (page.Count < Page)
                {
                    break;
                }

                after = (page[^1].At, page[^1].ProfileId);
            }

            reached[segment.Id] = until;
        }

        return new FeedRound(
            [.. changes.OrderBy(c => c.At).ThenBy(c => c.SegmentId, StringComparer.Ordinal).ThenBy(c => c.ProfileId, StringComparer.Ordinal)],
            gone,
            reached);
    }

    /// <summary>Log times have millisecond precision: everything of the evaluation at <paramref name="evaluated"/> is below this.</summary>
    private static DateTime After(DateTime evaluated) => evaluated.AddTicks(TimeSpan.TicksPerMillisecond - (evaluated.Ticks % TimeSpan.TicksPerMillisecond));

    /// <summary>Marks a round delivered: the next starts after it.</summary>
    public void Acknowledge(FeedRound round)
    {
        ArgumentNullException.ThrowIfNull(round);
        foreach (var (segmentId, until) in round.Reached)
        {
            positions[segmentId] = until;
        }

        deleted.UnionWith(round.Deleted);
        foreach (var id in round.Deleted)
        {
            positions.Remove(id); // Said once; a resumed feed need not say it again.
        }
    }
}
