namespace SegmentMcp.Core.Evaluation;

/// <summary>How the evaluator splits and runs its work.</summary>
public sealed class EvaluatorOptions
{
    /// <summary>Parallel phase-2 workers (each runs one chunk query at a time).</summary>
    public int Workers { get; set; } = 4;

    /// <summary>Candidate profiles per chunk (one restricted segment query and one membership write each).</summary>
    public int ChunkSize { get; set; } = 20_000;

    /// <summary>
    /// An extra margin subtracted from the ingestion watermark a tick records (<see cref="Storage.IngestClock"/>: the
    /// engine's time held back to the start of any insert still running). The watermark is exact on one engine, so
    /// the default is none; give a margin where inserts reach the data through clocks that may disagree.
    /// </summary>
    public TimeSpan IngestLag { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// How far past the engine's clock an explicit evaluation time may lie: clocks differ a little
    /// (<see cref="SegmentEvaluator.ClockSkewAllowance"/>, the default). Stored evaluation times only move forward,
    /// so a time further ahead would freeze segments until then; only a simulation of time (the evaluator benchmark,
    /// which plays an hour ahead on a freshly loaded demo) sets more.
    /// </summary>
    public TimeSpan FutureAllowance { get; set; } = SegmentEvaluator.ClockSkewAllowance;

    /// <summary>
    /// A segment whose phase 1 finds at least this share of the tenant's profile rows (about its profiles: a profile counts
    /// more than once until its rows merge) and at least <see cref="WholeEvaluationMinimum"/> is evaluated by its compiled query over the whole universe, diffed against
    /// its stored members, instead of chunk by chunk: a lookup costs tens of microseconds a candidate, a scan a fraction of
    /// one a profile. It trades rows for time: on the 2M-profile demo (3.9M profile rows), at 0.25% a 14-day count's
    /// 13,500 candidates took 0.5–0.7 s whole instead of 1.4–2.7 s in chunks, but read 1.3× its full query's rows, and
    /// an hour touching 0.1% of the profiles read 2.8–3.1% of a full recompute's rows instead of 1.3–1.8%. The default
    /// keeps such ticks chunked and turns only larger candidate sets whole. Where phase 1 reads the stored membership of
    /// its one-sided candidates (<see cref="ResolveOneSidedInPhaseOne"/>), the rules count the candidates that remain;
    /// otherwise they count every one-sided candidate (window-edge profiles decided by a lookup of the stored members)
    /// too: they run before that lookup, which a segment evaluated whole never needs.
    /// </summary>
    public double WholeEvaluationShare { get; set; } = 0.005;

    /// <summary>Fewer candidates than this are always evaluated restricted (see <see cref="WholeEvaluationShare"/>).</summary>
    public int WholeEvaluationMinimum { get; set; } = 5_000;

    /// <summary>
    /// <see cref="WholeEvaluationShare"/> for a segment that reads only profile properties (and static lists) and
    /// holds for no empty profile: its compiled query reads index ranges of the current-value table, a row per profile
    /// having the property at most (the 2M-profile demo's birthdays: 2M rows in 65–100 ms), while a candidate costs a
    /// key lookup of its trait history (10,870 birthday candidates at midnight: 0.56 s warm, 4.6 s with the keys'
    /// files not yet in the page cache). 0.05% of the profile rows is 1,950 candidates there.
    /// </summary>
    public double PropertyWholeEvaluationShare { get; set; } = 0.0005;

    /// <summary>Fewer candidates than this are always evaluated restricted (see <see cref="PropertyWholeEvaluationShare"/>).</summary>
    public int PropertyWholeEvaluationMinimum { get; set; } = 1_000;

    /// <summary>
    /// A segment with at least <see cref="WholeEvaluationMinimum"/> candidates (below its share) is evaluated whole
    /// when the engine estimates (<c>EXPLAIN ESTIMATE</c>) that its query reads fewer rows than this many per
    /// candidate. A candidate's lookup costs 50–80 µs in a tick and a scanned row about 0.1 µs, so a short window with
    /// many candidates is far cheaper as one query: on the 2M-profile demo, 12,921 candidates of a 24-hour window took
    /// 0.6–1.0 s in chunks against a 22–32 ms query reading 17 rows a candidate. 50 leaves the many segments whose
    /// query reads 100 or more rows a candidate in chunks, where whole queries had taken the cores from the other
    /// workers' lookups. 0 turns the rule off. One engine only (on a cluster phase 2 reads no timelines).
    /// </summary>
    public double WholeEvaluationRowsPerCandidate { get; set; } = 50;

    /// <summary>
    /// How far apart in evaluation time a tick may reuse an earlier tick's estimate of a segment version's whole query
    /// (<see cref="WholeEvaluationRowsPerCandidate"/>, <see cref="QueryEstimates"/>) instead of asking the engine again.
    /// Zero asks every tick.
    /// </summary>
    public TimeSpan EstimateReuse { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Phase 2's writer waits until a full write's worth of changes (<see cref="ChunkSize"/>) is pending or the level's
    /// last chunk is handed over, instead of writing whatever chunks finished since its last write. Every write costs
    /// three statements (log, membership, buckets) of tens of milliseconds before the first row: on the 2M-profile demo
    /// a 0.1% hour's level wrote in 3 statements and 40 ms instead of 21 statements and 222 ms. The cost is the overlap
    /// of the first writes with later chunks, so the last write is larger; the evaluator benchmark compares both
    /// (<c>--gather-writes both</c>).
    /// </summary>
    public bool GatherWrites { get; set; } = true;

    /// <summary>
    /// Hand phase 2's units to the workers longest first (by expected key lookups), so a level does not end with one
    /// worker finishing a long unit alone; off, they go in the order of the level's segments. The evaluator benchmark
    /// compares both (<c>--longest-first both</c>).
    /// </summary>
    public bool LongestFirst { get; set; } = true;

    /// <summary>
    /// Keep phase 1's one-sided candidates of a level's shared statement only where stored membership lets them change,
    /// read in that statement (where membership has its buckets, one engine), instead of looking them up in a statement
    /// of their own after the whole rules. The whole rules then weigh the candidates that remain; off, every one-sided
    /// candidate. See <see cref="IMembershipStore.OneSidedResolved"/> for what it saves.
    /// </summary>
    public bool ResolveOneSidedInPhaseOne { get; set; } = true;

    /// <summary>
    /// How many statements a level's shared phase 1 is split into, run side by side (each for a share of the segments,
    /// at least two segments a statement). The engine plans a statement on one thread, and planning is about half of
    /// phase 1's statement on the 2M-profile demo, where two statements took phase 1 of a tick from 356–428 to 270–296 ms
    /// (0.1% of the profiles changed) and from 795–925 to 642–684 ms (1%), the ticks 9–17% faster, for 10% more rows
    /// read at 1% (the halves read some rows twice); three were no faster than two on two cores. The evaluator benchmark
    /// compares counts side by side (<c>--phase-one-statements 1,2</c>).
    /// </summary>
    public int PhaseOneStatements { get; set; } = 2;

    /// <summary>
    /// Look up the one-sided candidates in stored membership beside phase 2, whose units of the jobs without any start
    /// at once; off, the lookups finish before phase 2 starts. The evaluator benchmark compares both
    /// (<c>--lookups-beside both</c>).
    /// </summary>
    public bool LookUpOneSidedBesidePhaseTwo { get; set; } = true;

    /// <summary>
    /// Evaluate the restricted segments of a dependency level in shared statements (at most <see cref="ChunkSize"/>
    /// (segment, candidate) pairs each, at least one per worker) rather than a statement per segment chunk, where the
    /// engine has the key-value tables and the segments' conditions allow it (event counts and measures, properties,
    /// AND, OR, NOT). A segment chunk's statement costs 19–25 ms before reading a row, one per segment with candidates;
    /// but at the benchmark's 12 segments on the 2M-profile demo the shared statements read 5–10% fewer rows and took
    /// as long or longer (0.82–1.35× with two workers), so it is off by default.
    /// </summary>
    public bool EvaluateTogether { get; set; }

    /// <summary>
    /// How far the profile timelines may fall behind the history before a tick brings them up to date: history rows
    /// (events and profile updates) ingested after their watermark, as a share of the tenant's profile rows (those
    /// <see cref="WholeEvaluationShare"/> counts). A refresh rewrites each changed profile's whole timeline (on the
    /// 2M-profile demo, an hour touching 1% of the profiles: 7 s, against a 4 s full recompute); until it runs, every
    /// restricted query reads the rows behind from the history (about ten reads of each: at 69,638 rows behind, an hour
    /// at 1% read 1.17M rows instead of 0.55M). Deferred, a refresh rewrites a profile once for all the ticks it changed
    /// in (a server ticking every minute would otherwise rewrite an active profile's history every minute), and the
    /// share bounds the reads the rows behind add to a tick to well under a full recompute's (0.5% of 3.9M profile rows:
    /// 19,400 rows behind). 0 refreshes on every tick.
    /// </summary>
    public double TimelinesRefreshShare { get; set; } = 0.005;

    /// <summary>
    /// Bring the profile timelines up to date after a tick, in the background, instead of inside it: the tick reads the
    /// rows behind them from the history (exact either way), and its changes land without waiting for the rewrite of
    /// every changed profile's timeline. The refresh follows the same <see cref="TimelinesRefreshShare"/>, holds the
    /// tenant as a tick does (the next tick of that tenant waits for it; a server ticking every minute finds it long
    /// done) and is awaited when the evaluator is disposed. On the 2M-profile demo an hour touching 1% of the profiles
    /// spent 2.1 of its one-worker tick's 4.3 s in that rewrite. The server turns it on; one-shot CLI ticks keep the
    /// refresh inside the tick.
    /// </summary>
    public bool RefreshTimelinesAfterTick { get; set; }

    /// <summary>Seconds between background ticks (<see cref="EvaluationService"/>); 0 = never.</summary>
    public int EvaluateEverySeconds { get; set; } = 60;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(Workers, 1, nameof(Workers));
        ArgumentOutOfRangeException.ThrowIfLessThan(ChunkSize, 1, nameof(ChunkSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(PhaseOneStatements, 1, nameof(PhaseOneStatements));
        ArgumentOutOfRangeException.ThrowIfNegative(IngestLag.Ticks, nameof(IngestLag));
        ArgumentOutOfRangeException.ThrowIfNegative(EvaluateEverySeconds, nameof(EvaluateEverySeconds));
        ArgumentOutOfRangeException.ThrowIfNegative(FutureAllowance.Ticks, nameof(FutureAllowance));
        ArgumentOutOfRangeException.ThrowIfNegative(WholeEvaluationShare, nameof(WholeEvaluationShare));
        ArgumentOutOfRangeException.ThrowIfLessThan(WholeEvaluationMinimum, 1, nameof(WholeEvaluationMinimum));
        ArgumentOutOfRangeException.ThrowIfNegative(PropertyWholeEvaluationShare, nameof(PropertyWholeEvaluationShare));
        ArgumentOutOfRangeException.ThrowIfLessThan(PropertyWholeEvaluationMinimum, 1, nameof(PropertyWholeEvaluationMinimum));
        ArgumentOutOfRangeException.ThrowIfNegative(TimelinesRefreshShare, nameof(TimelinesRefreshShare));
        ArgumentOutOfRangeException.ThrowIfNegative(EstimateReuse.Ticks, nameof(EstimateReuse));
    }
}

/// <summary>A tick finished with some segments not brought up to date; they keep their state and the next tick retries them.</summary>
public sealed class TickFailedException(TickReport report, IReadOnlyDictionary<string, Exception> failures)
    : Exception(Describe(failures), failures.Values.FirstOrDefault())
{
    /// <summary>What the tick did for the segments that did complete.</summary>
    public TickReport Report { get; } = report;

    /// <summary>The first failure per segment (tenant/segment id).</summary>
    public IReadOnlyDictionary<string, Exception> Failures { get; } = failures;

    private static string Describe(IReadOnlyDictionary<string, Exception> failures) =>
        $"{failures.Count} segment(s) were not evaluated: " +
        string.Join("; ", failures.Take(5).Select(f => $"{f.Key}: {f.Value.Message}")) +
        (failures.Count > 5 ? "; …" : string.Empty);
}
