using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>What an erasure removed: the profiles that had anything stored, and per saved segment how many of them were members.</summary>
public sealed record ErasureReport(IReadOnlyList<string> Erased, IReadOnlyList<string> Unknown, IReadOnlyDictionary<string, long> RemovedFromSegments);

/// <summary>
/// Erases profiles from a tenant, as a person's request to be forgotten asks: their events, profile records and trait
/// history, the accelerators built from them (current values, the key-value timelines), their entries on static lists
/// with those lists' history of them, and their segment memberships with every entered/exited row and past
/// generation that names them. Afterwards no read, past or present, shows them, and stored membership is what a full
/// recompute gives, so the evaluator carries on incrementally: each segment's stored size is lowered by the members
/// it lost.
/// </summary>
/// <remarks>
/// Every step is a delete by (tenant, profile id), so an erasure cut short is finished by running it again. Run it
/// between evaluations: a tick that read a segment's size before the erasure and writes it after would keep the erased
/// members in that size until the segment is next evaluated whole (an edit). History tables are rewritten by
/// ClickHouse mutations, which copy every part holding one of the profiles: erase in batches, not one at a time.
/// </remarks>
public sealed class ProfileEraser(IClickHouseEngine engine, StorageSchema schema, ISegmentStateStore states, IMembershipStore membership)
{
    /// <summary>At most this many profile ids in one erasure.</summary>
    public const int MaxProfilesPerCall = 10_000;

    public async Task<ErasureReport> EraseAsync(string tenant, IReadOnlyCollection<string> profileIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(profileIds);
        if (profileIds.Count > MaxProfilesPerCall)
        {
            throw new ArgumentException($"At most {MaxProfilesPerCall:N0} profile ids per erasure; got {profileIds.Count:N0}.", nameof(profileIds));
        }

        string[] ids = [.. profileIds.Distinct(StringComparer.Ordinal)];
        if (ids.Length == 0)
        {
            return new ErasureReport([], [], new Dictionary<string, long>());
        }

        var tenantValue = Sql.Param("String", tenant);
        var idsValue = Sql.Param("Array(String)", ids);
        var known = await KnownAsync(tenantValue, idsValue, cancellationToken).ConfigureAwait(false);

        // The history first, then what was derived from it: a tick running meanwhile that sees a profile's data gone
        // logs its exit and lowers the size itself, and membership is then taken only from segments still holding it.
        foreach (var table in new Func<TableNames, string>[] { t => t.Events, t => t.ProfileUpdates, t => t.Traits, t => t.Profiles, t => t.CurrentTraits })
        {
            await DeleteRowsAsync(table, tenantValue, idsValue, cancellationToken).ConfigureAwait(false);
        }

        if (schema.HasKeyValueTables)
        {
            foreach (var table in new[] { schema.ProfileTimelines, schema.ProfileEventTimes, schema.ProfileSeenTimes, schema.ProfileTraitHistories })
            {
                await engine.ExecuteAsync(
                    Sql.Of($"DELETE FROM {Sql.Table(table)} WHERE tenant = {tenantValue} AND has({idsValue}, profile_id) SETTINGS max_execution_time = 0"),
                    cancellationToken).ConfigureAwait(false);
            }
        }

        var removed = await RemoveMembershipAsync(tenant, ids, tenantValue, idsValue, cancellationToken).ConfigureAwait(false);
        await DeleteRowsAsync(t => t.MembershipLog, tenantValue, idsValue, cancellationToken).ConfigureAwait(false);
        await DeleteRowsAsync(t => t.ListMembers, tenantValue, idsValue, cancellationToken).ConfigureAwait(false);

        var erased = known.Union(removed.Values.SelectMany(v => v)).ToHashSet(StringComparer.Ordinal);
        return new ErasureReport(
            [.. ids.Where(erased.Contains).Order(StringComparer.Ordinal)],
            [.. ids.Where(id => !erased.Contains(id)).Order(StringComparer.Ordinal)],
            removed.Where(r => r.Value.Count > 0).ToDictionary(r => r.Key, r => (long)r.Value.Count, StringComparer.Ordinal));
    }

    /// <summary>
    /// A mutation that rewrites every part holding one of the profiles (on a cluster, on every shard), waited for:
    /// minutes for the events of a large tenant, so the engine's time limit does not apply to it.
    /// </summary>
    private Task DeleteRowsAsync(Func<TableNames, string> table, SqlFragment tenant, SqlFragment ids, CancellationToken cancellationToken) =>
        schema.ExecuteWhereStoredAsync(
            engine,
            t => Sql.Of($"ALTER TABLE {Sql.Table(table(t))} DELETE WHERE tenant = {tenant} AND has({ids}, profile_id) SETTINGS mutations_sync = 2, max_execution_time = 0"),
            cancellationToken);

    /// <summary>The ids with events, profile records or list entries.</summary>
    private async Task<IReadOnlyList<string>> KnownAsync(SqlFragment tenant, SqlFragment ids, CancellationToken cancellationToken) =>
        await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT DISTINCT profile_id FROM (
                    SELECT profile_id FROM {Sql.Table(schema.Profiles)} WHERE tenant = {tenant} AND has({ids}, profile_id)
                    UNION ALL SELECT profile_id FROM {Sql.Table(schema.ListMembers)} WHERE tenant = {tenant} AND has({ids}, profile_id))
                """),
            row => row.GetString(0),
            cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Takes the profiles out of every segment's stored membership (current and, on one engine, every past generation's
    /// buckets) and lowers each segment's stored size by its members among them; returns those members per segment.
    /// </summary>
    private async Task<Dictionary<string, IReadOnlySet<string>>> RemoveMembershipAsync(
        string tenant, string[] ids, SqlFragment tenantValue, SqlFragment idsValue, CancellationToken cancellationToken)
    {
        var current = await states.StatesAsync(tenant, null, cancellationToken).ConfigureAwait(false);
        var (members, _) = await membership.MembersAmongAsync(
            tenant, [.. current.Keys.Select(id => (id, (IReadOnlyList<string>)ids))], cancellationToken).ConfigureAwait(false);
        var removed = members.Where(m => m.Value.Count > 0).ToDictionary(m => m.Key, m => m.Value, StringComparer.Ordinal);

        if (schema.HasKeyValueTables)
        {
            // Every bucket of the tenant holding one of them, in every generation; a generation's count row (three
            // numbers, not profiles) is left alone: it is read only when its generation is written.
            var buckets = Sql.Table(schema.MembershipBuckets);
            await engine.ExecuteAsync(
                Sql.Of(
                    $"""
                    INSERT INTO {buckets} (key, members)
                    SELECT key, arrayFilter(member -> NOT has({idsValue}, member), members) FROM {buckets}
                    WHERE {TimelineKeys.OfTenant(Sql.Of($"key"), tenantValue)} AND NOT {TimelineKeys.IsMembershipCount(Sql.Of($"key"), tenantValue)} AND hasAny(members, {idsValue})
                    SETTINGS max_execution_time = 0
                    """),
                cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await DeleteRowsAsync(t => t.Membership, tenantValue, idsValue, cancellationToken).ConfigureAwait(false);
        }

        await states.WriteStatesAsync(
            tenant,
            [.. removed.Select(r => (r.Key, current[r.Key] with { Size = Math.Max(0, current[r.Key].Size - r.Value.Count) }))],
            cancellationToken).ConfigureAwait(false);
        return removed;
    }
}
