using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>
/// Time travel over the entered/exited log (ordered by tenant, segment, at: a past time reads a prefix of it). On one
/// engine a segment's first evaluation and its edits may be absent from the log (<see cref="WriteGenerationAsync"/>):
/// each starts a generation of stored members, and every transition within a generation is logged. So within a
/// generation a profile's membership at a time is its last entry up to then, else the opposite of its first entry
/// after it (before the next generation), else (never logged in it) its membership in the generation's buckets, which
/// for every generation but the current one are the members just before the next one started.
/// </summary>
public sealed partial class MembershipStore : IMembershipHistory
{
    public async Task<DateTime?> FirstEvaluatedAtAsync(string tenant, string segmentId, CancellationToken cancellationToken)
    {
        var rows = await engine.QueryAsync(
            Sql.Of($"SELECT min(first_evaluated_at) FROM {Sql.Table(schema.SegmentFirstEvaluation)} WHERE {Keys(tenant, segmentId)} HAVING count() > 0"),
            row => row.GetDateTime(0),
            cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<string>> MembersAtAsync(
        string tenant, string segmentId, DateTime at, string? afterProfileId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var after = Sql.Param("String", afterProfileId ?? string.Empty);
        var time = Sql.Param(ClickHouseTime.Milliseconds, at);
        if (!ReadsBuckets)
        {
            return await engine.QueryAsync(
                Sql.Of(
                    $"""
                    SELECT profile_id FROM {Sql.Table(schema.MembershipLog)}
                    WHERE {Keys(tenant, segmentId)} AND at <= {time} AND profile_id > {after}
                    GROUP BY profile_id HAVING argMax(change, at) = 'entered'
                    ORDER BY profile_id LIMIT {Sql.Param("UInt64", (long)limit)}
                    """),
                row => row.GetString(0),
                cancellationToken).ConfigureAwait(false);
        }

        // Before the first evaluation, current membership is no answer: nothing.
        var generations = await GenerationsAsync(tenant, segmentId, cancellationToken).ConfigureAwait(false);
        var index = generations.FindLastIndex(g => g.StartedAt <= at);
        if (index < 0)
        {
            return [];
        }

        return await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT profile_id FROM ({DerivedMembersAt(tenant, segmentId, generations, index, time, after, unloggedOnly: false)})
                ORDER BY profile_id LIMIT {Sql.Param("UInt64", (long)limit)}
                """),
            row => row.GetString(0),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A segment's generations of stored members (one engine), oldest first: generation 0 from the first evaluation, then
    /// each edit written as a generation of its own, from its state's first evaluation time. Empty before the first evaluation.
    /// </summary>
    private async Task<List<(int Generation, DateTime StartedAt)>> GenerationsAsync(string tenant, string segmentId, CancellationToken cancellationToken)
    {
        var rows = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT toInt32(0), min(first_evaluated_at) FROM {Sql.Table(schema.SegmentFirstEvaluation)} WHERE {Keys(tenant, segmentId)} HAVING count() > 0
                UNION ALL
                SELECT toInt32(generation), min(started_at) FROM {Sql.Table(schema.SegmentGenerations)} WHERE {Keys(tenant, segmentId)} AND generation > 0 GROUP BY generation
                """),
            row => (Generation: row.GetInt32(0), StartedAt: row.GetDateTime(1)),
            cancellationToken).ConfigureAwait(false);
        var first = rows.Where(r => r.Generation == 0).ToList();
        return first.Count == 0
            ? []
            : [.. first, .. rows.Where(r => r.Generation > 0 && r.StartedAt > first[0].StartedAt).OrderBy(r => r.StartedAt)];
    }

