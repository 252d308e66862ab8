using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>
/// Stored membership and the entered/exited log (<see cref="StorageSchema.MembershipLog"/>). Readers see each segment
/// as of its last evaluation; the evaluator's workers write through <see cref="WriteChangesAsync"/>. Current
/// membership is held once: on one engine in the key-value buckets (<see cref="TableNames.MembershipBuckets"/>, a row
/// per segment and bucket of profiles), on a cluster in <see cref="StorageSchema.Membership"/> (latest row per profile
/// by sequence, sharded like the rest).
/// </summary>
/// <remarks>
/// Write order makes a chunk safe to crash in and to re-run: the log rows go first, then the membership rows. A crash
/// between the two leaves log entries newer than the segment's evaluation time whose membership rows are missing;
/// <see cref="RollForwardAsync"/> (run before the segment's next evaluation) applies them, so the log and the
/// membership never disagree about a transition. Re-writing the same rows is harmless: the log deduplicates on its
/// whole key and membership keeps the row with the highest sequence.
/// </remarks>
public sealed partial class MembershipStore(IClickHouseEngine engine, StorageSchema schema) : IMembershipStore
{
    private const string Time3 = ClickHouseTime.Milliseconds;
    private static long lastSequence;
    private readonly SqlFragment membership = Sql.Table(schema.Membership);
    private readonly SqlFragment membershipLog = Sql.Table(schema.MembershipLog);

    /// <summary>
    /// Whether current membership is written to the buckets (one engine, schema version 10 on) rather than to the
    /// membership MergeTree. Tests turn it off to write membership as a version before the buckets did.
    /// </summary>
    /// <remarks>
    /// One copy, not both: a new segment's members were written three times (log, membership, buckets), and the
    /// MergeTree copy cost 97–152 ms for 404,445 members against 48 ms for the buckets and 139–262 ms for the query
    /// (on a server, 2M-profile demo); every reader of current membership reads the buckets instead.
    /// </remarks>
    internal bool WritesLookup { get; init; } = schema.HasKeyValueTables;

    /// <summary>Whether current membership is read from the buckets (one engine) rather than the membership MergeTree.</summary>
    private bool ReadsBuckets => schema.HasKeyValueTables;

    /// <summary>
    /// How a bucket's rewrite removes the exited and entered profiles from its members: with <c>arrayExcept</c>
    /// (a recent function: the embedded 26.7 has it), or, where the engine lacks it, by marking each value's first occurrence. Null: asked of the
    /// engine once (<see cref="RemovalForms"/>); tests fix it to run both.
    /// </summary>
    internal bool? RemovesWithArrayExcept { get; init; }

    /// <summary>Per engine, whether it has <c>arrayExcept</c>: asked once, by the first bucket rewrite.</summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IClickHouseEngine, Task<bool>> RemovalForms = new();

    public Task<long> CountAsync(string tenant, string segmentId, CancellationToken cancellationToken) =>
        engine.QueryScalarAsync<long>(
            ReadsBuckets
                ? Sql.Of($"SELECT toInt64(sum(length(members))) FROM {Sql.Table(schema.MembershipBuckets)} WHERE key IN ({AllBucketKeys(tenant, segmentId)})")
                : Sql.Of($"SELECT count() FROM {membership} FINAL WHERE {Keys(tenant, segmentId)} AND is_member = 1"),
            cancellationToken);

