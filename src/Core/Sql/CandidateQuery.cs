using SegmentMcp.Core.Dsl;
using SqlF = SegmentMcp.Core.Sql.Sql;

namespace SegmentMcp.Core.Sql;

/// <summary>
/// Phase 1: one light statement per segment returning, sorted, every profile whose membership can differ between the
/// stored evaluation (time <c>t0</c>, data ingested up to watermark <c>w0</c>) and an evaluation at <c>t1</c> over
/// everything ingested now. Each rule below is a UNION branch that the sort keys, the <c>ingested_at</c> skip
/// indexes or the evaluator's projections (see <see cref="TableNames"/>) narrow to the changed rows.
/// </summary>
/// <remarks>
/// Why the union is complete: a profile's membership is a function of (its events of the metrics the condition
/// reads, restricted to each leaf's window; its latest value, as of now, of each property read; the referenced
/// segments' membership; whether it exists in the universe), evaluated at now. Between (t0, w0) and (t1, now) such an
/// input changes only if (1) a row it reads was ingested after w0, (2) a window edge moved across an event, (3) a
/// relative date edge moved across a date value, (4) a property update's own time passed into (t0, t1], (5) a
/// referenced segment's membership changed, (6) the profile entered the universe, or (7) a static list it reads
/// changed — each has a rule below; the behavioural conditions reduce to these in CandidateQuery.Behavioural.cs.
/// </remarks>
internal static partial class CandidateQuery
{
    private const string Time3 = ClickHouseTime.Milliseconds;
    private const string Time6 = ClickHouseTime.Microseconds;

    /// <summary>
    /// About how many profiles the tenant has: rows of the profiles table, which counts a profile more than once until
    /// its parts merge. Enough to weigh a segment's candidates against a query over the whole universe.
    /// </summary>
    public static SqlStatement ProfileRows(TableNames schema, string tenant) =>
        SqlF.Of($"SELECT count() FROM {SqlF.Table(schema.Profiles)} WHERE tenant = {SqlF.Param("String", tenant)}").ToStatement();

    /// <param name="t0">The stored evaluation time (t0 &lt; t1).</param>
    /// <param name="w0">The stored ingestion watermark: rows ingested after it were not seen by the stored evaluation.</param>
    /// <param name="referencesInlined">
    /// Whether the referenced segments are evaluated after this one (false: earlier in the same tick at t1, so their
    /// log after t0 holds every change of their part) or not at all before it (true: their conditions are read as this
    /// segment's own, see <see cref="PhaseOneSegment"/>).
    /// </param>
    public static SqlStatement Incremental(
        TableNames schema,
        string tenant,
        SegmentDefinition definition,
        IReadOnlyDictionary<string, SegmentDefinition> references,
        DateTime t0,
        DateTime t1,
        DateTime w0,
        bool referencesInlined = false) =>
        Candidates(schema, tenant, definition, references, t0, t1, w0, referencesInlined: referencesInlined) is { } candidates
            ? SqlF.Of($"{candidates} ORDER BY profile_id").ToStatement()
            : new SqlStatement(NoCandidates);

    /// <summary>
    /// Phase 1 of several segments stored at the same (t0, w0), in one statement: rows of (segment, profile_id,
    /// directions), where segment is the position in <paramref name="segments"/>, in no particular order; per segment,
    /// exactly the candidates and directions of its <see cref="Incremental"/> query. Rules (1) and (2), every
    /// segment's new rows and window edges, are read together: one read of the events ingested after w0 and one of
    /// every edge range, each row handed to the segments whose range holds it (<see cref="SharedEventReads"/>). Most of
    /// such a statement's time is planning its SELECTs, not reading: the benchmark's 12 segments sent 74 of them, 41
    /// reads of events, traits and the log, planned in 115–130 ms of a 160 ms statement on the 2M-profile demo.
    /// </summary>
    public static SqlStatement IncrementalBatch(
        TableNames schema,
        string tenant,
        IReadOnlyList<(SegmentDefinition Definition, IReadOnlyDictionary<string, SegmentDefinition> References)> segments,
        DateTime t0,
        DateTime t1,
        DateTime w0) =>
        IncrementalBatch(schema, tenant, [.. segments.Select(s => new PhaseOneSegment(s.Definition, s.References, ReferencesInlined: false))], t0, t1, w0);

