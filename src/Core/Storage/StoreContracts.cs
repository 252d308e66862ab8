using SegmentMcp.Core.Sql;
namespace SegmentMcp.Core.Storage;

/// <summary>A saved segment's current version and its evaluation state.</summary>
/// <param name="Id">Stable id (slug of the name plus a short random suffix, e.g. "recent-openers-3f9a").</param>
/// <param name="Version">1 on create, +1 on every update.</param>
/// <param name="DefinitionJson">The definition exactly as saved (the DSL's JSON).</param>
/// <param name="EvaluatedAt">The evaluation time of the membership now stored; null before the first evaluation.</param>
/// <param name="Size">Members at <paramref name="EvaluatedAt"/>; null before the first evaluation.</param>
public sealed record SavedSegment(
    string Id,
    int Version,
    string Name,
    string? Description,
    string DefinitionJson,
    DateTime CreatedAt,
    DateTime? EvaluatedAt,
    long? Size)
{
    /// <summary>Whether the id, name or description contains <paramref name="text"/>, ignoring case (a search of the list).</summary>
    public bool Mentions(string text) =>
        Id.Contains(text, StringComparison.OrdinalIgnoreCase)
        || Name.Contains(text, StringComparison.OrdinalIgnoreCase)
        || (Description?.Contains(text, StringComparison.OrdinalIgnoreCase) ?? false);
}

/// <summary>Saved segment definitions, every version kept, per tenant.</summary>
public interface ISegmentStore
{
    /// <summary>
    /// Saves a definition that the caller has already validated: a new segment when <paramref name="segmentId"/> is
    /// null, else a new version of that segment (KeyNotFoundException when it does not exist).
    /// </summary>
    Task<SavedSegment> SaveAsync(string tenant, string? segmentId, string name, string? description, string definitionJson, CancellationToken cancellationToken);

    /// <summary>
    /// Deletes a segment: it is no longer listed or evaluated, and the evaluator's next tick removes its stored
    /// membership and log. False when it did not exist.
    /// </summary>
    Task<bool> DeleteAsync(string tenant, string segmentId, CancellationToken cancellationToken);

    Task<SavedSegment?> GetAsync(string tenant, string segmentId, CancellationToken cancellationToken);

    /// <summary>Every live segment of the tenant, ordered by id.</summary>
    Task<IReadOnlyList<SavedSegment>> ListAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>
    /// The saved versions of a live segment, newest first, those below <paramref name="beforeVersion"/> when given, at
    /// most <paramref name="limit"/>; empty when the segment does not exist or is deleted.
    /// </summary>
    Task<IReadOnlyList<SegmentVersion>> VersionsAsync(string tenant, string segmentId, int? beforeVersion, int limit, CancellationToken cancellationToken);
}

/// <summary>One entry of the entered/exited log.</summary>
public sealed record MembershipChange(string ProfileId, DateTime At, bool Entered);

/// <summary>How many profiles entered and exited a segment on one UTC day.</summary>
public sealed record DailyChanges(DateOnly Day, long Entered, long Exited);

/// <summary>Reads stored membership (as of each segment's last evaluation) and its change log.</summary>
public interface IMembershipReader
{
    Task<long> CountAsync(string tenant, string segmentId, CancellationToken cancellationToken);

    /// <summary>Members ordered by profile id, after <paramref name="afterProfileId"/> (keyset paging).</summary>
    Task<IReadOnlyList<string>> MembersAsync(string tenant, string segmentId, string? afterProfileId, int limit, CancellationToken cancellationToken);

    /// <summary>Whether the profile is a stored member.</summary>
    Task<bool> IsMemberAsync(string tenant, string segmentId, string profileId, CancellationToken cancellationToken);

    /// <summary>
    /// Log entries with since ≤ at &lt; until, ordered by (at, profile id), after the given position; only
    /// <paramref name="profileId"/>'s when given.
    /// </summary>
    Task<IReadOnlyList<MembershipChange>> ChangesAsync(
        string tenant, string segmentId, DateTime? since, DateTime? until, (DateTime At, string ProfileId)? after, int limit, CancellationToken cancellationToken, string? profileId = null);

