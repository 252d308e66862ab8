using System.Globalization;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

/// <summary>
/// Stored membership (<see cref="StorageSchema.Membership"/>, latest row per profile by sequence) and the
/// entered/exited log (<see cref="StorageSchema.MembershipLog"/>). Readers see each segment as of its last
/// evaluation; the evaluator's workers write through <see cref="WriteChangesAsync"/>.
/// </summary>
/// <remarks>
/// Write order makes a chunk safe to crash in and to re-run: the log rows go first, then the membership rows. A crash
/// between the two leaves log entries newer than the segment's evaluation time whose membership rows are missing;
/// <see cref="RollForwardAsync"/> (run before the segment's next evaluation) applies them, so the log and the
/// membership never disagree about a transition. Re-writing the same rows is harmless: the log deduplicates on its
/// whole key and membership keeps the row with the highest sequence.
/// </remarks>
public sealed class MembershipStore(IClickHouseEngine engine, StorageSchema schema) : IMembershipReader
{
    private const string Time3 = "DateTime64(3, 'UTC')";
    private static long lastSequence;

    public async Task<long> CountAsync(string tenant, string segmentId, CancellationToken cancellationToken)
    {
        var result = await engine.QueryAsync(
            new SqlStatement(
                $"SELECT count() FROM {schema.Membership} FINAL WHERE tenant = {{tenant:String}} AND segment_id = {{id:String}} AND is_member = 1",
                Keys(tenant, segmentId)),
            cancellationToken).ConfigureAwait(false);
        return Convert.ToInt64(result.Rows[0][0], CultureInfo.InvariantCulture);
    }

    public async Task<IReadOnlyList<string>> MembersAsync(string tenant, string segmentId, string? afterProfileId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var parameters = Keys(tenant, segmentId);
        parameters.Add(new SqlParameter("after", "String", afterProfileId ?? string.Empty));
        parameters.Add(new SqlParameter("limit", "UInt64", (long)limit));
        var result = await engine.QueryAsync(
            new SqlStatement(
                $$"""
                SELECT profile_id FROM {{schema.Membership}} FINAL
                WHERE tenant = {tenant:String} AND segment_id = {id:String} AND profile_id > {after:String} AND is_member = 1
                ORDER BY profile_id LIMIT {limit:UInt64}
                """,
                parameters),
            cancellationToken).ConfigureAwait(false);
        return [.. result.Rows.Select(r => (string)r[0]!)];
    }

    public async Task<bool> IsMemberAsync(string tenant, string segmentId, string profileId, CancellationToken cancellationToken)
    {
        var members = await MembersAmongAsync(tenant, segmentId, [profileId], cancellationToken).ConfigureAwait(false);
        return members.Members.Count == 1;
    }

    public async Task<IReadOnlyList<MembershipChange>> ChangesAsync(
        string tenant, string segmentId, DateTime? since, DateTime? until, (DateTime At, string ProfileId)? after, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var parameters = Keys(tenant, segmentId);
        var filters = new List<string>();
        if (since is { } s)
        {
            filters.Add($"at >= {{since:{Time3}}}");
            parameters.Add(new SqlParameter("since", Time3, s));
        }

        if (until is { } u)
        {
            filters.Add($"at < {{until:{Time3}}}");
            parameters.Add(new SqlParameter("until", Time3, u));
        }

        if (after is { } position)
        {
            filters.Add($"(at, profile_id) > ({{after_at:{Time3}}}, {{after_id:String}})");
            parameters.Add(new SqlParameter("after_at", Time3, position.At));
            parameters.Add(new SqlParameter("after_id", "String", position.ProfileId));
        }

        parameters.Add(new SqlParameter("limit", "UInt64", (long)limit));
        var where = string.Concat(filters.Select(f => " AND " + f));
        var result = await engine.QueryAsync(
            new SqlStatement(
                $$"""
                SELECT at, profile_id, toUInt8(change) FROM {{schema.MembershipLog}} FINAL
                WHERE tenant = {tenant:String} AND segment_id = {id:String}{{where}}
                ORDER BY at, profile_id LIMIT {limit:UInt64}
                """,
                parameters),
            cancellationToken).ConfigureAwait(false);
        return [.. result.Rows.Select(r => new MembershipChange((string)r[1]!, (DateTime)r[0]!, Convert.ToInt64(r[2], CultureInfo.InvariantCulture) == 1))];
    }