    /// <inheritdoc cref="IncrementalBatch(TableNames, string, IReadOnlyList{ValueTuple{SegmentDefinition, IReadOnlyDictionary{string, SegmentDefinition}}}, DateTime, DateTime, DateTime)"/>
    public static SqlStatement IncrementalBatch(
        TableNames schema,
        string tenant,
        IReadOnlyList<PhaseOneSegment> segments,
        DateTime t0,
        DateTime t1,
        DateTime w0) =>
        IncrementalBatchFragment(schema, tenant, segments, t0, t1, w0).ToStatement();

    /// <summary>
    /// <see cref="IncrementalBatch(TableNames, string, IReadOnlyList{PhaseOneSegment}, DateTime, DateTime, DateTime)"/>
    /// as a fragment, for a statement that reads its rows further (the stored members of its one-sided rows).
    /// </summary>
    public static SqlFragment IncrementalBatchFragment(
        TableNames schema,
        string tenant,
        IReadOnlyList<PhaseOneSegment> segments,
        DateTime t0,
        DateTime t1,
        DateTime w0)
    {
        var parts = new List<SqlFragment>();
        var shared = new List<(int Segment, EventRead Read)>();
        for (var i = 0; i < segments.Count; i++)
        {
            var reads = new List<EventRead>();
            if (Candidates(schema, tenant, segments[i].Definition, segments[i].References, t0, t1, w0, reads, segments[i].ReferencesInlined) is { } candidates)
            {
                parts.Add(SqlF.Of($"SELECT toUInt32({SqlF.Number(i)}) AS segment, profile_id, toUInt8(directions) AS directions FROM ({candidates})"));
            }

            shared.AddRange(reads.Select(r => (i, r)));
        }

        parts.AddRange(SharedEventReads(schema, tenant, t1, w0, shared));
        return parts.Count == 0
            ? SqlF.Of($"SELECT toUInt32(0) AS segment, '' AS profile_id, toUInt8(0) AS directions WHERE 0")
            : SqlF.Of($"SELECT segment, profile_id, groupBitOr(directions) AS directions FROM ({SqlF.Join(SqlF.Of($" UNION ALL "), parts)}) GROUP BY segment, profile_id");
    }

    /// <summary>
    /// The event rows a tick from (t0, w0) to t1 cannot avoid reading, whatever keeps membership: every row of the
    /// segments' metrics ingested after w0 and every row a window edge crossed (rules 1 and 2, the reads phase 1
    /// shares), each read once. One row: how many rows, of how many profiles. The evaluator benchmark times it as the
    /// floor of a tick that reads its changes from the engine.
    /// </summary>
    public static SqlStatement ChangedEventRows(TableNames schema, string tenant, IReadOnlyList<PhaseOneSegment> segments, DateTime t0, DateTime t1, DateTime w0)
    {
        var shared = new List<(int Segment, EventRead Read)>();
        for (var i = 0; i < segments.Count; i++)
        {
            var reads = new List<EventRead>();
            _ = Candidates(schema, tenant, segments[i].Definition, segments[i].References, t0, t1, w0, reads, segments[i].ReferencesInlined);
            shared.AddRange(reads.Select(r => (i, r)));
        }

        var rows = RowsOf(schema, tenant, t1, w0, shared).Select(r => SqlF.Of($"SELECT profile_id FROM ({r.Rows}) WHERE {Held(r.Reads)}")).ToList();
        return rows.Count == 0
            ? new SqlStatement("SELECT toUInt64(0) AS rows, toUInt64(0) AS profiles")
            : SqlF.Of($"SELECT count() AS rows, uniqExact(profile_id) AS profiles FROM ({SqlF.Join(SqlF.Of($" UNION ALL "), rows)})").ToStatement();
    }