    /// <summary>Log entries at or after <paramref name="since"/> counted per UTC day (days without any left out), oldest first.</summary>
    Task<IReadOnlyList<DailyChanges>> ChangesByDayAsync(string tenant, string segmentId, DateTime since, CancellationToken cancellationToken);

    /// <summary>How many profiles are stored members of both segments.</summary>
    Task<long> OverlapAsync(string tenant, string segmentA, string segmentB, CancellationToken cancellationToken);

    /// <summary>The segments the profile is a stored member of.</summary>
    Task<IReadOnlyList<string>> SegmentsOfProfileAsync(string tenant, string profileId, CancellationToken cancellationToken);

    /// <summary>
    /// The stored members broken down by the profile properties and event properties asked for (values and events as
    /// of <paramref name="asOf"/>), in the order asked.
    /// </summary>
    Task<BreakdownResult> BreakdownAsync(string tenant, string segmentId, BreakdownRequest request, DateTime asOf, CancellationToken cancellationToken);
}

/// <summary>One version row of a saved segment, as stored (a delete is a version with <paramref name="Deleted"/> set).</summary>
public sealed record SegmentVersion(
    string Tenant, string SegmentId, int Version, string Name, string Description, string DefinitionJson, bool Deleted, DateTime CreatedAt);

/// <summary>How far a segment's stored membership is evaluated: version, evaluation time, ingestion watermark, size.</summary>
/// <param name="Generation">
/// Which generation of stored members is current (one engine): 0 from the first evaluation, an edited version's number
/// once that edit wrote its members as a generation of their own (see <see cref="IMembershipStore.WriteGenerationAsync"/>).
/// </param>
public sealed record SegmentState(int Version, DateTime EvaluatedAt, DateTime IngestWatermark, long Size, int Generation = 0);

/// <summary>The profiles that entered and exited one segment at one evaluation (of one chunk or a whole segment).</summary>
/// <param name="SegmentId">The segment.</param>
/// <param name="Entered">Profiles now members that were not.</param>
/// <param name="Exited">Profiles no longer members that were.</param>
public sealed record SegmentChanges(string SegmentId, IReadOnlyCollection<string> Entered, IReadOnlyCollection<string> Exited)
{
    /// <summary>
    /// The generation of stored members the changes apply to, when the writer knows it (the evaluator does, from the
    /// segment's state); null: the store reads it from the state.
    /// </summary>
    public int? Generation { get; init; }

    /// <summary>Entered and exited together.</summary>
    public int Count => Entered.Count + Exited.Count;
}

/// <summary>What the evaluator reads and writes about saved segments: which to evaluate, and how far each is evaluated.</summary>
/// <summary>A whole evaluation's log rows, written by <see cref="IMembershipStore.LogWholeAsync"/> and not yet applied to membership.</summary>
/// <param name="SegmentId">The segment.</param>
/// <param name="AllEntered">Every row is an entry of a segment that had no members (a brand-new segment).</param>
/// <param name="Entered">How many entered, when the log's insert reported it (only where every row is an entry).</param>
/// <param name="RowsRead">What the engine read to write the log.</param>
public sealed record WholeLogged(string SegmentId, bool AllEntered, long? Entered, ulong RowsRead)
{
    /// <summary>
    /// A first evaluation written straight into current membership, not logged (<see cref="IMembershipStore.WriteFirstEvaluationAsync"/>):
    /// <see cref="IMembershipStore.ApplyWholeAsync"/> only counts its members.
    /// </summary>
    public bool MembershipWritten { get; init; }

    /// <summary>The generation a write without its log filled (<see cref="IMembershipStore.WriteGenerationAsync"/>).</summary>
    public int Generation { get; init; }

    /// <summary>For an edit written as a new generation: the generation before it, kept as it was.</summary>
    public int? PreviousGeneration { get; init; }
}

public interface ISegmentStateStore
{
    /// <summary>The tenants that have at least one live segment or the evaluation state of a deleted one, ordered.</summary>
    Task<IReadOnlyList<string>> TenantsAsync(CancellationToken cancellationToken);

