using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

public sealed partial class MembershipStore
{
    /// <summary>The segment's stored members broken down as <paramref name="request"/> asks (see <see cref="MemberBreakdown.ReadAsync"/>).</summary>
    public Task<BreakdownResult> BreakdownAsync(string tenant, string segmentId, BreakdownRequest request, DateTime asOf, CancellationToken cancellationToken) =>
        MemberBreakdown.ReadAsync(
            engine,
            schema,
            tenant,
            ReadsBuckets ? BucketMembers(tenant, segmentId) : Sql.Of($"SELECT profile_id FROM {membership} FINAL WHERE {Keys(tenant, segmentId)} AND is_member = 1"),
            request,
            asOf,
            cancellationToken);
}
