using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>A membership store that passes every call on and counts what the evaluator writes through it.</summary>
internal sealed class RecordingMembership(IMembershipStore inner) : IMembershipStore
{
    private long entered;
    private int writes;
    private int changeSets;
    private int lookups;
    private int unloggedEdits;
    private int unloggedFirstEvaluations;

    /// <summary>Profiles written as entered, by chunk writes and by whole evaluations.</summary>
    public long Entered => Interlocked.Read(ref entered);

    /// <summary>Calls of <see cref="WriteChangesAsync"/>.</summary>
    public int Writes => Volatile.Read(ref writes);

    /// <summary>Change sets with at least one change passed to <see cref="WriteChangesAsync"/>.</summary>
    public int ChangeSets => Volatile.Read(ref changeSets);

    /// <summary>Calls of either <c>MembersAmongAsync</c> (phase 1's lookups of one-sided candidates).</summary>
    public int Lookups => Volatile.Read(ref lookups);

    public Task<(IReadOnlySet<string> Members, ulong RowsRead)> MembersAmongAsync(
        string tenant, string segmentId, IReadOnlyList<string> profileIds, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref lookups);
        return inner.MembersAmongAsync(tenant, segmentId, profileIds, cancellationToken);
    }

    public SqlFragment? StoredMembersAmong(string tenant, string segmentId, SqlFragment candidates, int? generation = null) =>
        inner.StoredMembersAmong(tenant, segmentId, candidates, generation);

    public SqlFragment? StoredMembersOfPairs(string tenant, IReadOnlyList<string> segmentIds, SqlFragment pairSegments, SqlFragment pairProfiles, IReadOnlyList<int>? generations = null) =>
        inner.StoredMembersOfPairs(tenant, segmentIds, pairSegments, pairProfiles, generations);

    public SqlFragment? OneSidedResolved(string tenant, IReadOnlyList<string> segmentIds, SqlFragment phaseOne, IReadOnlyList<int>? generations = null) =>
        inner.OneSidedResolved(tenant, segmentIds, phaseOne, generations);

    public SqlFragment? StoredMembers(string tenant, string segmentId) => inner.StoredMembers(tenant, segmentId);

    public Task<(IReadOnlyDictionary<string, IReadOnlySet<string>> Members, ulong RowsRead)> MembersAmongAsync(
        string tenant, IReadOnlyList<(string SegmentId, IReadOnlyList<string> ProfileIds)> candidates, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref lookups);
        return inner.MembersAmongAsync(tenant, candidates, cancellationToken);
    }

    public Task WriteChangesAsync(
        string tenant, DateTime at, IReadOnlyList<SegmentChanges> changes, Func<ValueTask>? betweenWrites, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref entered, changes.Sum(c => c.Entered.Count));
        Interlocked.Increment(ref writes);
        Interlocked.Add(ref changeSets, changes.Count(c => c.Count > 0));
        return inner.WriteChangesAsync(tenant, at, changes, betweenWrites, cancellationToken);
    }

    public async Task<(long Entered, ulong RowsRead)> WriteAllEnteredAsync(
        string tenant, string segmentId, DateTime at, SqlFragment members, Func<ValueTask>? betweenWrites, CancellationToken cancellationToken)
    {
        var written = await inner.WriteAllEnteredAsync(tenant, segmentId, at, members, betweenWrites, cancellationToken);
        Interlocked.Add(ref entered, written.Entered);
        return written;
    }

    public async Task<(long Entered, long Exited, ulong RowsRead)> WriteChangesFromAsync(
        string tenant, string segmentId, DateTime at, SqlFragment changes, Func<ValueTask>? betweenWrites, CancellationToken cancellationToken)
    {
        var written = await inner.WriteChangesFromAsync(tenant, segmentId, at, changes, betweenWrites, cancellationToken);
        Interlocked.Add(ref entered, written.Entered);
        return written;
    }

    public Task<WholeLogged> LogWholeAsync(
        string tenant, string segmentId, DateTime at, SqlFragment source, bool allEntered, Func<ValueTask>? betweenWrites, CancellationToken cancellationToken) =>
        inner.LogWholeAsync(tenant, segmentId, at, source, allEntered, betweenWrites, cancellationToken);

    public bool WritesFirstEvaluationUnlogged => inner.WritesFirstEvaluationUnlogged;

    public bool WritesEditsAsGenerations => inner.WritesEditsAsGenerations;

    /// <summary>First evaluations written without their log (<see cref="WriteFirstEvaluationAsync"/>).</summary>
    public int UnloggedFirstEvaluations => Volatile.Read(ref unloggedFirstEvaluations);

    public Task<WholeLogged> WriteFirstEvaluationAsync(
        string tenant, string segmentId, DateTime at, SqlFragment members, Func<ValueTask>? afterWrite, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref unloggedFirstEvaluations);
        return inner.WriteFirstEvaluationAsync(tenant, segmentId, at, members, afterWrite, cancellationToken);
    }

    /// <summary>Edits written as a generation of their own, without their log (<see cref="WriteGenerationAsync"/>).</summary>
    public int UnloggedEdits => Volatile.Read(ref unloggedEdits);

    public Task<WholeLogged> WriteGenerationAsync(
        string tenant, string segmentId, int generation, int? previousGeneration, SqlFragment members, Func<ValueTask>? afterWrite, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref unloggedEdits);
        return inner.WriteGenerationAsync(tenant, segmentId, generation, previousGeneration, members, afterWrite, cancellationToken);
    }

    public async Task<(IReadOnlyDictionary<string, (long Entered, long Exited)> Counts, ulong RowsRead)> ApplyWholeAsync(
        string tenant, DateTime at, IReadOnlyList<WholeLogged> logged, CancellationToken cancellationToken)
    {
        var applied = await inner.ApplyWholeAsync(tenant, at, logged, cancellationToken);
        Interlocked.Add(ref entered, applied.Counts.Values.Sum(c => c.Entered));
        return applied;
    }

    public Task<(IReadOnlyDictionary<string, IReadOnlyList<string>> Profiles, ulong RowsRead)> RollForwardAsync(
        string tenant, IReadOnlyList<(string SegmentId, DateTime? EvaluatedAt)> segments, CancellationToken cancellationToken) =>
        inner.RollForwardAsync(tenant, segments, cancellationToken);

    public Task ForgetAsync(string tenant, IReadOnlyCollection<string> segmentIds, CancellationToken cancellationToken) =>
        inner.ForgetAsync(tenant, segmentIds, cancellationToken);

    public Task<long> CountAsync(string tenant, string segmentId, CancellationToken cancellationToken) => inner.CountAsync(tenant, segmentId, cancellationToken);

    public Task<IReadOnlyList<string>> MembersAsync(string tenant, string segmentId, string? afterProfileId, int limit, CancellationToken cancellationToken) =>
        inner.MembersAsync(tenant, segmentId, afterProfileId, limit, cancellationToken);

    public Task<bool> IsMemberAsync(string tenant, string segmentId, string profileId, CancellationToken cancellationToken) =>
        inner.IsMemberAsync(tenant, segmentId, profileId, cancellationToken);

    public Task<IReadOnlyList<MembershipChange>> ChangesAsync(
        string tenant, string segmentId, DateTime? since, DateTime? until, (DateTime At, string ProfileId)? after, int limit, CancellationToken cancellationToken, string? profileId = null) =>
        inner.ChangesAsync(tenant, segmentId, since, until, after, limit, cancellationToken, profileId);

    public Task<long> OverlapAsync(string tenant, string segmentA, string segmentB, CancellationToken cancellationToken) =>
        inner.OverlapAsync(tenant, segmentA, segmentB, cancellationToken);

    public Task<IReadOnlyList<string>> SegmentsOfProfileAsync(string tenant, string profileId, CancellationToken cancellationToken) =>
        inner.SegmentsOfProfileAsync(tenant, profileId, cancellationToken);

    public Task<IReadOnlyList<DailyChanges>> ChangesByDayAsync(string tenant, string segmentId, DateTime since, CancellationToken cancellationToken) =>
        inner.ChangesByDayAsync(tenant, segmentId, since, cancellationToken);

    public Task<BreakdownResult> BreakdownAsync(string tenant, string segmentId, BreakdownRequest request, DateTime asOf, CancellationToken cancellationToken) =>
        inner.BreakdownAsync(tenant, segmentId, request, asOf, cancellationToken);
}
