using System.Collections.Concurrent;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.Evaluation;

/// <summary>What a tick keeps per segment and for the whole tick.</summary>
public sealed partial class SegmentEvaluator
{
    /// <summary>One segment's work in a tick.</summary>
    private sealed class SegmentJob(string tenant, string segmentId, int version, ValidatedDefinition definition, List<string> candidates, SegmentState? previous, ulong planRows)
        : ChangeWriter.IChunkOwner
    {
        private long entered;
        private long exited;
        private long rowsRead = (long)planRows;
        private long workTicks;

        public ulong RowsRead => (ulong)Interlocked.Read(ref rowsRead);

        public TimeSpan Work => TimeSpan.FromTicks(Interlocked.Read(ref workTicks));

        public void AddWork(ulong rows, TimeSpan elapsed)
        {
            Interlocked.Add(ref rowsRead, (long)rows);
            Interlocked.Add(ref workTicks, elapsed.Ticks);
        }

        public string Tenant { get; } = tenant;

        public string SegmentId { get; } = segmentId;

        public int Version { get; } = version;

        public ValidatedDefinition Definition { get; } = definition;

        public List<string> Candidates { get; } = candidates;

        /// <summary>Phase 1's one-sided candidates, not yet looked up in the stored members (then moved to <see cref="Candidates"/>).</summary>
        public List<(string Profile, ChangeDirection Direction)> OneSided { get; set; } = [];

        /// <summary>Every profile that may be a candidate: what the whole rules weigh before the one-sided lookup.</summary>
        public int PossibleCandidates => Candidates.Count + OneSided.Count;

        public SegmentState? Previous { get; } = previous;

        /// <summary>The generation of stored members the state advances to: the previous one, unless an edit wrote a new one.</summary>
        public int Generation { get; set; } = previous?.Generation ?? 0;

        public bool CountAfter { get; set; }

        /// <summary>The size after phase 2 when it is known without counting (a brand-new segment's written members).</summary>
        public long? KnownSize { get; set; }

        /// <summary>Evaluated in one query over the universe (<see cref="EvaluateWholeAsync"/>).</summary>
        public bool Whole { get; set; }

        /// <summary>The roll-forward found log entries after the stored evaluation (an earlier attempt's, now replayed).</summary>
        public bool RolledForward { get; set; }

        /// <summary>
        /// Never evaluated and nothing of an earlier attempt rolled forward: no stored members to diff against (a
        /// segment's stored members come from writes whose first is its log, or from a first evaluation written without
        /// one, which replaces every bucket an earlier attempt of it left).
        /// </summary>
        public bool BrandNew => Previous is null && !RolledForward;

        /// <summary>
        /// No log entry of the segment can be at the evaluation time but this evaluation's own: the stored evaluation is
        /// earlier and no earlier attempt's entries were rolled forward, so what the log holds at that time can be read
        /// back as exactly this evaluation's changes.
        /// </summary>
        public bool AloneAt(DateTime evaluatedAt) => Previous is { } stored && stored.EvaluatedAt < evaluatedAt && !RolledForward;

        /// <summary>A segment evaluated before references this one: its phase 1 may read this segment's log of the tick.</summary>
        public bool LogReadByOthers { get; set; }

        /// <summary>A whole job because its candidates made the query over the universe cheaper (they stay its candidates).</summary>
        public bool WholeByCost { get; set; }

        /// <summary>For a whole job: profiles that are or were members, reported as its candidates.</summary>
        public int WholeCandidates { get; set; }

        public int CandidateCount => Whole && !WholeByCost ? WholeCandidates : Candidates.Count;

        /// <summary>
        /// Reads profile properties (and static lists) only and holds for no empty profile: its query over the universe
        /// reads ranges of the current-value table (<see cref="EvaluatorOptions.PropertyWholeEvaluationShare"/>).
        /// </summary>
        public bool ReadsOnlyProperties { get; } =
            SegmentReads.Of(definition.Definition.Condition) is { Events.Count: 0, Behavioural.Count: 0, References.Count: 0 }
            && !SegmentReads.HoldsForEmptyProfile(definition.Definition.Condition, definition.References);

        /// <summary>Tests a profile property, itself or through a segment it inlines (<see cref="ReadsRefreshedStructures"/>).</summary>
        public bool ReadsProfileProperties { get; } = SegmentCompiler.ReadsProfileProperties(definition);

        /// <summary>Reads event properties, which its chunk's key lookups carry (<see cref="ExpectedCost"/>).</summary>
        public bool ReadsEventProperties { get; } = SegmentCompiler.ReadsEventProperties(definition);

        public DateTime Watermark { get; init; }

        public long Entered => Interlocked.Read(ref entered);

        public long Exited => Interlocked.Read(ref exited);

        public Exception? Failure { get; set; }

        /// <summary>A whole evaluation's log, written and not yet applied to membership (see <see cref="ApplyWholeAsync"/>).</summary>
        public WholeLogged? Logged { get; set; }

        public void AddChanges(int enteredCount, int exitedCount)
        {
            Interlocked.Add(ref entered, enteredCount);
            Interlocked.Add(ref exited, exitedCount);
        }

        public void Written(SegmentChanges changes, TimeSpan elapsed)
        {
            AddChanges(changes.Entered.Count, changes.Exited.Count);
            AddWork(0, elapsed);
        }
    }

    /// <summary>A tick's running totals.</summary>
    private sealed class Tick(DateTime t1)
    {
        private readonly ConcurrentQueue<SegmentTickResult> results = new();
        private readonly ConcurrentQueue<string> purged = new();
        private long rowsRead;
        private long phase1Ticks;
        private long phase2Ticks;
        private int chunks;

        public DateTime T1 { get; } = t1;

        public ConcurrentDictionary<string, Exception> Failures { get; } = new(StringComparer.Ordinal);

        public void Fail(string tenant, string segmentId, Exception exception) => Failures.TryAdd($"{tenant}/{segmentId}", exception);

        public void Add(SegmentTickResult result) => results.Enqueue(result);

        public void Purge(string tenant, IEnumerable<string> segmentIds)
        {
            foreach (var id in segmentIds)
            {
                purged.Enqueue($"{tenant}/{id}");
            }
        }

        public void AddRows(ulong rows) => Interlocked.Add(ref rowsRead, (long)rows);

        public void AddChunks(int count) => Interlocked.Add(ref chunks, count);

        public void AddPhase1(TimeSpan elapsed) => Interlocked.Add(ref phase1Ticks, elapsed.Ticks);

        public void AddPhase2(TimeSpan elapsed) => Interlocked.Add(ref phase2Ticks, elapsed.Ticks);

        public TickReport Report()
        {
            var list = results.ToList();
            return new TickReport(
                T1,
                list,
                new TickStatistics(
                    list.Sum(r => r.Candidates),
                    chunks,
                    list.Sum(r => r.Entered),
                    list.Sum(r => r.Exited),
                    (ulong)Interlocked.Read(ref rowsRead),
                    TimeSpan.FromTicks(phase1Ticks),
                    TimeSpan.FromTicks(phase2Ticks)))
            {
                Purged = [.. purged],
            };
        }
    }
}