    /// <summary>Every live segment's current version (its definition included), ordered by id.</summary>
    Task<IReadOnlyList<SegmentVersion>> LiveVersionsAsync(string tenant, CancellationToken cancellationToken);

    /// <summary>The latest evaluation state per segment id (one segment, or all of the tenant's when null).</summary>
    Task<IReadOnlyDictionary<string, SegmentState>> StatesAsync(string tenant, string? segmentId, CancellationToken cancellationToken);

    /// <summary>Records, in one write, that each segment's membership is complete up to its state.</summary>
    Task WriteStatesAsync(string tenant, IReadOnlyList<(string SegmentId, SegmentState State)> states, CancellationToken cancellationToken);

    /// <summary>Which of <paramref name="segmentIds"/> are deleted (a deleted id is never used again).</summary>
    Task<IReadOnlyList<string>> DeletedAmongAsync(string tenant, IReadOnlyCollection<string> segmentIds, CancellationToken cancellationToken);

    /// <summary>Forgets the evaluation state of deleted segments, once their stored rows are removed.</summary>
    Task ForgetStatesAsync(string tenant, IReadOnlyCollection<string> segmentIds, CancellationToken cancellationToken);
}

/// <summary>Stored membership as the evaluator's workers read and write it, besides what every reader sees.</summary>
public interface IMembershipStore : IMembershipReader
{
    /// <summary>Which of <paramref name="profileIds"/> are stored members, and the rows the engine read to tell.</summary>
    Task<(IReadOnlySet<string> Members, ulong RowsRead)> MembersAmongAsync(
        string tenant, string segmentId, IReadOnlyList<string> profileIds, CancellationToken cancellationToken);

    /// <summary>
    /// The stored members among the profiles a query has bound to <paramref name="candidates"/> (an Array(String)
    /// expression), as a subquery of one column, so a restricted query can be diffed in the same statement; null where
    /// membership has no key lookup (on a cluster), and the caller diffs with <see cref="MembersAmongAsync(string, string, IReadOnlyList{string}, CancellationToken)"/>.
    /// </summary>
    /// <param name="generation">The segment's current generation when the caller knows it (null: read from its state).</param>
    SqlFragment? StoredMembersAmong(string tenant, string segmentId, SqlFragment candidates, int? generation = null);

    /// <summary>
    /// <see cref="StoredMembersAmong"/> for several segments: a subquery of (segment UInt32, member String), the stored
    /// members among pairs a query has bound to <paramref name="pairSegments"/> (an Array(UInt32) of 1-based positions in
    /// <paramref name="segmentIds"/>) and <paramref name="pairProfiles"/> (an Array(String) parallel to it); a member is
    /// returned for every segment of the pairs it is in, and may be returned for a segment it is no candidate of. Null
    /// where <see cref="StoredMembersAmong"/> is.
    /// </summary>
    SqlFragment? StoredMembersOfPairs(string tenant, IReadOnlyList<string> segmentIds, SqlFragment pairSegments, SqlFragment pairProfiles, IReadOnlyList<int>? generations = null);

    /// <summary>
    /// Phase 1's rows (<paramref name="phaseOne"/>: segment, a 0-based position in <paramref name="segmentIds"/>,
    /// profile_id and directions) with every one-sided row (<see cref="ChangeDirection.IfMember"/> or
    /// <see cref="ChangeDirection.IfNotMember"/> alone) kept only where the stored membership lets it change, looked up
    /// in the same statement; null where <see cref="StoredMembersAmong"/> is (the caller looks them up afterwards with
    /// <see cref="MembersAmongAsync(string, IReadOnlyList{ValueTuple{string, IReadOnlyList{string}}}, CancellationToken)"/>).
    /// </summary>
    /// <param name="generations">Each segment's current generation when the caller knows them (null: read from their states).</param>
    SqlFragment? OneSidedResolved(string tenant, IReadOnlyList<string> segmentIds, SqlFragment phaseOne, IReadOnlyList<int>? generations = null);