    public async Task<long> OverlapAsync(string tenant, string segmentA, string segmentB, CancellationToken cancellationToken)
    {
        if (string.Equals(segmentA, segmentB, StringComparison.Ordinal))
        {
            return await CountAsync(tenant, segmentA, cancellationToken).ConfigureAwait(false);
        }

        var result = await engine.QueryAsync(
            new SqlStatement(
                $$"""
                SELECT count() FROM (
                    SELECT profile_id FROM {{schema.Membership}} FINAL
                    WHERE tenant = {tenant:String} AND segment_id IN ({a:String}, {b:String}) AND is_member = 1
                    GROUP BY profile_id HAVING count() = 2)
                """,
                [new SqlParameter("tenant", "String", tenant), new SqlParameter("a", "String", segmentA), new SqlParameter("b", "String", segmentB)]),
            cancellationToken).ConfigureAwait(false);
        return Convert.ToInt64(result.Rows[0][0], CultureInfo.InvariantCulture);
    }

    public async Task<IReadOnlyList<string>> SegmentsOfProfileAsync(string tenant, string profileId, CancellationToken cancellationToken)
    {
        // Membership is keyed by segment first, so this reads the tenant's membership; deleted segments are left out.
        var result = await engine.QueryAsync(
            new SqlStatement(
                $$"""
                SELECT segment_id FROM {{schema.Membership}} FINAL
                WHERE tenant = {tenant:String} AND profile_id = {profile:String} AND is_member = 1
                  AND segment_id IN (
                      SELECT segment_id FROM {{schema.Segments}} WHERE tenant = {tenant:String}
                      GROUP BY segment_id HAVING argMax(deleted, version) = 0)
                ORDER BY segment_id
                """,
                [new SqlParameter("tenant", "String", tenant), new SqlParameter("profile", "String", profileId)]),
            cancellationToken).ConfigureAwait(false);
        return [.. result.Rows.Select(r => (string)r[0]!)];
    }

    /// <summary>Which of <paramref name="profileIds"/> are stored members.</summary>
    internal async Task<(HashSet<string> Members, ulong RowsRead)> MembersAmongAsync(
        string tenant, string segmentId, IReadOnlyList<string> profileIds, CancellationToken cancellationToken)
    {
        var parameters = Keys(tenant, segmentId);
        parameters.Add(new SqlParameter("ids", "Array(String)", profileIds.ToArray()));
        var result = await engine.QueryAsync(
            new SqlStatement(
                $$"""
                SELECT profile_id FROM {{schema.Membership}} FINAL
                WHERE tenant = {tenant:String} AND segment_id = {id:String} AND profile_id IN {ids:Array(String)} AND is_member = 1
                """,
                parameters),
            cancellationToken).ConfigureAwait(false);
        return (result.Rows.Select(r => (string)r[0]!).ToHashSet(StringComparer.Ordinal), result.Statistics.RowsRead);
    }

