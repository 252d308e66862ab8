using System.Collections.Concurrent;

namespace SegmentMcp.Core.Evaluation;

/// <summary>
/// What evaluating each segment version cost when this process last did it, both ways: the compiled query over every
/// profile (a new segment's evaluation, or a whole evaluation diffed against the stored members), and a restricted
/// chunk per candidate. Phase 2 picks the cheaper way for a segment's candidates from these: a short window over a busy
/// hour makes thousands of candidates whose lookups cost far more than scanning the window (on the 2M-profile demo,
/// 12,171 candidates of a 24-hour condition took 673 ms in a chunk against 24 ms for the whole query).
/// </summary>
/// <remarks>
/// Kept for the process, not stored: a tick after a restart evaluates by the candidate share alone until it has
/// measured a segment again. Keyed by database, so engines and tests never share figures.
/// </remarks>
internal sealed class SegmentCosts
{
    /// <summary>A restricted query costs about this much a candidate before this process has timed one of the segment's.</summary>
    internal static readonly TimeSpan DefaultPerCandidate = TimeSpan.FromMicroseconds(40);

    /// <summary>What any restricted statement costs however few its candidates (parsing, planning, the diff).</summary>
    internal static readonly TimeSpan StatementOverhead = TimeSpan.FromMilliseconds(10);

    /// <summary>Chunks with fewer candidates say too little about the cost of one (the overhead dominates).</summary>
    internal const int MinimumMeasuredCandidates = 200;

    /// <summary>
    /// How much cheaper the whole query must be expected to be before it replaces the chunks: its estimate comes from
    /// one earlier run, and the rows it reads are the full query's.
    /// </summary>
    internal const double WholeMargin = 1.25;

    private readonly ConcurrentDictionary<(string Database, string Tenant, string Segment, int Version), Costs> costs = new();

    /// <summary>The figures of this process.</summary>
    internal static SegmentCosts Shared { get; } = new();

    /// <summary>A whole evaluation of the version took <paramref name="elapsed"/>.</summary>
    public void RecordWhole(string database, string tenant, string segment, int version, TimeSpan elapsed) =>
        costs.AddOrUpdate((database, tenant, segment, version), _ => new Costs(elapsed, null), (_, known) => known with { Whole = elapsed });

    /// <summary>A restricted chunk of <paramref name="candidates"/> took <paramref name="elapsed"/> (its query and diff).</summary>
    public void RecordRestricted(string database, string tenant, string segment, int version, int candidates, TimeSpan elapsed)
    {
        if (candidates < MinimumMeasuredCandidates)
        {
            return;
        }

        var perCandidate = (elapsed > StatementOverhead ? elapsed - StatementOverhead : TimeSpan.Zero) / candidates;
        costs.AddOrUpdate(
            (database, tenant, segment, version),
            _ => new Costs(null, perCandidate),
            // Half the new figure: one chunk ran beside a write or a merge, the next did not.
            (_, known) => known with { PerCandidate = known.PerCandidate is { } before ? (before + perCandidate) / 2 : perCandidate });
    }

    /// <summary>
    /// Whether the whole query is expected to cost less than restricted chunks of <paramref name="candidates"/>: only
    /// once a whole evaluation of the version was timed.
    /// </summary>
    public bool WholeIsCheaper(string database, string tenant, string segment, int version, int candidates)
    {
        if (!costs.TryGetValue((database, tenant, segment, version), out var known) || known.Whole is not { } whole)
        {
            return false;
        }

        var restricted = StatementOverhead + ((known.PerCandidate ?? DefaultPerCandidate) * candidates);
        return whole * WholeMargin < restricted;
    }

    private sealed record Costs(TimeSpan? Whole, TimeSpan? PerCandidate);
}