    /// <summary>
    /// A segment of a shared phase 1: its definition, every definition its references reach (<c>Closure</c>), and
    /// whether those are inlined. A referencing segment is evaluated after its references so that their log at t1 holds
    /// every change of its referenced part (rule 5). When no segment of the chain takes a new definition in the tick,
    /// it need not wait: its compiled query inlines the references anyway, so their conditions' own rules (1)–(7),
    /// with its t0 and w0, find every data-driven change of that part; their logs after t0 (written before this tick)
    /// add what a definition change of any segment of the chain did since t0.
    /// </summary>
    public sealed record PhaseOneSegment(SegmentDefinition Definition, IReadOnlyDictionary<string, SegmentDefinition> References, bool ReferencesInlined);

    /// <summary>
    /// A read of events rule (1) or (2) asks for: of <see cref="Metric"/>, with a time in [From, To] (From null: no
    /// lower bound), ingested after w0 (<see cref="NewRows"/>) or whenever (a window edge's range); its profiles are
    /// candidates with <see cref="Direction"/>.
    /// </summary>
    private sealed record EventRead(string Metric, bool NewRows, DateTime? From, DateTime To, ChangeDirection Direction);

    /// <summary>
    /// The segments' event reads as two SELECTs: the new rows of every metric read (through the projection in
    /// ingestion order), and every edge range, merged per metric into one condition (through the fine time projection).
    /// Each row read is handed to every segment whose own range holds it (an <c>ARRAY JOIN</c> of the matching
    /// positions), so a segment gets exactly the rows its own branches would have read.
    /// </summary>
    private static IEnumerable<SqlFragment> SharedEventReads(TableNames schema, string tenant, DateTime t1, DateTime w0, List<(int Segment, EventRead Read)> reads) =>
        RowsOf(schema, tenant, t1, w0, reads).Select(r => Handed(r.Reads, r.Rows));

    /// <summary>The two reads of <see cref="SharedEventReads"/> (new rows, edge ranges), each with the reads it serves.</summary>
    private static IEnumerable<(List<(int Segment, EventRead Read)> Reads, SqlFragment Rows)> RowsOf(TableNames schema, string tenant, DateTime t1, DateTime w0, List<(int Segment, EventRead Read)> reads)
    {
        var tenantParameter = SqlF.Named("tenant", "String", tenant);
        var t1Parameter = SqlF.Named("t1", Time3, t1);
        var w0Parameter = SqlF.Named("w0", Time6, w0);
        var events = SqlF.Table(schema.Events);
        var newRows = reads.Where(r => r.Read.NewRows).ToList();
        if (newRows.Count > 0)
        {
            var metrics = newRows.Select(r => r.Read.Metric).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
            yield return (
                newRows,
                SqlF.Of($"SELECT profile_id, metric, toUnixTimestamp64Milli(ts) AS at FROM {events} WHERE tenant = {tenantParameter} AND metric IN {SqlF.Param("Array(String)", metrics)} AND ingested_at > {w0Parameter} AND ts <= {t1Parameter}{IngestOrder}"));
        }

        var edges = reads.Where(r => !r.Read.NewRows).ToList();
        if (edges.Count > 0)
        {
            var byMetric = edges
                .GroupBy(r => r.Read.Metric, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g =>
                {
                    var ranges = Merge([.. g.Select(r => (r.Read.From!.Value, r.Read.To))])
                        .Select(r => SqlF.Of($"ts BETWEEN {SqlF.Param(Time3, r.From)} AND {SqlF.Param(Time3, r.To)}"))
                        .ToList();
                    return SqlF.Of($"(metric = {SqlF.Param("String", g.Key)} AND {SqlF.Or(ranges)})");
                })
                .ToList();
            yield return (
                edges,
                SqlF.Of($"SELECT profile_id, metric, toUnixTimestamp64Milli(ts) AS at FROM {events} WHERE tenant = {tenantParameter} AND {SqlF.Or(byMetric)}{FineTime}"));
        }
    }