    /// <summary>
    /// Every stored member of a segment as a one-column subquery, so a whole evaluation can be diffed in the same
    /// statement; null where <see cref="StoredMembersAmong"/> is (the caller diffs in the process).
    /// </summary>
    SqlFragment? StoredMembers(string tenant, string segmentId);

    /// <summary>The same for several segments at once: each segment's stored members among its profiles.</summary>
    Task<(IReadOnlyDictionary<string, IReadOnlySet<string>> Members, ulong RowsRead)> MembersAmongAsync(
        string tenant, IReadOnlyList<(string SegmentId, IReadOnlyList<string> ProfileIds)> candidates, CancellationToken cancellationToken);

    /// <summary>
    /// Writes transitions at evaluation time <paramref name="at"/>, of one or more chunks of any of the tenant's
    /// segments: the entered/exited log first, then membership, so a crash in between is repaired by
    /// <see cref="RollForwardAsync"/>. <paramref name="betweenWrites"/> (a test hook) runs between the two writes.
    /// </summary>
    Task WriteChangesAsync(
        string tenant,
        DateTime at,
        IReadOnlyList<SegmentChanges> changes,
        Func<ValueTask>? betweenWrites,
        CancellationToken cancellationToken);

    /// <summary>
    /// For a segment with no stored members: every profile <paramref name="members"/> returns entered at
    /// <paramref name="at"/>, written by the engine itself (log first, then membership from the log), so the members
    /// never cross into the process. Returns how many entered and the rows the engine read.
    /// </summary>
    Task<(long Entered, ulong RowsRead)> WriteAllEnteredAsync(
        string tenant, string segmentId, DateTime at, SqlFragment members, Func<ValueTask>? betweenWrites, CancellationToken cancellationToken);

    /// <summary>
    /// For a whole evaluation diffed in the engine (where <see cref="StoredMembers"/> is not null): the transitions
    /// <paramref name="changes"/> returns, rows of (candidate, now_member), written at <paramref name="at"/> by the engine
    /// itself, the log first and then membership and its buckets from it, so neither the members nor the changes cross
    /// into the process. The caller guarantees that the log holds no other entry of the segment at <paramref name="at"/>
    /// (the new rows are read back by that time). Returns how many entered and exited and the rows the engine read.
    /// </summary>
    Task<(long Entered, long Exited, ulong RowsRead)> WriteChangesFromAsync(
        string tenant, string segmentId, DateTime at, SqlFragment changes, Func<ValueTask>? betweenWrites, CancellationToken cancellationToken);

    /// <summary>
    /// The first half of <see cref="WriteAllEnteredAsync"/> (<paramref name="allEntered"/>, <paramref name="source"/>
    /// returning the members) or of <see cref="WriteChangesFromAsync"/> (<paramref name="source"/> returning rows of
    /// (candidate, now_member)): the log alone, written by the engine; then <paramref name="betweenWrites"/>. Current
    /// membership follows with <see cref="ApplyWholeAsync"/>, one call for many such logs, so a level of whole
    /// evaluations copies its logs into membership with one statement instead of one a segment. Until then the
    /// segment's state must not advance: a crash in between leaves log entries that <see cref="RollForwardAsync"/> applies.
    /// </summary>
    Task<WholeLogged> LogWholeAsync(
        string tenant, string segmentId, DateTime at, SqlFragment source, bool allEntered, Func<ValueTask>? betweenWrites, CancellationToken cancellationToken);

    /// <summary>
    /// Whether <see cref="WriteFirstEvaluationAsync"/> is available: on one engine, where current membership is the
    /// buckets alone and readers of the log's past derive a first evaluation's entries from them.
    /// </summary>
    bool WritesFirstEvaluationUnlogged { get; }

