namespace SegmentMcp.Core.Sql;

/// <summary>
/// The keys of the key-value tables (<see cref="TableNames.ProfileTimelines"/> and the tables beside it, <see cref="TableNames.MembershipBuckets"/>):
/// each part but the last is written with its byte length in front (<c>4:demo</c>), so any tenant or segment id
/// (any text) keeps the key unambiguous, and a table's keys of one tenant share a prefix.
/// </summary>
public static class TimelineKeys
{
    /// <summary>The key of a profile's trait history in <see cref="TableNames.ProfileTraitHistories"/>.</summary>
    public static SqlFragment Profile(SqlFragment tenant, SqlFragment profileId) =>
        Sql.Of($"concat({Prefix(tenant, profileId)}, 'p')");

    /// <summary>
    /// The key of a profile's seen times in <see cref="TableNames.ProfileSeenTimes"/> (every event and profile update
    /// time, for the universe): apart from the trait history since schema 15, so a query reads only what it needs.
    /// </summary>
    public static SqlFragment Seen(SqlFragment tenant, SqlFragment profileId) =>
        Sql.Of($"concat({Prefix(tenant, profileId)}, 's')");

    /// <summary>The key of a profile's row of one metric's events in <see cref="TableNames.ProfileTimelines"/>.</summary>
    public static SqlFragment Events(SqlFragment tenant, SqlFragment profileId, SqlFragment metric) =>
        Sql.Of($"concat({Prefix(tenant, profileId)}, 'e', {metric})");

    private static SqlFragment Prefix(SqlFragment tenant, SqlFragment profileId) =>
        Sql.Of($"toString(length({tenant})), ':', {tenant}, toString(length({profileId})), ':', {profileId}");

    /// <summary>
    /// Buckets a segment's members are spread over in <see cref="TableNames.MembershipBuckets"/>. A bucket row holds
    /// about members / 4,096 profiles (99 for 404,445), small enough to read for one candidate; 4,096 rows are what a
    /// new segment writes at most, against one per member before (0.12–0.15 s against 0.34–0.37 s for 404,445 members
    /// on the 2M-profile demo; 65,536 buckets saved nothing).
    /// </summary>
    public const int MembershipBucketCount = 4096;

    /// <summary>
    /// The SQL key of the membership bucket of (tenant, segment_id, profile_id) in the segment's generation
    /// <paramref name="generation"/> (a UInt32 expression; null: generation 0, see <see cref="MembershipBucketNumber"/>).
    /// </summary>
    public static SqlFragment MembershipBucket(SqlFragment tenant, SqlFragment segmentId, SqlFragment profileId, SqlFragment? generation = null) =>
        Membership(tenant, segmentId, MembershipBucketNumber(Sql.Of($"cityHash64({profileId}) % {Sql.Number(MembershipBucketCount)}"), generation));

    /// <summary>
    /// The last part of a bucket's key: its number (a UInt expression), in generation 0 alone (the keys every segment's
    /// first evaluation and every logged change write), in a later generation behind <c>g</c> + the generation + <c>:</c>.
    /// A segment edited without logging its diff writes its new members as a new generation (its version number) and
    /// keeps the old generation's buckets as they were, the members just before the edit (see the membership store).
    /// </summary>
    public static SqlFragment MembershipBucketNumber(SqlFragment number, SqlFragment? generation) =>
        generation is null
            ? Sql.Of($"toString({number})")
            : Sql.Of($"if({generation} = 0, toString({number}), concat('g', toString({generation}), ':', toString({number})))");

    /// <summary>
    /// The key of a generation's count row in <see cref="TableNames.MembershipBuckets"/>, written by the insert that
    /// writes the generation's buckets: its members are three numbers as strings, the generation's members, the previous
    /// generation's (0 for a first evaluation) and those kept from it. The last part, <c>c</c> + the generation, is no
    /// bucket's (a number, or <c>g</c> + a generation + <c>:</c> + a number); every reader of buckets names its keys, and
    /// a deleted segment's rows go by its key prefix, this one too.
    /// </summary>
    public static SqlFragment MembershipCount(SqlFragment tenant, SqlFragment segmentId, SqlFragment generation) =>
        Membership(tenant, segmentId, Sql.Of($"concat('c', toString({generation}))"));