    public async Task<IReadOnlyList<string>> MembersAsync(string tenant, string segmentId, string? afterProfileId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var after = Sql.Param("String", afterProfileId ?? string.Empty);
        return await engine.QueryAsync(
            ReadsBuckets
                ? Sql.Of(
                    $"""
                    SELECT profile_id FROM ({BucketMembers(tenant, segmentId)}) WHERE profile_id > {after}
                    ORDER BY profile_id LIMIT {Sql.Param("UInt64", (long)limit)}
                    """)
                : Sql.Of(
                    $"""
                    SELECT profile_id FROM {membership} FINAL
                    WHERE {Keys(tenant, segmentId)} AND profile_id > {after} AND is_member = 1
                    ORDER BY profile_id LIMIT {Sql.Param("UInt64", (long)limit)}
                    """),
            row => row.GetString(0),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> IsMemberAsync(string tenant, string segmentId, string profileId, CancellationToken cancellationToken)
    {
        var members = await MembersAmongAsync(tenant, segmentId, [profileId], cancellationToken).ConfigureAwait(false);
        return members.Members.Count == 1;
    }

    public async Task<IReadOnlyList<MembershipChange>> ChangesAsync(
        string tenant, string segmentId, DateTime? since, DateTime? until, (DateTime At, string ProfileId)? after, int limit, CancellationToken cancellationToken, string? profileId = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var logged = await ChangesSourceAsync(tenant, segmentId, since, until, after, cancellationToken).ConfigureAwait(false);
        return await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT at, profile_id, change FROM ({logged}){(profileId is null ? Sql.Empty : Sql.Of($" WHERE profile_id = {Sql.Param("String", profileId)}"))}
                ORDER BY at, profile_id LIMIT {Sql.Param("UInt64", (long)limit)}
                """),
            row => new MembershipChange(row.GetString(1), row.GetDateTime(0), row.GetBoolean(2)),
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<DailyChanges>> ChangesByDayAsync(string tenant, string segmentId, DateTime since, CancellationToken cancellationToken)
    {
        var logged = await ChangesSourceAsync(tenant, segmentId, since, null, null, cancellationToken).ConfigureAwait(false);
        return await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT toString(toDate(at)) AS day, toInt64(countIf(change = 1)) AS entered, toInt64(countIf(change = 0)) AS exited FROM ({logged})
                GROUP BY day ORDER BY day
                """),
            row => new DailyChanges(DateOnly.ParseExact(row.GetString(0), "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), row.GetInt64(1), row.GetInt64(2)),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The segment's log entries (at, profile_id, change as 0 exited / 1 entered) with since ≤ at &lt; until, after a
    /// position: the logged ones, and on one engine those of the generations written without their log, derived.
    /// </summary>
    private async Task<SqlFragment> ChangesSourceAsync(
        string tenant, string segmentId, DateTime? since, DateTime? until, (DateTime At, string ProfileId)? after, CancellationToken cancellationToken)
    {
        var filters = new List<SqlFragment> { Keys(tenant, segmentId) };
        if (since is { } s)
        {
            filters.Add(Sql.Of($"at >= {Sql.Param(Time3, s)}"));
        }

        if (until is { } u)
        {
            filters.Add(Sql.Of($"at < {Sql.Param(Time3, u)}"));
        }

        if (after is { } position)
        {
            filters.Add(Sql.Of($"(at, profile_id) > ({Sql.Param(Time3, position.At)}, {Sql.Param("String", position.ProfileId)})"));
        }

        var logged = Sql.Of($"SELECT at, profile_id, toUInt8(change) AS change FROM {membershipLog} FINAL WHERE {Sql.Join(Sql.Of($" AND "), filters)}");

        // The generations written without their log (one engine: first evaluations, edits): their entries, derived, at
        // each generation's start.
        if (ReadsBuckets && await DerivedEntriesAsync(tenant, segmentId, since, until, after, cancellationToken).ConfigureAwait(false) is { } derived)
        {
            logged = Sql.Of($"{logged}\nUNION ALL\n{derived}");
        }

        return logged;
    }

    public async Task<long> OverlapAsync(string tenant, string segmentA, string segmentB, CancellationToken cancellationToken)
    {
        if (string.Equals(segmentA, segmentB, StringComparison.Ordinal))
        {
            return await CountAsync(tenant, segmentA, cancellationToken).ConfigureAwait(false);
        }

        if (ReadsBuckets)
        {
            // A profile falls in the same bucket number in every segment: bucket by bucket, the two rows' common members.
            var tenantValue = Sql.Param("String", tenant);
            var (a, b) = (Sql.Param("String", segmentA), Sql.Param("String", segmentB));
            var bucketA = TimelineKeys.Membership(tenantValue, a, TimelineKeys.MembershipBucketNumber(Sql.Of($"number"), CurrentGeneration(tenantValue, a)));
            var bucketB = TimelineKeys.Membership(tenantValue, b, TimelineKeys.MembershipBucketNumber(Sql.Of($"number"), CurrentGeneration(tenantValue, b)));
            return await engine.QueryScalarAsync<long>(
                Sql.Of(
                    $"""
                    SELECT toInt64(sum(length(arrayIntersect(a.members, b.members))))
                    FROM (SELECT {bucketA} AS a_key, {bucketB} AS b_key FROM numbers({Sql.Number(TimelineKeys.MembershipBucketCount)})) AS k
                    INNER JOIN {Sql.Table(schema.MembershipBuckets)} AS a ON a.key = k.a_key
                    INNER JOIN {Sql.Table(schema.MembershipBuckets)} AS b ON b.key = k.b_key
                    """),
                cancellationToken).ConfigureAwait(false);
        }

        return await engine.QueryScalarAsync<long>(
            Sql.Of(
                $"""
                SELECT count() FROM (
                    SELECT profile_id FROM {membership} FINAL
                    WHERE tenant = {Sql.Param("String", tenant)} AND segment_id IN ({Sql.Param("String", segmentA)}, {Sql.Param("String", segmentB)}) AND is_member = 1
                    GROUP BY profile_id HAVING count() = 2)
                """),
            cancellationToken).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<string>> SegmentsOfProfileAsync(string tenant, string profileId, CancellationToken cancellationToken)
    {
        // Membership is keyed by segment first, so this reads the tenant's membership (on one engine, the profile's bucket
        // of each saved segment); deleted segments are left out.
        var tenantValue = Sql.Param("String", tenant);
        var liveSegments = Sql.Of(
            $"""
            SELECT segment_id FROM {Sql.Table(schema.Segments)} WHERE tenant = {tenantValue}
            GROUP BY segment_id HAVING argMax(deleted, version) = 0
            """);
        if (ReadsBuckets)
        {
            var profile = Sql.Param("String", profileId);
            return engine.QueryAsync(
                Sql.Of(
                    $"""
                    SELECT {TimelineKeys.MembershipSegment(Sql.Of($"key"), tenantValue)} AS segment_id FROM {Sql.Table(schema.MembershipBuckets)}
                    WHERE key IN (SELECT {TimelineKeys.MembershipBucket(tenantValue, Sql.Of($"segment_id"), profile, Sql.Of($"{CurrentGenerations(tenantValue)}[segment_id]"))} FROM ({liveSegments})) AND has(members, {profile})
                    ORDER BY segment_id
                    """),
                row => row.GetString(0),
                cancellationToken);
        }

        return engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT segment_id FROM {membership} FINAL
                WHERE tenant = {tenantValue} AND profile_id = {Sql.Param("String", profileId)} AND is_member = 1 AND segment_id IN ({liveSegments})
                ORDER BY segment_id
                """),
            row => row.GetString(0),
            cancellationToken);
    }

    public SqlFragment? StoredMembersAmong(string tenant, string segmentId, SqlFragment candidates, int? generation = null) =>
        schema.HasKeyValueTables ? BucketMembersAmong(tenant, segmentId, candidates, generation) : null;

    public SqlFragment? StoredMembersOfPairs(string tenant, IReadOnlyList<string> segmentIds, SqlFragment pairSegments, SqlFragment pairProfiles, IReadOnlyList<int>? generations = null)
    {
        if (!schema.HasKeyValueTables)
        {
            return null;
        }

        // A bucket row holds members of one segment, named in its key: read back into its position.
        var tenantValue = Sql.Param("String", tenant);
        var segments = Sql.Param("Array(String)", segmentIds.ToArray());
        var key = TimelineKeys.MembershipBucket(tenantValue, Sql.Of($"{segments}[pair.1]"), Sql.Of($"pair.2"), GenerationAt(tenantValue, segments, generations, Sql.Of($"pair.1")));
        return Sql.Of(
            $"""
            SELECT toUInt32(indexOf({segments}, {TimelineKeys.MembershipSegment(Sql.Of($"key"), tenantValue)})) AS segment, member FROM {Sql.Table(schema.MembershipBuckets)} ARRAY JOIN members AS member
            WHERE key IN (SELECT DISTINCT {key} FROM (SELECT arrayJoin(arrayZip({pairSegments}, {pairProfiles})) AS pair)) AND member IN {pairProfiles}
            """);
    }

    /// <remarks>
    /// The one-sided rows are gathered by bucket, and each bucket (the key-value table joined by its key) is looked up
    /// and searched once for all its rows. On the 2M-profile demo an hour touching 0.1% of the profiles had 10,260
    /// one-sided rows in 8,385 buckets, and phase 1 with them took 118–134 ms against 82–97 ms for phase 1 and 57–69 ms
    /// for the lookup as a statement of its own (on a server, medians of five). In a tick the lookup of its own came
    /// after phase 1 and beside the first chunk statements, on the same cores, and the chunks of its segments waited for
    /// it (182–210 ms of an 850 ms tick). A lookup a row decoded a bucket's members (40–100) for every row: at 1% the
    /// two statements of a level took 218 and 320 ms with their lookups, 54 and 128 ms without, and 177 and 231 ms with
    /// a lookup a bucket (medians of 15, interleaved, on a server); at 0.1% 66 and 165 ms against 59 and 149 ms.
    /// </remarks>
    public SqlFragment? OneSidedResolved(string tenant, IReadOnlyList<string> segmentIds, SqlFragment phaseOne, IReadOnlyList<int>? generations = null)
    {
        if (!schema.HasKeyValueTables)
        {
            return null;
        }

        var segments = Sql.Param("Array(String)", segmentIds.ToArray());
        var tenantValue = Sql.Param("String", tenant);
        var segment = Sql.Of($"arrayElement({segments}, segment + 1)");
        var bucket = TimelineKeys.MembershipBucket(tenantValue, segment, Sql.Of($"profile_id"), GenerationAt(tenantValue, segments, generations, Sql.Of($"segment + 1")));
        var ifMember = Sql.Number((int)ChangeDirection.IfMember);
        var ifNotMember = Sql.Number((int)ChangeDirection.IfNotMember);
        return Sql.Of(
            $"""
            SELECT kept.1 AS segment, kept.2 AS profile_id, kept.3 AS directions
            FROM (
                SELECT arrayFilter(row -> g.bucket = '' OR has(s.members, row.2) = (row.3 = {ifMember}), g.bucket_rows) AS kept_rows
                FROM (
                    SELECT bucket, groupArray((segment, profile_id, directions)) AS bucket_rows
                    FROM (SELECT segment, profile_id, directions, if(directions IN ({ifMember}, {ifNotMember}), {bucket}, '') AS bucket FROM ({phaseOne}))
                    GROUP BY bucket) AS g
                LEFT JOIN {Sql.Table(schema.MembershipBuckets)} AS s ON s.key = g.bucket
                SETTINGS join_use_nulls = 0, join_algorithm = 'direct,hash')
            ARRAY JOIN kept_rows AS kept
            """);
    }

    /// <remarks>
    /// From the buckets, every one of the segment's 4,096 keys looked up: 16 against 46 ms for a FINAL read of membership
    /// with 404,445 members, 13 against 9 ms with 10,577 (on a server, 2M-profile demo).
    /// </remarks>
    public SqlFragment? StoredMembers(string tenant, string segmentId) =>
        schema.HasKeyValueTables ? BucketMembers(tenant, segmentId) : null;

    /// <summary>
    /// Every member of the segment (as <c>profile_id</c>), read from its buckets: of the current generation, or of
    /// <paramref name="generation"/> (a UInt32 expression) when given.
    /// </summary>
    private SqlFragment BucketMembers(string tenant, string segmentId, SqlFragment? generation = null) =>
        Sql.Of(
            $"""
            SELECT member AS profile_id FROM {Sql.Table(schema.MembershipBuckets)} ARRAY JOIN members AS member
            WHERE key IN ({AllBucketKeys(tenant, segmentId, generation)})
            """);

    /// <summary>The keys of all the segment's buckets of the current generation (or of <paramref name="generation"/>), as a subquery.</summary>
    private SqlFragment AllBucketKeys(string tenant, string segmentId, SqlFragment? generation = null)
    {
        var (tenantValue, segment) = (Sql.Param("String", tenant), Sql.Param("String", segmentId));
        var number = TimelineKeys.MembershipBucketNumber(Sql.Of($"number"), generation ?? CurrentGeneration(tenantValue, segment));
        return Sql.Of($"SELECT {TimelineKeys.Membership(tenantValue, segment, number)} FROM numbers({Sql.Number(TimelineKeys.MembershipBucketCount)})");
    }

    /// <summary>
    /// The current generation of one segment's stored members (see <see cref="TimelineKeys.MembershipBucketNumber"/>): a
    /// UInt32 scalar subquery of its latest state, 0 before it has one. A statement reads it once (about nothing beside a
    /// lookup of six candidates' buckets: 3–5 ms either way on the 2M-profile demo, on a server), so every reader and
    /// writer follows an edit the moment its state advances, in this process or another.
    /// </summary>
    /// <remarks>
    /// Not Nullable (a scalar subquery's type is): a key-value join on a Nullable key found no row at all.
    /// </remarks>
    private SqlFragment CurrentGeneration(SqlFragment tenant, SqlFragment segmentId) =>
        Sql.Of($"ifNull((SELECT toUInt32(argMax(generation, written_at)) FROM {Sql.Table(schema.SegmentState)} WHERE tenant = {tenant} AND segment_id = {segmentId}), toUInt32(0))");

    /// <summary>
    /// The generation of the segment at a 1-based <paramref name="position"/> in <paramref name="segments"/> (an
    /// Array(String)): from <paramref name="generations"/> when the caller knows them (the evaluator, from the states
    /// it read: the scalar subquery costs 4–5 ms a statement), else read from the states.
    /// </summary>
    private SqlFragment GenerationAt(SqlFragment tenant, SqlFragment segments, IReadOnlyList<int>? generations, SqlFragment position) =>
        generations is null
            ? Sql.Of($"{CurrentGenerations(tenant)}[arrayElement({segments}, {position})]")
            : Sql.Of($"arrayElement({Sql.Param("Array(UInt32)", generations.Select(g => (uint)g).ToArray())}, {position})");

    /// <summary>The current generation of each of the tenant's segments, a Map(String, UInt32) scalar subquery (0 for a segment without a state).</summary>
    private SqlFragment CurrentGenerations(SqlFragment tenant) =>
        Sql.Of(
            $"""
            (SELECT mapFromArrays(groupArray(segment_id), groupArray(generation)) FROM (
                SELECT segment_id, toUInt32(argMax(generation, written_at)) AS generation FROM {Sql.Table(schema.SegmentState)} WHERE tenant = {tenant} GROUP BY segment_id))
            """);

    /// <summary>The members among <paramref name="candidates"/> (an Array(String)): their buckets' rows, each read once.</summary>
    private SqlFragment BucketMembersAmong(string tenant, string segmentId, SqlFragment candidates, int? generation = null) =>
        Sql.Of(
            $"""
            SELECT member FROM {Sql.Table(schema.MembershipBuckets)} ARRAY JOIN members AS member
            WHERE key IN (SELECT DISTINCT {BucketKey(tenant, segmentId, Sql.Of($"candidate"), generation)} FROM (SELECT arrayJoin({candidates}) AS candidate)) AND member IN {candidates}
            """);

    /// <summary>
    /// <see cref="MembersAmongAsync(string, string, IReadOnlyList{string}, CancellationToken)"/> for several segments in
    /// one lookup (phase 1's one-sided candidates of a whole level): the members among each segment's profiles.
    /// </summary>
    public async Task<(IReadOnlyDictionary<string, IReadOnlySet<string>> Members, ulong RowsRead)> MembersAmongAsync(
        string tenant, IReadOnlyList<(string SegmentId, IReadOnlyList<string> ProfileIds)> candidates, CancellationToken cancellationToken)
    {
        var members = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        var rows = 0UL;
        if (!schema.HasKeyValueTables)
        {
            foreach (var (segmentId, profileIds) in candidates.Where(c => c.ProfileIds.Count > 0))
            {
                var (found, read) = await MembersAmongAsync(tenant, segmentId, profileIds, cancellationToken).ConfigureAwait(false);
                members[segmentId] = found;
                rows += read;
            }

            return (members, rows);
        }

        var segments = candidates.Select(c => c.SegmentId).ToArray();
        var positions = candidates.SelectMany((c, i) => c.ProfileIds.Select(_ => (uint)(i + 1))).ToArray();
        var profiles = candidates.SelectMany(c => c.ProfileIds).ToArray();
        if (profiles.Length == 0)
        {
            return (members, 0);
        }

        var tenantValue = Sql.Param("String", tenant);
        var segmentOfPair = Sql.Of($"{Sql.Param("Array(String)", segments)}[pair.1]");
        var key = TimelineKeys.MembershipBucket(tenantValue, segmentOfPair, Sql.Of($"pair.2"), Sql.Of($"{CurrentGenerations(tenantValue)}[{segmentOfPair}]"));
        var profileValues = Sql.Param("Array(String)", profiles);
        var result = await engine.QueryAsync(
            Sql.Of(
                $"""
                WITH {profileValues} AS candidate_ids
                SELECT key, member FROM {Sql.Table(schema.MembershipBuckets)} ARRAY JOIN members AS member
                WHERE key IN (SELECT DISTINCT {key} FROM (SELECT arrayJoin(arrayZip({Sql.Param("Array(UInt32)", positions)}, candidate_ids)) AS pair)) AND member IN candidate_ids
                """),
            cancellationToken).ConfigureAwait(false);

        // A bucket row holds members of one segment; a member counts only among that segment's own candidates.
        var wanted = candidates.ToDictionary(c => c.SegmentId, c => c.ProfileIds.ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var (found, member) in result.Read(row => (row.GetString(0), row.GetString(1))))
        {
            if (TimelineKeys.ReadMembership(found, tenant) is not { } read || !wanted.TryGetValue(read.SegmentId, out var among) || !among.Contains(member))
            {
                continue;
            }

            if (!members.TryGetValue(read.SegmentId, out var set))
            {
                members[read.SegmentId] = set = new HashSet<string>(StringComparer.Ordinal);
            }

            ((HashSet<string>)set).Add(member);
        }

        return (members, result.Statistics.RowsRead);
    }

    public async Task<(IReadOnlySet<string> Members, ulong RowsRead)> MembersAmongAsync(
        string tenant, string segmentId, IReadOnlyList<string> profileIds, CancellationToken cancellationToken)
    {
        var candidates = Sql.Param("Array(String)", profileIds.ToArray());
        var query = schema.HasKeyValueTables
            ? BucketMembersAmong(tenant, segmentId, candidates)
            : Sql.Of(
                $"""
                SELECT profile_id FROM {membership} FINAL
                WHERE {Keys(tenant, segmentId)} AND profile_id IN {candidates} AND is_member = 1
                """);
        var result = await engine.QueryAsync(query, cancellationToken).ConfigureAwait(false);
        return (result.Read(row => row.GetString(0)).ToHashSet(StringComparer.Ordinal), result.Statistics.RowsRead);
    }

    /// <summary>
    /// Writes one chunk's transitions at evaluation time <paramref name="at"/>: the log first, then membership (see
    /// the class remarks). <paramref name="betweenWrites"/> is a test hook called between the two inserts.
    /// </summary>
    /// <summary>One segment's transitions of one chunk (see <see cref="WriteChangesAsync(string, DateTime, IReadOnlyList{SegmentChanges}, Func{ValueTask}?, CancellationToken)"/>).</summary>
    public Task WriteChangesAsync(
        string tenant,
        string segmentId,
        DateTime at,
        IReadOnlyCollection<string> entered,
        IReadOnlyCollection<string> exited,
        Func<ValueTask>? betweenWrites,
        CancellationToken cancellationToken) =>
        WriteChangesAsync(tenant, at, [new SegmentChanges(segmentId, entered, exited)], betweenWrites, cancellationToken);

    public async Task WriteChangesAsync(
        string tenant,
        DateTime at,
        IReadOnlyList<SegmentChanges> changes,
        Func<ValueTask>? betweenWrites,
        CancellationToken cancellationToken)
    {
        var written = changes.Where(c => c.Count > 0).ToList();
        if (written.Count == 0)
        {
            return;
        }

        AskForTheRemovalForm();
        var time = JsonRows.Time(at);
        using (var log = new JsonRows())
        {
            foreach (var (segmentId, profile, isMember) in Transitions(written))
            {
                var row = log.Begin();
                row.WriteString("tenant", tenant);
                row.WriteString("segment_id", segmentId);
                row.WriteString("at", time);
                row.WriteString("profile_id", profile);
                row.WriteString("change", isMember ? "entered" : "exited");
                log.End();
            }

            await engine.InsertJsonEachRowAsync(schema.MembershipLog, log.ToMemory(), null, cancellationToken).ConfigureAwait(false);
        }

        if (betweenWrites is not null)
        {
            await betweenWrites().ConfigureAwait(false);
        }

        await WriteMembershipAsync(tenant, at, written, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes deleted segments' stored rows: the membership lookup's keys, the log, then membership (the caller forgets
    /// their evaluation state after this, so a purge cut short is repeated by the next one).
    /// </summary>
    /// <remarks>
    /// The key-value lookup deletes by reading every key (a mutation takes no key filter there): one pass for all the
    /// segments, never one per segment. Measured on the 2M-profile demo: 80 s over 69M keys, about 1 µs a key.
    /// </remarks>
    public async Task ForgetAsync(string tenant, IReadOnlyCollection<string> segmentIds, CancellationToken cancellationToken)
    {
        if (segmentIds.Count == 0)
        {
            return;
        }

        var tenantValue = Sql.Param("String", tenant);
        var ids = Sql.Param("Array(String)", segmentIds.ToArray());
        if (schema.HasKeyValueTables)
        {
            await engine.ExecuteAsync(
                Sql.Of($"DELETE FROM {Sql.Table(schema.MembershipBuckets)} WHERE {TimelineKeys.MembershipOfSegments(Sql.Of($"key"), tenantValue, ids)}"),
                cancellationToken).ConfigureAwait(false);
        }

        foreach (var table in new Func<TableNames, string>[] { t => t.MembershipLog, t => t.Membership })
        {
            await schema.ExecuteWhereStoredAsync(
                engine,
                t => Sql.Of($"DELETE FROM {Sql.Table(table(t))} WHERE tenant = {tenantValue} AND has({ids}, segment_id)"),
                cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// For the INSERT … SELECTs of whole segments: blocks of 64k rows written by parallel threads (bounded by the
    /// engine's max_threads). With the defaults, one thread sorts and writes blocks of up to 1M rows, and writing
    /// 400,000 members took 2–4× their query (measured on the 2M-profile demo); the extra parts are merged later.
    /// Without the ReplacingMergeTree's collapse of each block as it is written: the block holds no duplicate key (a
    /// compiled query returns each profile once), readers never rely on it (rows of separate inserts are collapsed only
    /// by merges), and it tripled the write (1,145 ms against 385 ms for 404,445 members, same settings otherwise).
    /// </summary>
    private static readonly SqlFragment ParallelInsert = Sql.Of($"max_insert_threads = 16, min_insert_block_size_rows = 65536, min_insert_block_size_bytes = 0, optimize_on_insert = 0");

    public async Task<(long Entered, ulong RowsRead)> WriteAllEnteredAsync(
        string tenant, string segmentId, DateTime at, SqlFragment members, Func<ValueTask>? betweenWrites, CancellationToken cancellationToken)
    {
        var logged = await LogWholeAsync(tenant, segmentId, at, members, allEntered: true, betweenWrites, cancellationToken).ConfigureAwait(false);
        var (counts, rowsRead) = await ApplyWholeAsync(tenant, at, [logged], cancellationToken).ConfigureAwait(false);
        return (counts[segmentId].Entered, logged.RowsRead + rowsRead);
    }

    public async Task<(long Entered, long Exited, ulong RowsRead)> WriteChangesFromAsync(
        string tenant, string segmentId, DateTime at, SqlFragment changes, Func<ValueTask>? betweenWrites, CancellationToken cancellationToken)
    {
        var logged = await LogWholeAsync(tenant, segmentId, at, changes, allEntered: false, betweenWrites, cancellationToken).ConfigureAwait(false);
        var (counts, rowsRead) = await ApplyWholeAsync(tenant, at, [logged], cancellationToken).ConfigureAwait(false);
        var (entered, exited) = counts[segmentId];
        return (entered, exited, logged.RowsRead + rowsRead);
    }

    public async Task<WholeLogged> LogWholeAsync(
        string tenant, string segmentId, DateTime at, SqlFragment source, bool allEntered, Func<ValueTask>? betweenWrites, CancellationToken cancellationToken)
    {
        if (!allEntered)
        {
            if (!schema.HasKeyValueTables)
            {
                throw new InvalidOperationException("Changes are written from a statement only where membership has its buckets (one engine).");
            }

            AskForTheRemovalForm();
        }

        var log = await engine.ExecuteAsync(
            Sql.Of(
                $"INSERT INTO {membershipLog} (tenant, segment_id, at, profile_id, change) SELECT {Sql.Param("String", tenant)}, {Sql.Param("String", segmentId)}, {Sql.Param(Time3, at)}, {(allEntered ? Sql.Of($"profile_id, 'entered'") : Sql.Of($"candidate, if(now_member, 'entered', 'exited')"))} FROM ({source}){SegmentCompiler.Settings}, {ParallelInsert}"),
            cancellationToken).ConfigureAwait(false);
        if (betweenWrites is not null)
        {
            await betweenWrites().ConfigureAwait(false);
        }

        // A brand-new segment's members are the rows the log's insert wrote: a compiled query returns each profile once,
        // the log feeds no view, and an earlier attempt's entries at this time were rolled forward into membership, so
        // the segment would not be brand-new. Counting them again read the log's new rows back beside the copies (600 ms
        // of the engine's time for the benchmark's 12 new segments on the 2M-profile demo). An insert into a cluster's
        // Distributed table may report before its shards wrote, and a server older than 22.8 may report nothing over
        // HTTP: there, or when nothing is reported, ApplyWholeAsync counts the log (an empty segment costs that count).
        var entered = allEntered && schema.Cluster is null && log.RowsWritten > 0 ? (long?)log.RowsWritten : null;
        return new WholeLogged(segmentId, allEntered, entered, log.RowsRead);
    }

    public bool WritesFirstEvaluationUnlogged => WritesLookup && schema.Cluster is null;

    public bool WritesEditsAsGenerations => WritesFirstEvaluationUnlogged && EditsAsGenerations;

    /// <summary>Whether edits are written as generations where they can be (tests turn it off to log them as before schema 20).</summary>
    internal bool EditsAsGenerations { get; init; } = true;

    public Task<WholeLogged> WriteFirstEvaluationAsync(
        string tenant, string segmentId, DateTime at, SqlFragment members, Func<ValueTask>? afterWrite, CancellationToken cancellationToken) =>
        WriteGenerationAsync(tenant, segmentId, 0, null, members, afterWrite, cancellationToken);

    public async Task<WholeLogged> WriteGenerationAsync(
        string tenant, string segmentId, int generation, int? previousGeneration, SqlFragment members, Func<ValueTask>? afterWrite, CancellationToken cancellationToken)
    {
        if (!WritesFirstEvaluationUnlogged)
        {
            throw new InvalidOperationException("Members are written without their log only where membership is the buckets alone (one engine).");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(generation);
        if (previousGeneration is { } previous && (previous < 0 || previous == generation))
        {
            throw new ArgumentOutOfRangeException(nameof(previousGeneration), previous, "The previous generation must be another one, kept as it is.");
        }

        // Every one of the generation's buckets, empty ones too: a write cut short by a crash left some buckets before
        // the state advanced, and this write replaces all of them, so the segment is exact whatever an attempt left.
        // The same insert writes the generation's count row (see MembershipCount): its members counted, and an edit's
        // kept ones against the previous generation's bucket of the same number, while the buckets are in memory. Read
        // back after the writes instead, both generations cost 447-512 ms for the benchmark's 11 edits, a statement
        // that waited for every worker.
        var tenantValue = Sql.Param("String", tenant);
        var segment = Sql.Param("String", segmentId);
        var buckets = Sql.Table(schema.MembershipBuckets);
        var bucketKey = TimelineKeys.Membership(tenantValue, segment, TimelineKeys.MembershipBucketNumber(Sql.Of($"buckets.number"), Sql.Number(generation)));
        var written = Sql.Of(
            $"""
            SELECT {bucketKey} AS key, {(previousGeneration is { } before
                ? TimelineKeys.Membership(tenantValue, segment, TimelineKeys.MembershipBucketNumber(Sql.Of($"buckets.number"), Sql.Number(before)))
                : Sql.Of($"''"))} AS previous_key, grouped.members AS members
            FROM numbers({Sql.Number(TimelineKeys.MembershipBucketCount)}) AS buckets
            LEFT JOIN (SELECT {BucketNumber}, groupArray(profile_id) AS members FROM ({members}) GROUP BY bucket_number) AS grouped
            ON grouped.bucket_number = buckets.number
            """);
        var counted = previousGeneration is null
            ? Sql.Of($"SELECT groupArray((w.key, w.members)) AS rows, sum(length(w.members)) AS now, 0 AS before, 0 AS kept FROM ({written}) AS w")
            : Sql.Of(
                $"""
                SELECT groupArray((w.key, w.members)) AS rows, sum(length(w.members)) AS now, sum(length(p.members)) AS before,
                    sum(length(arrayIntersect(w.members, p.members))) AS kept
                FROM ({written}) AS w LEFT JOIN {buckets} AS p ON p.key = w.previous_key
                """);
        var countKey = TimelineKeys.MembershipCount(tenantValue, segment, Sql.Number(generation));
        var write = await ExecuteAsBucketWriterAsync(
            tenant,
            [segmentId],
            Sql.Of(
                $"""
                INSERT INTO {buckets} (key, members)
                SELECT row.1, row.2 FROM ({counted})
                ARRAY JOIN arrayPushBack(rows, ({countKey}, [toString(now), toString(before), toString(kept)])) AS row{SegmentCompiler.Settings}
                """),
            cancellationToken).ConfigureAwait(false);
        if (afterWrite is not null)
        {
            await afterWrite().ConfigureAwait(false);
        }

        return new WholeLogged(segmentId, AllEntered: previousGeneration is null, Entered: null, write.RowsRead)
        {
            MembershipWritten = true,
            Generation = generation,
            PreviousGeneration = previousGeneration,
        };
    }

    public async Task<(IReadOnlyDictionary<string, (long Entered, long Exited)> Counts, ulong RowsRead)> ApplyWholeAsync(
        string tenant, DateTime at, IReadOnlyList<WholeLogged> logged, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, (long Entered, long Exited)>(StringComparer.Ordinal);
        if (logged.Count == 0)
        {
            return (counts, 0);
        }

        // The generations written without their log (first evaluations, edits) are counted beside the logged ones' copies.
        var counted = logged.Where(l => l.MembershipWritten).ToArray();
        var counting = counted.Length == 0
            ? Task.FromResult((Counts: new Dictionary<string, (long, long)>(), RowsRead: 0UL))
            : CountGenerationsAsync(tenant, counted, cancellationToken);
        var applying = ApplyLoggedAsync(tenant, at, [.. logged.Where(l => !l.MembershipWritten)], cancellationToken);
        await Task.WhenAll(counting, applying).ConfigureAwait(false);
        var (written, countRows) = await counting.ConfigureAwait(false);
        foreach (var generation in counted)
        {
            counts[generation.SegmentId] = written.GetValueOrDefault(generation.SegmentId);
        }

        var (logCounts, logRows) = await applying.ConfigureAwait(false);
        foreach (var (segmentId, count) in logCounts)
        {
            counts[segmentId] = count;
        }

        return (counts, countRows + logRows);
    }

    /// <summary>
    /// The entered and exited profiles of generations written without their log, from the count rows their writes put
    /// beside their buckets (<see cref="TimelineKeys.MembershipCount"/>): one lookup for a level. A first evaluation's
    /// members all entered; an edit's entered are its members not kept from the previous generation, its exited the
    /// previous generation's members not kept.
    /// </summary>
    private async Task<(Dictionary<string, (long Entered, long Exited)> Counts, ulong RowsRead)> CountGenerationsAsync(
        string tenant, IReadOnlyList<WholeLogged> generations, CancellationToken cancellationToken)
    {
        var tenantValue = Sql.Param("String", tenant);
        var key = TimelineKeys.MembershipCount(tenantValue, Sql.Of($"g.1"), Sql.Of($"g.2"));
        var result = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT {TimelineKeys.MembershipSegment(Sql.Of($"key"), tenantValue)} AS segment_id, toInt64(members[1]), toInt64(members[2]), toInt64(members[3])
                FROM {Sql.Table(schema.MembershipBuckets)}
                WHERE key IN (
                    SELECT {key} FROM (SELECT arrayJoin(arrayZip(
                        {Sql.Param("Array(String)", generations.Select(g => g.SegmentId).ToArray())},
                        {Sql.Param("Array(UInt32)", generations.Select(g => (uint)g.Generation).ToArray())})) AS g))
                """),
            cancellationToken).ConfigureAwait(false);
        var counts = new Dictionary<string, (long Entered, long Exited)>(StringComparer.Ordinal);
        foreach (var (segmentId, now, before, kept) in result.Read(row => (row.GetString(0), row.Get<long>(1), row.Get<long>(2), row.Get<long>(3))))
        {
            counts[segmentId] = (now - kept, before - kept);
        }

        // The count row is written by the insert that wrote the buckets, and a generation is counted only after it.
        if (generations.FirstOrDefault(g => !counts.ContainsKey(g.SegmentId)) is { } missing)
        {
            throw new InvalidOperationException($"Segment '{missing.SegmentId}' has no count row for generation {missing.Generation}: its write did not complete.");
        }

        return (counts, result.Statistics.RowsRead);
    }

    private async Task<(IReadOnlyDictionary<string, (long Entered, long Exited)> Counts, ulong RowsRead)> ApplyLoggedAsync(
        string tenant, DateTime at, IReadOnlyList<WholeLogged> logged, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, (long Entered, long Exited)>(StringComparer.Ordinal);
        if (logged.Count == 0)
        {
            return (counts, 0);
        }

        // Each segment's log rows at this time are exactly its evaluation's (the callers' guarantee): current membership
        // copies them, one statement for the brand-new segments and one for the changed ones (a statement a segment
        // cost about 6–10 ms more than its rows, a fifth of a small segment's evaluation), beside the counts.
        var tenantValue = Sql.Param("String", tenant);
        var time = Sql.Param(Time3, at);
        var writes = new List<Task<QueryStatistics>>();
        var brandNew = logged.Where(l => l.AllEntered).Select(l => l.SegmentId).ToArray();
        if (brandNew.Length > 0)
        {
            var fromLog = Sql.Of($"FROM {membershipLog} WHERE tenant = {tenantValue} AND segment_id IN {Sql.Param("Array(String)", brandNew)} AND at = {time} AND change = 'entered'");
            writes.Add(WritesLookup
                // One insert, one imported file of at most one row per bucket, unsorted: no reader relies on a bucket's
                // order (sorting took 10 of 70 ms for 398,358 members on a server).
                ? engine.ExecuteAsync(
                    Sql.Of(
                        $"""
                        INSERT INTO {Sql.Table(schema.MembershipBuckets)} (key, members)
                        SELECT {SegmentBucketKey(tenantValue)}, groupArray(profile_id) {fromLog}
                        GROUP BY segment_id, {BucketNumber}
                        """),
                    cancellationToken)
                : engine.ExecuteAsync(
                    Sql.Of(
                        $"INSERT INTO {membership} (tenant, segment_id, profile_id, is_member, changed_at, sequence) SELECT tenant, segment_id, profile_id, 1, at, {Sql.Param("UInt64", NextSequence())} {fromLog} SETTINGS {ParallelInsert}"),
                    cancellationToken));
        }

        var changed = logged.Where(l => !l.AllEntered).Select(l => l.SegmentId).ToArray();
        if (changed.Length > 0)
        {
            // Diffed against the stored members, each profile once, so the buckets take them as exact (see WriteBucketsAsync).
            writes.Add(WriteBucketsAsync(
                tenant,
                changed,
                Sql.Of(
                    $"""
                    SELECT {SegmentBucketKey(tenantValue)} AS bucket, groupArrayIf(profile_id, change = 'entered') AS entered, groupArrayIf(profile_id, change = 'exited') AS exited
                    FROM {membershipLog} WHERE tenant = {tenantValue} AND segment_id IN {Sql.Param("Array(String)", changed)} AND at = {time}
                    GROUP BY segment_id, {BucketNumber}
                    """),
                cancellationToken,
                exactChanges: true));
        }

        var uncounted = logged.Where(l => l.Entered is null).Select(l => l.SegmentId).ToArray();
        var counting = uncounted.Length == 0
            ? Task.FromResult<QueryResult?>(null)
            : CountAsync();
        await Task.WhenAll(writes.Cast<Task>().Append(counting)).ConfigureAwait(false);
        var rowsRead = 0UL;
        foreach (var write in writes)
        {
            rowsRead += (await write.ConfigureAwait(false)).RowsRead;
        }

        foreach (var known in logged.Where(l => l.Entered is not null))
        {
            counts[known.SegmentId] = (known.Entered!.Value, 0);
        }

        if (await counting.ConfigureAwait(false) is { } counted)
        {
            rowsRead += counted.Statistics.RowsRead;
            foreach (var (segmentId, entered, exited) in counted.Read(row => (row.GetString(0), row.Get<ulong>(1), row.Get<ulong>(2))))
            {
                counts[segmentId] = ((long)entered, (long)exited);
            }
        }

        foreach (var segmentId in uncounted.Where(id => !counts.ContainsKey(id)))
        {
            counts[segmentId] = (0, 0);
        }

        return (counts, rowsRead);

        async Task<QueryResult?> CountAsync() =>
            await engine.QueryAsync(
                Sql.Of(
                    $"""
                    SELECT segment_id, countIf(change = 'entered'), countIf(change = 'exited') FROM {membershipLog}
                    WHERE tenant = {tenantValue} AND segment_id IN {Sql.Param("Array(String)", uncounted)} AND at = {time} GROUP BY segment_id
                    """),
                cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A row's bucket number, which rows of one segment are grouped by: grouping by the bucket's key instead, a string
    /// built for every row, took 108 against 82 ms for a 404,445-member segment (medians of 15, on a server).
    /// </summary>
    private static readonly SqlFragment BucketNumber = Sql.Of($"cityHash64(profile_id) % {Sql.Number(TimelineKeys.MembershipBucketCount)} AS bucket_number");

    /// <summary>The key of the bucket <c>bucket_number</c> (see <see cref="BucketNumber"/>) of the row's <c>segment_id</c>, of its current generation.</summary>
    private SqlFragment SegmentBucketKey(SqlFragment tenant) =>
        TimelineKeys.Membership(tenant, Sql.Of($"segment_id"), TimelineKeys.MembershipBucketNumber(Sql.Of($"bucket_number"), Sql.Of($"{CurrentGenerations(tenant)}[segment_id]")));

    /// <summary>
    /// Applies log entries newer than each segment's evaluation time (left by a tick that wrote a chunk's log but died
    /// before its membership rows or before the segment's state advanced) to membership; returns their profiles per
    /// segment so the evaluator re-evaluates them. One statement for all the segments: the check finds nothing on almost
    /// every tick, and a statement per segment cost more than the reads.
    /// </summary>
    public async Task<(IReadOnlyDictionary<string, IReadOnlyList<string>> Profiles, ulong RowsRead)> RollForwardAsync(
        string tenant, IReadOnlyList<(string SegmentId, DateTime? EvaluatedAt)> segments, CancellationToken cancellationToken)
    {
        var rolled = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        if (segments.Count == 0)
        {
            return (rolled, 0);
        }

        // Each segment's own range of the log's (tenant, segment_id, at) key: the key analysis seeks every range.
        var ranges = Sql.Or([.. segments.Select(s => Sql.Of(
            $"(segment_id = {Sql.Param("String", s.SegmentId)} AND at > {Sql.Param(Time3, s.EvaluatedAt ?? DateTime.UnixEpoch)})"))]);
        var result = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT segment_id, profile_id, argMax(toUInt8(change), at), max(at) FROM {membershipLog}
                WHERE tenant = {Sql.Param("String", tenant)} AND ({ranges})
                GROUP BY segment_id, profile_id ORDER BY segment_id, profile_id
                """),
            cancellationToken).ConfigureAwait(false);
        var entries = result.Read(row => (Segment: row.GetString(0), Profile: row.GetString(1), IsMember: row.GetBoolean(2), At: row.GetDateTime(3)));
        foreach (var segment in entries.GroupBy(entry => entry.Segment, StringComparer.Ordinal))
        {
            foreach (var group in segment.GroupBy(entry => entry.At))
            {
                var changes = new SegmentChanges(
                    segment.Key, [.. group.Where(entry => entry.IsMember).Select(entry => entry.Profile)], [.. group.Where(entry => !entry.IsMember).Select(entry => entry.Profile)]);
                await WriteMembershipAsync(tenant, group.Key, [changes], cancellationToken).ConfigureAwait(false);
            }

            rolled[segment.Key] = [.. segment.Select(entry => entry.Profile)];
        }

        return (rolled, result.Statistics.RowsRead);
    }

    /// <summary>Writes changes at <paramref name="at"/> to current membership: the buckets on one engine, membership on a cluster.</summary>
    private async Task WriteMembershipAsync(string tenant, DateTime at, IReadOnlyList<SegmentChanges> changes, CancellationToken cancellationToken)
    {
        if (!changes.Any(c => c.Count > 0))
        {
            return;
        }

        if (WritesLookup)
        {
            await WriteBucketsAsync(tenant, changes, cancellationToken).ConfigureAwait(false);
            return;
        }

        var sequence = NextSequence();
        var time = JsonRows.Time(at);
        using var membership = new JsonRows();
        foreach (var (segmentId, profile, isMember) in Transitions(changes))
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

        await engine.InsertJsonEachRowAsync(schema.Membership, membership.ToMemory(), null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies changes to the membership buckets they fall in, every segment's in one statement: each touched bucket is
    /// read and written back with its entered profiles added and its exited ones removed (applying the same changes
    /// again writes the same rows). After the log: a crash between the two leaves the segments' states behind, and the
    /// roll-forward of the next tick writes the buckets again. A segment's buckets are read and written by one statement
    /// at a time in this process (two writes of one bucket would each drop the other's changes); a statement takes its
    /// segments' gates in order, so two never wait for each other.
    /// </summary>
    private Task WriteBucketsAsync(string tenant, IReadOnlyList<SegmentChanges> changes, CancellationToken cancellationToken)
    {
        var rows = Transitions(changes).ToList();
        var tenantValue = Sql.Param("String", tenant);

        // The segments' generations as the writer knows them, else read from their states.
        var known = changes.Where(c => c.Generation is not null).GroupBy(c => c.SegmentId, StringComparer.Ordinal).ToList();
        var generation = changes.All(c => c.Generation is not null) && known.All(g => g.Select(c => c.Generation).Distinct().Count() == 1)
            ? Sql.Of($"arrayElement({Sql.Param("Array(UInt32)", known.Select(g => (uint)g.First().Generation!.Value).ToArray())}, indexOf({Sql.Param("Array(String)", known.Select(g => g.Key).ToArray())}, change.1))")
            : Sql.Of($"{CurrentGenerations(tenantValue)}[change.1]");
        return WriteBucketsAsync(
            tenant,
            changes.Select(c => c.SegmentId),
            Sql.Of(
                $"""
                SELECT {TimelineKeys.MembershipBucket(tenantValue, Sql.Of($"change.1"), Sql.Of($"change.2"), generation)} AS bucket, groupArrayIf(change.2, change.3 = 1) AS entered, groupArrayIf(change.2, change.3 = 0) AS exited
                FROM (SELECT arrayJoin(arrayZip({Sql.Param("Array(String)", rows.Select(r => r.SegmentId).ToArray())}, {Sql.Param("Array(String)", rows.Select(r => r.Profile).ToArray())}, {Sql.Param("Array(UInt8)", rows.Select(r => r.IsMember ? (byte)1 : (byte)0).ToArray())})) AS change)
                GROUP BY bucket
                """),
            cancellationToken);
    }

    /// <summary>
    /// Rewrites the buckets <paramref name="changedBuckets"/> names, a subquery of (bucket key, entered profiles, exited
    /// profiles) of <paramref name="segmentIds"/>, under those segments' gates. A member stays unless it is among the
    /// exited or entered profiles (<c>arrayExcept</c>, one hash set a bucket, where the engine has it: see
    /// <see cref="RemovesWithArrayExcept"/>), and the entered profiles follow, each once,
    /// so a bucket holds each member once however often the same changes are applied. Measured on a server for the
    /// 4,096 buckets of a 404,445-member segment: a lambda testing <c>has(c.exited, p)</c> copied the exited profiles once
    /// per member, 169 against 60 ms for a third of them leaving; keeping the bucket unsorted and without a distinct pass
    /// over it, 71–77 against 107–138 ms for 122,324 changes either way; <c>arrayExcept</c> instead of marking each
    /// value's first occurrence in the exited, entered and stored profiles (<c>arrayEnumerateUniq</c> over their
    /// concatenation), 62 against 87 ms for 122,323 entering and 51 against 61 ms for as many leaving (medians of 11,
    /// interleaved). No reader relies on a bucket's order.
    /// </summary>
    /// <param name="exactChanges">
    /// The changes were diffed against the stored members, each profile once (a whole evaluation's, read back from the
    /// log): no entered profile is stored and every exited one is, so only the exited are removed and the entered are
    /// appended as they are. For a 404,445-member segment with 124,578 entering, 39–45 against 58–72 ms (medians of 7, on
    /// a server); with as many leaving, the same.
    /// </param>
    private async Task<QueryStatistics> WriteBucketsAsync(
        string tenant, IEnumerable<string> segmentIds, SqlFragment changedBuckets, CancellationToken cancellationToken, bool exactChanges = false)
    {
        var buckets = Sql.Table(schema.MembershipBuckets);
        var removed = exactChanges ? Sql.Of($"c.exited") : Sql.Of($"arrayConcat(c.exited, c.entered)");
        var remaining = await HasArrayExceptAsync().ConfigureAwait(false)
            ? Sql.Of($"arrayExcept(s.members, {removed})")
            : Sql.Of($"arrayFilter((p, seen) -> seen = 1, s.members, arraySlice(arrayEnumerateUniq(arrayConcat({removed}, s.members)), length({removed}) + 1))");
        var entered = exactChanges ? Sql.Of($"c.entered") : Sql.Of($"arrayDistinct(c.entered)");
        var statement = Sql.Of(
            $"""
            INSERT INTO {buckets} (key, members)
            SELECT c.bucket, arrayConcat({remaining}, {entered})
            FROM ({changedBuckets}) AS c
            LEFT JOIN {buckets} AS s ON s.key = c.bucket
            SETTINGS join_use_nulls = 0, join_algorithm = 'direct'
            """);
        return await ExecuteAsBucketWriterAsync(tenant, segmentIds, statement, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs a statement that writes the buckets of <paramref name="segmentIds"/> as their one writer in this process.</summary>
    private async Task<QueryStatistics> ExecuteAsBucketWriterAsync(
        string tenant, IEnumerable<string> segmentIds, SqlFragment statement, CancellationToken cancellationToken)
    {
        var gates = segmentIds.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
            .Select(segmentId => BucketWriters.GetOrAdd((schema.Database, tenant, segmentId), _ => new SemaphoreSlim(1, 1)))
            .ToList();
        var taken = 0;
        try
        {
            foreach (var gate in gates)
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                taken++;
            }

            return await engine.ExecuteAsync(statement, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var gate in gates.Take(taken))
            {
                gate.Release();
            }
        }
    }

    /// <summary>
    /// Whether the engine has <c>arrayExcept</c>, asked once per engine (not under any caller's cancellation: every
    /// rewrite shares the answer); a failed question answers no, and the rewrite takes the older form.
    /// </summary>
    private Task<bool> HasArrayExceptAsync() =>
        RemovesWithArrayExcept is { } fixedForm
            ? Task.FromResult(fixedForm)
            : RemovalForms.GetValue(engine, static engine => AskAsync(engine));

    /// <summary>
    /// Starts the question of <see cref="HasArrayExceptAsync"/> beside the log's insert that precedes every bucket
    /// rewrite, so the first rewrite of a process does not wait for it (16 ms in a 0.1% tick of the 2M-profile demo).
    /// </summary>
    private void AskForTheRemovalForm()
    {
        if (WritesLookup)
        {
            _ = HasArrayExceptAsync();
        }
    }

    private static async Task<bool> AskAsync(IClickHouseEngine engine)
    {
        try
        {
            return await engine.QueryScalarAsync<ulong>(Sql.Of($"SELECT count() FROM system.functions WHERE name = {Sql.Param("String", "arrayExcept")}"), CancellationToken.None).ConfigureAwait(false) > 0;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Every (segment, profile, is member now) of the changes, entered before exited.</summary>
    private static IEnumerable<(string SegmentId, string Profile, bool IsMember)> Transitions(IEnumerable<SegmentChanges> changes) =>
        changes.SelectMany(c => c.Entered.Select(p => (c.SegmentId, p, true)).Concat(c.Exited.Select(p => (c.SegmentId, p, false))));

    /// <summary>One writer of a segment's buckets at a time in this process (see <see cref="WriteBucketsAsync"/>).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Database, string Tenant, string Segment), SemaphoreSlim> BucketWriters = new();

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

    /// <summary>The key of a profile's membership bucket of the segment's current generation (see <see cref="TimelineKeys"/>).</summary>
    private SqlFragment BucketKey(string tenant, string segmentId, SqlFragment profileId, int? generation = null)
    {
        var (tenantValue, segment) = (Sql.Param("String", tenant), Sql.Param("String", segmentId));
        return TimelineKeys.MembershipBucket(tenantValue, segment, profileId, generation is { } known ? Sql.Number(known) : CurrentGeneration(tenantValue, segment));
    }

    /// <summary>The key prefix every membership read starts with.</summary>
    private static SqlFragment Keys(string tenant, string segmentId) =>
        Sql.Of($"tenant = {Sql.Param("String", tenant)} AND segment_id = {Sql.Param("String", segmentId)}");
}