    /// <summary>
    /// The members at <paramref name="at"/> (a time in generation <paramref name="index"/> of
    /// <paramref name="generations"/>) after <paramref name="after"/>, as a subquery of <c>profile_id</c>: from the
    /// generation's log, and for profiles it never names from the generation's buckets. <paramref name="unloggedOnly"/>:
    /// only those with no entry up to <paramref name="at"/>, the entries a generation written without its log stands for.
    /// </summary>
    private SqlFragment DerivedMembersAt(
        string tenant, string segmentId, IReadOnlyList<(int Generation, DateTime StartedAt)> generations, int index, SqlFragment at, SqlFragment after, bool unloggedOnly)
    {
        var range = Sql.Of($"{Keys(tenant, segmentId)} AND at >= {Sql.Param(Time3, generations[index].StartedAt)}");
        if (index + 1 < generations.Count)
        {
            range = Sql.Of($"{range} AND at < {Sql.Param(Time3, generations[index + 1].StartedAt)}");
        }

        var logged = Sql.Of($"SELECT profile_id FROM {membershipLog} WHERE {range}");
        var fromLog = unloggedOnly
            ? Sql.Of($"min(at) > {at} AND argMin(change, at) = 'exited'")
            : Sql.Of($"if(countIf(at <= {at}) > 0, argMaxIf(change, at, at <= {at}) = 'entered', argMin(change, at) = 'exited')");
        return Sql.Of(
            $"""
            SELECT profile_id FROM {membershipLog} WHERE {range} AND profile_id > {after}
            GROUP BY profile_id HAVING {fromLog}
            UNION ALL
            SELECT profile_id FROM ({BucketMembers(tenant, segmentId, Sql.Number(generations[index].Generation))}) WHERE profile_id > {after} AND profile_id NOT IN ({logged})
            """);
    }

    /// <summary>
    /// The entries each generation written without its log stands for, at its start, for <see cref="ChangesAsync"/>:
    /// rows of (at, profile_id, change as UInt8) of the generations starting within [<paramref name="since"/>,
    /// <paramref name="until"/>) and not before <paramref name="after"/>; null when none does. A first evaluation's
    /// members entered; an edit's entered and exited profiles are its members at its start against the previous
    /// generation's buckets (the members just before it).
    /// </summary>
    private async Task<SqlFragment?> DerivedEntriesAsync(
        string tenant, string segmentId, DateTime? since, DateTime? until, (DateTime At, string ProfileId)? after, CancellationToken cancellationToken)
    {
        var generations = await GenerationsAsync(tenant, segmentId, cancellationToken).ConfigureAwait(false);
        var branches = new List<SqlFragment>();
        for (var i = 0; i < generations.Count; i++)
        {
            var start = generations[i].StartedAt;
            if ((since is { } s && start < s) || (until is { } u && start >= u) || (after is { } a && a.At > start))
            {
                continue;
            }

            var time = Sql.Param(Time3, start);
            var afterProfile = Sql.Param("String", after is { } resumeAt && resumeAt.At == start ? resumeAt.ProfileId : string.Empty);
            if (i == 0)
            {
                branches.Add(Sql.Of($"SELECT {time} AS at, profile_id, toUInt8(1) AS change FROM ({DerivedMembersAt(tenant, segmentId, generations, i, time, afterProfile, unloggedOnly: true)})"));
                continue;
            }

            // Each side read once, a profile on one side only being an entry (the edit's members) or an exit (the
            // members before it): one aggregation, where two NOT IN sets a side had taken 738 ms for 318,560 and
            // 341,070 members (2M-profile demo).
            var now = DerivedMembersAt(tenant, segmentId, generations, i, time, afterProfile, unloggedOnly: false);
            var previous = Sql.Number(generations[i - 1].Generation);
            branches.Add(Sql.Of(
                $"""
                SELECT {time} AS at, profile_id, toUInt8(max(side)) AS change FROM (
                    SELECT profile_id, 1 AS side FROM ({now})
                    UNION ALL
                    SELECT profile_id, 0 AS side FROM ({BucketMembers(tenant, segmentId, previous)}) WHERE profile_id > {afterProfile})
                GROUP BY profile_id HAVING count() = 1
                """));
        }

        return branches.Count == 0 ? null : Sql.Join(Sql.Of($"\nUNION ALL\n"), branches);
    }
}