    /// <summary>The SQL key of (tenant, segment_id, profile_id) in <see cref="TableNames.MembershipLookup"/> (versions 6–9).</summary>
    public static SqlFragment Membership(SqlFragment tenant, SqlFragment segmentId, SqlFragment profileId) =>
        Sql.Of($"concat(toString(length({tenant})), ':', {tenant}, toString(length({segmentId})), ':', {segmentId}, {profileId})");

    /// <summary>
    /// Whether a <see cref="Membership"/> key is of <paramref name="tenant"/> and one of <paramref name="segmentIds"/>
    /// (an Array(String)): the segment part read back from its length prefix.
    /// </summary>
    public static SqlFragment MembershipOfSegments(SqlFragment key, SqlFragment tenant, SqlFragment segmentIds)
    {
        var tenantPrefix = Sql.Of($"concat(toString(length({tenant})), ':', {tenant})");
        return Sql.Of($"startsWith({key}, {tenantPrefix}) AND has({segmentIds}, {MembershipSegment(key, tenant)})");
    }

    /// <summary>Whether a key of the membership buckets is one of <paramref name="tenant"/>'s.</summary>
    public static SqlFragment OfTenant(SqlFragment key, SqlFragment tenant) =>
        Sql.Of($"startsWith({key}, concat(toString(length({tenant})), ':', {tenant}))");

    /// <summary>
    /// Whether a <see cref="Membership"/> key of <paramref name="tenant"/> is a generation's count row
    /// (<see cref="MembershipCount"/>): its last part, after the segment, starts with <c>c</c>, which no bucket's does.
    /// </summary>
    public static SqlFragment IsMembershipCount(SqlFragment key, SqlFragment tenant)
    {
        var tenantPrefix = Sql.Of($"concat(toString(length({tenant})), ':', {tenant})");
        var rest = Sql.Of($"substring({key}, length({tenantPrefix}) + 1)");
        var colon = Sql.Of($"position({rest}, ':')");
        return Sql.Of($"startsWith(substring({rest}, {colon} + 1 + toUInt64OrZero(substring({rest}, 1, {colon} - 1))), 'c')");
    }

    /// <summary>The segment part of a <see cref="Membership"/> key of <paramref name="tenant"/>, read back from its length prefix.</summary>
    public static SqlFragment MembershipSegment(SqlFragment key, SqlFragment tenant)
    {
        var tenantPrefix = Sql.Of($"concat(toString(length({tenant})), ':', {tenant})");
        var rest = Sql.Of($"substring({key}, length({tenantPrefix}) + 1)");
        var colon = Sql.Of($"position({rest}, ':')");
        return Sql.Of($"substring({rest}, {colon} + 1, toUInt64OrZero(substring({rest}, 1, {colon} - 1)))");
    }

    /// <summary>
    /// Reads a <see cref="Membership"/> key of <paramref name="tenant"/> back into its segment and profile (the parts'
    /// lengths are UTF-8 byte counts, as ClickHouse's <c>length</c> counts them); null for a key of another shape.
    /// </summary>
    public static (string SegmentId, string ProfileId)? ReadMembership(string key, string tenant)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(key);
        var tenantPrefix = System.Text.Encoding.UTF8.GetBytes(
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{System.Text.Encoding.UTF8.GetByteCount(tenant)}:{tenant}"));
        if (!bytes.AsSpan().StartsWith(tenantPrefix))
        {
            return null;
        }

        var rest = bytes.AsSpan(tenantPrefix.Length);
        var colon = rest.IndexOf((byte)':');
        if (colon <= 0 || !int.TryParse(rest[..colon], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length)
            || length > rest.Length - colon - 1)
        {
            return null;
        }

        var segment = rest.Slice(colon + 1, length);
        var profile = rest[(colon + 1 + length)..];
        return (System.Text.Encoding.UTF8.GetString(segment), System.Text.Encoding.UTF8.GetString(profile));
    }
}