    private static SqlFragment Handed(List<(int Segment, EventRead Read)> reads, SqlFragment rows)
    {
        var segments = SqlF.Param("Array(UInt32)", reads.Select(r => (long)r.Segment).ToArray());
        var directions = SqlF.Param("Array(UInt8)", reads.Select(r => (long)r.Read.Direction).ToArray());
        return SqlF.Of(
            $"SELECT toUInt32(arrayElement({segments}, i)) AS segment, profile_id, toUInt8(arrayElement({directions}, i)) AS directions FROM ({rows}) ARRAY JOIN arrayFilter({Holds(reads)}, range(1, {SqlF.Number(reads.Count + 1)})) AS i");
    }

    /// <summary>Whether some read holds the row (its metric, its time in the read's range).</summary>
    private static SqlFragment Held(List<(int Segment, EventRead Read)> reads) =>
        SqlF.Of($"arrayExists({Holds(reads)}, range(1, {SqlF.Number(reads.Count + 1)}))");

    /// <summary>The lambda of read x holding the row (metric, at).</summary>
    private static SqlFragment Holds(List<(int Segment, EventRead Read)> reads)
    {
        var metrics = SqlF.Param("Array(String)", reads.Select(r => r.Read.Metric).ToArray());
        var from = SqlF.Param("Array(Int64)", reads.Select(r => r.Read.From is { } f ? Milliseconds(f) : long.MinValue).ToArray());
        var to = SqlF.Param("Array(Int64)", reads.Select(r => Milliseconds(r.Read.To)).ToArray());
        return SqlF.Of($"x -> arrayElement({metrics}, x) = metric AND at >= arrayElement({from}, x) AND at <= arrayElement({to}, x)");

        static long Milliseconds(DateTime t) => (t.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMillisecond;
    }

    private const string NoCandidates = "SELECT '' AS profile_id, toUInt8(0) AS directions WHERE 0";

    /// <summary>
    /// The distinct candidates with their directions, unsorted; null when no rule applies. With
    /// <paramref name="shared"/>, rules (1) and (2) are added to it to be read with other segments' instead.
    /// </summary>
    private static SqlFragment? Candidates(
        TableNames schema,
        string tenant,
        SegmentDefinition definition,
        IReadOnlyDictionary<string, SegmentDefinition> references,
        DateTime t0,
        DateTime t1,
        DateTime w0,
        List<EventRead>? shared = null,
        bool referencesInlined = false)
    {
        var condition = referencesInlined ? SegmentCompiler.InlineReferences(definition.Condition, references) : definition.Condition;
        var reads = SegmentReads.Of(condition);

        // Inlined, the referenced conditions' own rules find their changes; their logs only hold what those rules
        // cannot see, a referenced definition changed since t0, on whichever segment of the chain took it.
        string[] logs = referencesInlined ? [.. references.Keys.Order(StringComparer.Ordinal)] : [.. reads.References];
        var tenantParameter = SqlF.Named("tenant", "String", tenant);
        var t0Parameter = SqlF.Named("t0", Time3, t0);
        var t1Parameter = SqlF.Named("t1", Time3, t1);
        var w0Parameter = SqlF.Named("w0", Time6, w0);
        var events = SqlF.Table(schema.Events);
        var traits = SqlF.Table(schema.Traits);
        var branches = new List<SqlFragment>();
        var derived = DerivedLeaves(reads.Behavioural, t0, t1);
        var polarities = Polarities(condition);
        var edges = new List<SqlFragment>();

        foreach (var metricLeaves in reads.Events.Concat(derived.Leaves).GroupBy(e => e.Metric, StringComparer.Ordinal))
        {
            var metric = SqlF.Param("String", metricLeaves.Key);

            // (1) Late and new events: a row of this metric ingested after w0 counts at t1 only inside a leaf's window at
            // t1, and there it only adds to that leaf's events: like an event entering the window, so it moves the
            // condition the way the leaf's upper edge does (EdgeEffect), and a member's new opens cannot make it leave
            // "opened in 30 days". Leaves without a polarity (sums, averages, the behavioural conditions' derived
            // leaves) keep every new row from their window's start up to t1, either way. Ingestion order, not event
            // time, so a late event (ts ≤ t0) is seen too: through the projection in ingestion order (the ingested_at
            // minmax index where a part predates it).
            var fresh = new Dictionary<ChangeDirection, SortedSet<(DateTime From, DateTime To)>>();
            foreach (var leaf in metricLeaves)
            {
                var window = TimeRange.Of(leaf.Window, t1);
                var polarity = polarities.GetValueOrDefault(leaf);
                var from = window.From ?? DateTime.MinValue;
                var to = polarity == 0 ? t1 : Min(window.Until, t1);
                if (from <= to)
                {
                    FreshOf(EdgeEffect(polarity, entering: true)).Add((from, to));
                }
            }

            foreach (var (direction, set) in fresh.OrderBy(r => r.Key))
            {
                foreach (var (from, to) in Merge(set))
                {
                    DateTime? lower = from == DateTime.MinValue ? null : from;
                    if (shared is not null)
                    {
                        shared.Add(new EventRead(metricLeaves.Key, NewRows: true, lower, to, direction));
                        continue;
                    }

                    var lowerBound = lower is { } l ? SqlF.Of($" AND ts >= {SqlF.Param(Time3, l)}") : SqlF.Empty;
                    edges.Add(SqlF.Of(
                        $"SELECT profile_id, {SqlF.Number((long)direction)} AS direction FROM {events} WHERE tenant = {tenantParameter} AND metric = {metric} AND ingested_at > {w0Parameter} AND ts <= {SqlF.Param(Time3, to)}{lowerBound}{IngestOrder}"));
                }
            }

            // (2) Window edges: an event is in a window at t iff L(t) ≤ ts ≤ U(t) with U(t) = min(until, now), and both
            // edges only move forward with t. So an event that left between t0 and t1 has L(t0) ≤ ts ≤ L(t1) and one
            // that entered has U(t0) ≤ ts ≤ U(t1): two ts ranges per window, read through the (tenant, metric, ts)
            // projection. No window is the window with only an upper edge (ts ≤ now), which catches events whose
            // time was in the future at t0.
            // Each range is kept with what crossing it can do to the condition (see EdgeEffect): ranges are merged
            // only within one effect, and a profile whose events lie in ranges of both kinds is a plain candidate.
            var ranges = new Dictionary<ChangeDirection, SortedSet<(DateTime From, DateTime To)>>();
            foreach (var leaf in metricLeaves)
            {
                var before = TimeRange.Of(leaf.Window, t0);
                var after = TimeRange.Of(leaf.Window, t1);
                var polarity = polarities.GetValueOrDefault(leaf);
                if (before.From is { } l0 && after.From is { } l1 && l0 < l1)
                {
                    RangesOf(EdgeEffect(polarity, entering: false)).Add((l0, l1));
                }

                var u0 = Min(before.Until, t0);
                var u1 = Min(after.Until, t1);
                if (u0 < u1)
                {
                    RangesOf(EdgeEffect(polarity, entering: true)).Add((u0, u1));
                }

                // (3) Relative dates inside where filters flip an event in or out with no edge of the window moving:
                // read the metric's events in either window whose date value crosses the filter's edges.
                foreach (var filter in leaf.Where.Where(f => f.Op.TakesDays()))
                {
                    var crossing = DateCrossing(filter, new TaggedValueSql(SqlF.Of($"properties[{SqlF.Param("String", filter.Name)}]")), t0, t1);
                    if (crossing is null)
                    {
                        continue;
                    }

                    var span = new List<SqlFragment> { SqlF.Of($"ts <= {t1Parameter}") };
                    if (before.From is { } from)
                    {
                        span.Add(SqlF.Of($"ts >= {SqlF.Param(Time3, from)}"));
                    }

                    branches.Add(SqlF.Of(
                        $"SELECT profile_id FROM {events} WHERE tenant = {tenantParameter} AND metric = {metric} AND {SqlF.And(span)} AND {crossing}"));
                }
            }

            foreach (var range in derived.Ranges.Where(r => r.Metric == metricLeaves.Key))
            {
                RangesOf(ChangeDirection.Any).Add((range.From, range.To));
            }

            foreach (var (direction, set) in ranges.OrderBy(r => r.Key))
            {
                foreach (var (from, to) in Merge(set))
                {
                    if (shared is not null)
                    {
                        shared.Add(new EventRead(metricLeaves.Key, NewRows: false, from, to, direction));
                        continue;
                    }

                    edges.Add(SqlF.Of(
                        $"SELECT profile_id, {SqlF.Number((long)direction)} AS direction FROM {events} WHERE tenant = {tenantParameter} AND metric = {metric} AND ts BETWEEN {SqlF.Param(Time3, from)} AND {SqlF.Param(Time3, to)}{FineTime}"));
                }
            }

            SortedSet<(DateTime From, DateTime To)> RangesOf(ChangeDirection direction) =>
                ranges.TryGetValue(direction, out var set) ? set : ranges[direction] = [];

            SortedSet<(DateTime From, DateTime To)> FreshOf(ChangeDirection direction) =>
                fresh.TryGetValue(direction, out var set) ? set : fresh[direction] = [];
        }

        var propertyNames = reads.Properties.Select(p => p.Name).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (propertyNames.Length > 0)
        {
            var names = SqlF.Param("Array(String)", propertyNames);

            // (1) Property updates ingested after w0 (late ones included), effective by t1.
            branches.Add(SqlF.Of(
                $"SELECT profile_id FROM {traits} WHERE tenant = {tenantParameter} AND property IN {names} AND ingested_at > {w0Parameter} AND updated_at <= {t1Parameter}{IngestOrder}"));

            // (4) Updates already ingested whose update time was still ahead at t0 and has passed by t1; the (tenant,
            // property, updated_at) projection reads just that range.
            branches.Add(SqlF.Of(
                $"SELECT profile_id FROM {traits} WHERE tenant = {tenantParameter} AND property IN {names} AND updated_at > {t0Parameter} AND updated_at <= {t1Parameter}{FineTime}"));
        }

        // (3) Relative date properties: the value's date crossed an edge of the operator between t0 and t1. Every
        // historical value up to t1 is tested (a superset of the values current at t0 and at t1). For the ranged
        // operators the date's day prefix bounds the (tenant, property, value) projection; ISO text sorts by date.
        foreach (var filter in reads.Properties.Where(p => p.Op.TakesDays()))
        {
            var crossing = DateCrossing(filter, new TaggedValueSql(SqlF.Of($"value")), t0, t1);
            if (crossing is null)
            {
                continue;
            }

            var prefix = DayPrefixRange(filter, t0, t1);
            branches.Add(SqlF.Of(
                $"SELECT profile_id FROM {traits} WHERE tenant = {tenantParameter} AND property = {SqlF.Param("String", filter.Name)}{prefix ?? SqlF.Empty} AND updated_at <= {t1Parameter} AND {crossing}{(prefix is null ? SqlF.Empty : ValueOrder)}"));
        }

        // (5) Referenced segments are evaluated earlier in the same tick at the same t1, so a change of their part of
        // the condition is exactly an entry in their log after t0 (the log's key starts with tenant, segment, at).
        if (logs.Length > 0)
        {
            branches.Add(SqlF.Of(
                $"SELECT profile_id FROM {SqlF.Table(schema.MembershipLog)} WHERE tenant = {tenantParameter} AND segment_id IN {SqlF.Param("Array(String)", logs)} AND at > {t0Parameter} AND at <= {t1Parameter}"));
        }

        // (7) Static lists: adds and removes that took effect or were written since the stored evaluation.
        if (reads.Lists.Count > 0)
        {
            branches.Add(ListChanges(schema, reads.Lists, tenantParameter, t0Parameter, t1Parameter, w0Parameter));
        }

        // (6) Entering the universe changes nothing for a condition that is false on an empty profile: a member needs
        // some data the rules above see, or an entry in a referenced segment's log. Otherwise add the profiles that
        // appeared between t0 and t1, and those with any data ingested after w0 (a late row can move a profile's first
        // appearance before t0). A new profile that a referenced segment holding for empty profiles excludes leaves
        // no entry in its log, so such a reference counts as either value (MayHoldForNewProfile).
        if (SegmentReads.MayHoldForNewProfile(condition, references))
        {
            branches.Add(SqlF.Of(
                $"SELECT profile_id FROM {SqlF.Table(schema.Profiles)} WHERE tenant = {tenantParameter} GROUP BY profile_id HAVING min(first_seen) > {t0Parameter} AND min(first_seen) <= {t1Parameter}"));
            branches.Add(SqlF.Of(
                $"SELECT profile_id FROM {events} WHERE tenant = {tenantParameter} AND ingested_at > {w0Parameter} AND ts <= {t1Parameter}{IngestOrder}"));
            branches.Add(SqlF.Of(
                $"SELECT profile_id FROM {SqlF.Table(schema.ProfileUpdates)} WHERE tenant = {tenantParameter} AND ingested_at > {w0Parameter} AND updated_at <= {t1Parameter}{IngestOrder}"));
        }

        return Distinct(branches, edges);
    }

    /// <summary>
    /// For a branch reading a narrow time range: the projection with 1,024-row marks, by name. On its own ClickHouse
    /// takes the coarse one (fewer marks, eight times the rows each). Per branch, since naming one projection keeps
    /// the others (the value projection of rule 3) from being considered.
    /// </summary>
    private static readonly SqlFragment FineTime = SqlF.Of($" SETTINGS preferred_optimize_projection_name = '{SqlF.Table(TableNames.FineTimeProjection)}'");

    /// <summary>
    /// For a read of rows ingested after a time (events, trait rows, profile updates): the projection in ingestion
    /// order, by name (a SETTINGS clause of that SELECT).
    /// </summary>
    internal static readonly SqlFragment IngestOrder = SqlF.Of($" SETTINGS preferred_optimize_projection_name = '{SqlF.Table(TableNames.IngestOrderProjection)}'");

    /// <summary>
    /// For a read of a value range of one trait: the projection in value order, by name. Left to itself ClickHouse read
    /// the signup dates' day range through the table's own order (the 2M-profile demo: 25 against 14 ms, the same
    /// 71,698 rows; phase 1's statement 177 against 165 ms).
    /// </summary>
    private static readonly SqlFragment ValueOrder = SqlF.Of($" SETTINGS preferred_optimize_projection_name = '{SqlF.Table(TableNames.ValueOrderProjection)}'");

    /// <summary>
    /// The candidates, sorted, each with the OR of the <see cref="ChangeDirection"/> flags of the branches it came from:
    /// <paramref name="branches"/> (profile_id alone) stand for <see cref="ChangeDirection.Any"/>,
    /// <paramref name="edges"/> carry their flag as a second column.
    /// </summary>
    private static SqlFragment? Distinct(IReadOnlyList<SqlFragment> branches, IReadOnlyList<SqlFragment> edges)
    {
        var parts = edges.Select(e => SqlF.Of($"({e})")).ToList();
        if (branches.Count > 0)
        {
            var plain = SqlF.Join(SqlF.Of($" UNION ALL "), branches.Select(b => SqlF.Of($"({b})")));
            parts.Insert(0, SqlF.Of($"(SELECT profile_id, {SqlF.Number((long)ChangeDirection.Any)} AS direction FROM ({plain}))"));
        }

        if (parts.Count == 0)
        {
            return null;
        }

        var union = SqlF.Join(SqlF.Of($" UNION ALL "), parts);
        return SqlF.Of($"SELECT profile_id, groupBitOr(direction) AS directions FROM ({union}) GROUP BY profile_id");
    }

    /// <summary>
    /// A predicate true when the value's date can be inside the operator's range at one of t0, t1 and outside at the
    /// other; null when nothing can change. The ranges are closed, so boundaries are included (a superset is fine).
    /// </summary>
    private static SqlFragment? DateCrossing(PropertyFilter filter, TaggedValueSql value, DateTime t0, DateTime t1)
    {
        if (filter.Op == FilterOperator.AnniversaryInNextDays)
        {
            var before = FilterSql.AnniversaryCodes(filter.Today(t0), filter.Days);
            var after = FilterSql.AnniversaryCodes(filter.Today(t1), filter.Days);
            var changed = before.Except(after).Union(after.Except(before)).Order().ToArray();
            if (changed.Length == 0)
            {
                return null;
            }

            // The written month-day test first: only the rows it lets through are parsed (the 2M-profile demo's
            // birthdays at midnight: 2.0M values parsed, 0.21 s, for the two days whose anniversaries moved).
            var date = value.Date;
            return SqlF.Of($"{FilterSql.WrittenMonthDayNear(value.Tagged, changed)} AND ifNull(has({SqlF.Param("Array(UInt16)", changed)}, toMonth({date}) * 100 + toDayOfMonth({date})), 0)");
        }

        var ranges = DateRanges(filter, t0, t1);
        if (ranges.Count == 0)
        {
            return null;
        }

        return SqlF.Or([.. ranges.Select(r => SqlF.And([
            .. DateOnlyOutside(value, r),
            SqlF.Of($"ifNull({value.Date} BETWEEN {SqlF.Param(Time3, r.From)} AND {SqlF.Param(Time3, r.To)}, 0)")]))]);
    }

    /// <summary>
    /// A date without a time ('s' and ten characters once it parses) is midnight UTC, so when no midnight lies in the
    /// range it cannot be inside: a length test first spares parsing it (evaluation short-circuits). An hour's edge
    /// rarely holds a midnight, and parsing was most of the cost: <c>signup_date in_last_days 30</c> read 11,501
    /// date-only values in its day range on the 2M-profile demo and took 0.08–0.19 s.
    /// </summary>
    private static SqlFragment[] DateOnlyOutside(TaggedValueSql value, (DateTime From, DateTime To) range)
    {
        var firstMidnight = range.From.TimeOfDay == TimeSpan.Zero ? range.From : range.From.Date.AddDays(1);
        return firstMidnight <= range.To ? [] : [SqlF.Of($"length({value.Tagged}) != 11")];
    }

    /// <summary>The edges each ranged date operator has, at t0 and at t1: the date ranges they sweep.</summary>
    private static List<(DateTime From, DateTime To)> DateRanges(PropertyFilter filter, DateTime t0, DateTime t1)
    {
        var days = filter.Days;
        return filter.Op switch
        {
            FilterOperator.InLastDays => [(t0.AddDays(-days), t1.AddDays(-days)), (t0, t1)],
            FilterOperator.MoreThanDaysAgo => [(t0.AddDays(-days), t1.AddDays(-days))],
            FilterOperator.InNextDays => [(t0, t1), (t0.AddDays(days), t1.AddDays(days))],
            _ => [],
        };
    }

    /// <summary>
    /// For the ranged date operators on profile properties: the tagged value ('s' + ISO text) lies between the day
    /// prefixes of the swept ranges, widened by a day each side for time-zone offsets. Lets the value projection prune.
    /// </summary>
    private static SqlFragment? DayPrefixRange(PropertyFilter filter, DateTime t0, DateTime t1)
    {
        var ranges = DateRanges(filter, t0, t1);
        if (ranges.Count == 0)
        {
            return null;
        }

        var alternatives = ranges.Select(r => SqlF.Of(
            $"(value >= {SqlF.Param("String", "s" + Day(r.From.AddDays(-1)))} AND value < {SqlF.Param("String", "s" + Day(r.To.AddDays(2)))})")).ToList();
        return SqlF.Of($" AND {SqlF.Or(alternatives)}");

        static string Day(DateTime t) => t.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static DateTime Min(DateTime? until, DateTime now) => until is { } u && u < now ? u : now;

    /// <summary>Merges overlapping ranges so each event row is read once per metric.</summary>
    private static IEnumerable<(DateTime From, DateTime To)> Merge(SortedSet<(DateTime From, DateTime To)> ranges)
    {
        (DateTime From, DateTime To)? current = null;
        foreach (var range in ranges)
        {
            if (current is { } c && range.From <= c.To)
            {
                current = (c.From, range.To > c.To ? range.To : c.To);
            }
            else
            {
                if (current is { } done)
                {
                    yield return done;
                }

                current = range;
            }
        }

        if (current is { } last)
        {
            yield return last;
        }
    }
}
