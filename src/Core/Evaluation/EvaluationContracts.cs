namespace SegmentMcp.Core.Evaluation;

/// <summary>Per-segment outcome of a tick.</summary>
public sealed record SegmentTickResult(string SegmentId, long Size, long Entered, long Exited, long Candidates)
{
    /// <summary>The segment's tenant (a tick of every tenant reports segments of several).</summary>
    public string Tenant { get; init; } = string.Empty;

    /// <summary>Rows the engine read for this segment (phase 1 and its chunks).</summary>
    public ulong RowsRead { get; init; }

    /// <summary>Time spent on this segment's queries and writes (phase 1 plus its chunks, summed over workers).</summary>
    public TimeSpan Work { get; init; }

    /// <summary>
    /// True when phase 2 ran the segment's compiled query over the whole universe (a new or changed version, or
    /// candidates enough for that to be cheaper) instead of chunks of its candidates.
    /// </summary>
    public bool EvaluatedWhole { get; init; }

    /// <summary>True when this tick evaluated a version of the segment that no evaluation had before (new or edited).</summary>
    public bool NewVersion { get; init; }

    /// <summary>The version evaluated.</summary>
    public int Version { get; init; }
}

/// <summary>What a tick cost.</summary>
public sealed record TickStatistics(long Candidates, int Chunks, long Entered, long Exited, ulong RowsRead, TimeSpan Phase1, TimeSpan Phase2);

/// <summary>One tick's result.</summary>
public sealed record TickReport(DateTime EvaluatedAt, IReadOnlyList<SegmentTickResult> Segments, TickStatistics Statistics)
{
    /// <summary>Deleted segments (tenant/segment id) whose stored membership, log and evaluation state this tick removed.</summary>
    public IReadOnlyList<string> Purged { get; init; } = [];
}

/// <summary>Progress within a tick, for logs and MCP progress notifications.</summary>
public sealed record TickProgress(int SegmentsDone, int SegmentsTotal, string Message);

/// <summary>The two-phase incremental evaluator.</summary>
public interface ISegmentEvaluator
{
    /// <summary>
    /// Brings every saved segment of <paramref name="tenant"/> (all tenants when null) up to <paramref name="asOf"/>
    /// (default: now): phase 1 finds candidate profiles, phase 2 re-evaluates them in chunks on parallel workers.
    /// </summary>
    Task<TickReport> TickAsync(string? tenant, DateTime? asOf, IProgress<TickProgress>? progress, CancellationToken cancellationToken);
}
