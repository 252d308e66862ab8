using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>
/// Time travel over the entered/exited log (ordered by tenant, segment, at: a past time reads a prefix of it). On one
/// engine a segment's first evaluation may be absent from the log (<see cref="WriteFirstEvaluationAsync"/>): every later
/// transition is logged, so a profile's membership at a time is its last entry up to then, else the opposite of its
/// first entry after it, else (never logged) its current membership.
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
        return await engine.QueryAsync(
            ReadsBuckets
                ? Sql.Of(
                    $"""
                    SELECT profile_id FROM ({DerivedMembersAt(tenant, segmentId, time, after, unloggedOnly: false)})
                    WHERE {time} >= (SELECT minOrNull(first_evaluated_at) FROM {Sql.Table(schema.SegmentFirstEvaluation)} WHERE {Keys(tenant, segmentId)})
                    ORDER BY profile_id LIMIT {Sql.Param("UInt64", (long)limit)}
                    """)
                : Sql.Of(
                    $"""
                    SELECT profile_id FROM {Sql.Table(schema.MembershipLog)}
                    WHERE {Keys(tenant, segmentId)} AND at <= {time} AND profile_id > {after}
                    GROUP BY profile_id HAVING argMax(change, at) = 'entered'
                    ORDER BY profile_id LIMIT {Sql.Param("UInt64", (long)limit)}
                    """),
            row => row.GetString(0),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The members at <paramref name="at"/> (a time at or after the first evaluation: before it, current membership
    /// is no answer, and callers return nothing) after <paramref name="after"/>,
    /// as a subquery of <c>profile_id</c>: from the log, and for profiles it never names from current membership (the
    /// buckets). <paramref name="unloggedOnly"/>: only those with no entry up to <paramref name="at"/>, the entries a
    /// first evaluation written without its log stands for.
    /// </summary>
    private SqlFragment DerivedMembersAt(string tenant, string segmentId, SqlFragment at, SqlFragment after, bool unloggedOnly)
    {
        var logged = Sql.Of($"SELECT profile_id FROM {membershipLog} WHERE {Keys(tenant, segmentId)}");
        var fromLog = unloggedOnly
            ? Sql.Of($"min(at) > {at} AND argMin(change, at) = 'exited'")
            : Sql.Of($"if(countIf(at <= {at}) > 0, argMaxIf(change, at, at <= {at}) = 'entered', argMin(change, at) = 'exited')");
        return Sql.Of(
            $"""
            SELECT profile_id FROM {membershipLog} WHERE {Keys(tenant, segmentId)} AND profile_id > {after}
            GROUP BY profile_id HAVING {fromLog}
            UNION ALL
            SELECT profile_id FROM ({BucketMembers(tenant, segmentId)}) WHERE profile_id > {after} AND profile_id NOT IN ({logged})
            """);
    }
}