    /// <summary>
    /// A brand-new segment's first evaluation written straight into current membership (every bucket, from
    /// <paramref name="members"/>), without its log: its entries are the members at its first evaluation, which
    /// <see cref="IMembershipReader.ChangesAsync"/> and <see cref="IMembershipHistory.MembersAtAsync"/> derive from current
    /// membership and the later log, every later transition being logged. Only for a segment whose log no other segment
    /// reads (phase 1 of a referencing segment reads its references' log). Its state must not advance before
    /// <see cref="ApplyWholeAsync"/> has counted it; a write cut short is replaced whole by the next attempt.
    /// </summary>
    Task<WholeLogged> WriteFirstEvaluationAsync(
        string tenant, string segmentId, DateTime at, SqlFragment members, Func<ValueTask>? afterWrite, CancellationToken cancellationToken);

    /// <summary>
    /// Whether a changed version is written with <see cref="WriteGenerationAsync"/> (on one engine) rather than by
    /// logging its diff (<see cref="LogWholeAsync"/>, which a segment another one references still takes).
    /// </summary>
    bool WritesEditsAsGenerations { get; }

    /// <summary>
    /// A changed version's evaluation written like a first evaluation: every bucket of the new generation
    /// <paramref name="generation"/> (the version's number) from <paramref name="members"/>, without a log, the
    /// generation <paramref name="previousGeneration"/> kept as it is, the members just before the edit, from which
    /// <see cref="IMembershipReader.ChangesAsync"/> and <see cref="IMembershipHistory.MembersAtAsync"/> derive the edit's
    /// entries. Current membership moves to the new generation when the segment's state does (it names the generation),
    /// so until then every reader sees the previous members. Only where <see cref="WritesFirstEvaluationUnlogged"/>, for
    /// a segment whose log no other segment reads; <see cref="ApplyWholeAsync"/> counts its entered and exited profiles.
    /// </summary>
    Task<WholeLogged> WriteGenerationAsync(
        string tenant, string segmentId, int generation, int? previousGeneration, SqlFragment members, Func<ValueTask>? afterWrite, CancellationToken cancellationToken);

    /// <summary>
    /// Current membership of the whole evaluations <paramref name="logged"/> at <paramref name="at"/> (see
    /// <see cref="LogWholeAsync"/>), from their log rows: the brand-new segments' buckets in one statement, the changed
    /// ones' rewrites in another, and the counts the logs' inserts did not report in a third, side by side. Returns each
    /// segment's entered and exited profiles and the rows the engine read.
    /// </summary>
    Task<(IReadOnlyDictionary<string, (long Entered, long Exited)> Counts, ulong RowsRead)> ApplyWholeAsync(
        string tenant, DateTime at, IReadOnlyList<WholeLogged> logged, CancellationToken cancellationToken);

    /// <summary>
    /// Applies log entries newer than each segment's evaluation time (left by a tick that died between its writes) to
    /// membership; returns their profiles per segment (segments with none are absent), to be re-evaluated, and the
    /// rows the engine read.
    /// </summary>
    Task<(IReadOnlyDictionary<string, IReadOnlyList<string>> Profiles, ulong RowsRead)> RollForwardAsync(
        string tenant, IReadOnlyList<(string SegmentId, DateTime? EvaluatedAt)> segments, CancellationToken cancellationToken);

    /// <summary>Removes the stored membership, log and lookup rows of deleted segments.</summary>
    Task ForgetAsync(string tenant, IReadOnlyCollection<string> segmentIds, CancellationToken cancellationToken);
}

/// <summary>A saved segment's membership at a past time, replayed from its entered/exited log.</summary>
public interface IMembershipHistory
{
    /// <summary>The segment's first evaluation (where its log starts), or null when it has not been evaluated yet.</summary>
    Task<DateTime?> FirstEvaluatedAtAsync(string tenant, string segmentId, CancellationToken cancellationToken);

    /// <summary>
    /// The members as of the last evaluation at or before <paramref name="at"/>: profiles whose latest log entry up to
    /// then is "entered", ordered by profile id, after <paramref name="afterProfileId"/> (keyset paging).
    /// </summary>
    Task<IReadOnlyList<string>> MembersAtAsync(string tenant, string segmentId, DateTime at, string? afterProfileId, int limit, CancellationToken cancellationToken);
}
