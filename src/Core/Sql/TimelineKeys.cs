namespace SegmentMcp.Core.Sql;

/// <summary>
/// The keys of the key-value tables (<see cref="TableNames.ProfileTimelines"/>, <see cref="TableNames.MembershipLookup"/>):
/// each part but the last is written with its byte length in front (<c>4:demo</c>), so any tenant or segment id
/// (any text) keeps the key unambiguous, and a table's keys of one tenant share a prefix.
/// </summary>
public static class TimelineKeys
{
    /// <summary>The SQL key of (tenant, profile_id) for column or parameter expressions.</summary>
    public static SqlFragment Profile(SqlFragment tenant, SqlFragment profileId) =>
        Sql.Of($"concat(toString(length({tenant})), ':', {tenant}, {profileId})");

    /// <summary>The SQL key of (tenant, segment_id, profile_id).</summary>
    public static SqlFragment Membership(SqlFragment tenant, SqlFragment segmentId, SqlFragment profileId) =>
        Sql.Of($"concat(toString(length({tenant})), ':', {tenant}, toString(length({segmentId})), ':', {segmentId}, {profileId})");
}
