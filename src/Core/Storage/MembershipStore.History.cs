using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>Time travel over the entered/exited log (ordered by tenant, segment, at: a past time reads a prefix of it).</summary>
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
        return await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT profile_id FROM {Sql.Table(schema.MembershipLog)}
                WHERE {Keys(tenant, segmentId)} AND at <= {Sql.Param(ClickHouseTime.Milliseconds, at)} AND profile_id > {Sql.Param("String", afterProfileId ?? string.Empty)}
                GROUP BY profile_id HAVING argMax(change, at) = 'entered'
                ORDER BY profile_id LIMIT {Sql.Param("UInt64", (long)limit)}
                """),
            row => row.GetString(0),
            cancellationToken).ConfigureAwait(false);
    }
}