    /// <summary>
    /// Writes one chunk's transitions at evaluation time <paramref name="at"/>: the log first, then membership (see
    /// the class remarks). <paramref name="betweenWrites"/> is a test hook called between the two inserts.
    /// </summary>
    internal async Task WriteChangesAsync(
        string tenant,
        string segmentId,
        DateTime at,
        IReadOnlyCollection<string> entered,
        IReadOnlyCollection<string> exited,
        Func<ValueTask>? betweenWrites,
        CancellationToken cancellationToken)
    {
        if (entered.Count + exited.Count == 0)
        {
            return;
        }

        var time = JsonRows.Time(at);
        using (var log = new JsonRows())
        {
            foreach (var (profiles, change) in new[] { (entered, "entered"), (exited, "exited") })
            {
                foreach (var profile in profiles)
                {
                    var row = log.Begin();
                    row.WriteString("tenant", tenant);
                    row.WriteString("segment_id", segmentId);
                    row.WriteString("at", time);
                    row.WriteString("profile_id", profile);
                    row.WriteString("change", change);
                    log.End();
                }
            }

            await engine.InsertJsonEachRowAsync(schema.MembershipLog, log.ToMemory(), null, cancellationToken).ConfigureAwait(false);
        }

        if (betweenWrites is not null)
        {
            await betweenWrites().ConfigureAwait(false);
        }

        await WriteMembershipAsync(tenant, segmentId, at, entered.Select(p => (p, true)).Concat(exited.Select(p => (p, false))), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies log entries newer than <paramref name="evaluatedAt"/> (left by a tick that wrote a chunk's log but died
    /// before its membership rows or before the segment's state advanced) to membership; returns their profiles so
    /// the evaluator re-evaluates them.
    /// </summary>
    internal async Task<(IReadOnlyList<string> Profiles, ulong RowsRead)> RollForwardAsync(
        string tenant, string segmentId, DateTime? evaluatedAt, CancellationToken cancellationToken)
    {
        var parameters = Keys(tenant, segmentId);
        parameters.Add(new SqlParameter("since", Time3, evaluatedAt ?? DateTime.UnixEpoch));
        var result = await engine.QueryAsync(
            new SqlStatement(
                $$"""
                SELECT profile_id, argMax(toUInt8(change), at), max(at) FROM {{schema.MembershipLog}}
                WHERE tenant = {tenant:String} AND segment_id = {id:String} AND at > {since:{{Time3}}}
                GROUP BY profile_id ORDER BY profile_id
                """,
                parameters),
            cancellationToken).ConfigureAwait(false);
        if (result.Rows.Count == 0)
        {
            return ([], result.Statistics.RowsRead);
        }

        foreach (var group in result.Rows.GroupBy(r => (DateTime)r[2]!))
        {
            await WriteMembershipAsync(
                tenant,
                segmentId,
                group.Key,
                group.Select(r => ((string)r[0]!, Convert.ToInt64(r[1], CultureInfo.InvariantCulture) == 1)),
                cancellationToken).ConfigureAwait(false);
        }

        return ([.. result.Rows.Select(r => (string)r[0]!)], result.Statistics.RowsRead);
    }

    private async Task WriteMembershipAsync(
        string tenant, string segmentId, DateTime at, IEnumerable<(string Profile, bool IsMember)> rows, CancellationToken cancellationToken)
    {
        var sequence = NextSequence();
        var time = JsonRows.Time(at);
        using var membership = new JsonRows();
        foreach (var (profile, isMember) in rows)
        {
            var row = membership.Begin();
            row.WriteString("tenant", tenant);
            row.WriteString("segment_id", segmentId);
            row.WriteString("profile_id", profile);
            row.WriteNumber("is_member", isMember ? 1 : 0);
            row.WriteString("changed_at", time);
            row.WriteNumber("sequence", sequence);
            membership.End();
        }

        if (membership.Count > 0)
        {
            await engine.InsertJsonEachRowAsync(schema.Membership, membership.ToMemory(), null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Wall-clock microseconds, strictly increasing within the process: a later write of a profile's membership
    /// always wins over an earlier one, also across a restart (the clock moves on).
    /// </summary>
    private static long NextSequence()
    {
        var now = (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;
        while (true)
        {
            var last = Interlocked.Read(ref lastSequence);
            var next = Math.Max(now, last + 1);
            if (Interlocked.CompareExchange(ref lastSequence, next, last) == last)
            {
                return next;
            }
        }
    }

    private static List<SqlParameter> Keys(string tenant, string segmentId) =>
        [new SqlParameter("tenant", "String", tenant), new SqlParameter("id", "String", segmentId)];
}
