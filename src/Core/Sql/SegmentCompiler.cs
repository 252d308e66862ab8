using System.Globalization;
using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Core.Sql;

/// <summary>What a compiled segment query returns.</summary>
public enum CompileMode
{
    /// <summary>One row per member: <c>profile_id</c>.</summary>
    Members,

    /// <summary>One row: <c>members</c>, the member count.</summary>
    Count,

    /// <summary>Like <see cref="Members"/>, limited to <see cref="CompileOptions.ProfileIds"/> (pushed into every scan).</summary>
    Restricted,

    /// <summary>
    /// One page of members in profile id order: after <see cref="CompileOptions.AfterProfileId"/>, at most
    /// <see cref="CompileOptions.PageSize"/> rows (keyset paging).
    /// </summary>
    Page,
}

/// <param name="Now">The evaluation time (UTC; truncated to milliseconds).</param>
/// <param name="ProfileIds">The candidates of <see cref="CompileMode.Restricted"/>, bound as <c>{profile_ids:Array(String)}</c>.</param>
public sealed record CompileOptions(DateTime Now, CompileMode Mode = CompileMode.Members, IReadOnlyList<string>? ProfileIds = null)
{
    /// <summary><see cref="CompileMode.Page"/>: the last profile id of the previous page (null for the first page).</summary>
    public string? AfterProfileId { get; init; }

    /// <summary><see cref="CompileMode.Page"/>: rows per page.</summary>
    public int PageSize { get; init; } = 100;

    /// <summary>Compile to <c>EXPLAIN ESTIMATE</c> of the query: the engine's estimate of the rows and marks it reads.</summary>
    public bool ExplainEstimate { get; init; }

    /// <summary>
    /// <see cref="CompileMode.Restricted"/>: up to this many candidates read property values from the history, whose
    /// (tenant, property, profile_id) key costs each candidate at most one granule per property; more candidates read
    /// the current-value table's value ranges, since spread over the key range they would touch every granule.
    /// </summary>
    public int HistorySeekLimit { get; init; } = 32;

    /// <summary>
    /// The caller ran <see cref="SegmentCompiler.CompileCurrentTraitsCheck"/> at <see cref="Now"/> and it answered true:
    /// the current-value table held every read property's value as of now for every profile, so the query reads that
    /// table alone, without the exact fallback to the history for uncertain profiles (a statement's extra branch and
    /// its subqueries: 29 ms against 12 ms for signed up 30d on the 2M-profile demo, the check itself 6 ms).
    /// </summary>
    public bool CurrentTraitsComplete { get; init; }
}

/// <summary>
/// Compiles a validated definition into one ClickHouse query over <see cref="TableNames"/>'s tables.
/// </summary>
/// <remarks>
/// Shape: every event leaf is one conditional aggregate column of a single GROUP BY profile_id over events (tenant,
/// the metrics, the union of the windows and ts ≤ now pushed into WHERE, the sort key's order); every profile
/// property is one argMaxIf column of a single GROUP BY profile_id over traits (tenant, the property names,
/// updated_at ≤ now). Both are LEFT JOINed to the universe (profiles that exist at now), so NOT and "count eq 0"
/// need no NOT IN set: a profile missing from an aggregate reads the column defaults (0, '', NULL), which are exactly
/// the values of an empty event set and an unset property. When the condition can only hold for a profile that
/// has matching events (or a set property), the query drives from that aggregate instead of the universe. A joined
/// trait aggregate keeps, by a HAVING, only the profiles that pass the top-level property-only conjuncts, so the
/// join's table holds the candidates, not every profile. Likewise, when a leaf has where filters or the leaves'
/// windows differ, the event aggregate reads only the rows some leaf selects.
/// When every property test is a top-level conjunct, the traits side is instead the set of profiles passing them
/// (SegmentCompiler.PropertySet.cs): no per-profile aggregate of values.
/// Segment references are inlined, so the whole tree is evaluated in the same query at the same now.
/// </remarks>
public static partial class SegmentCompiler
{
    private const string DateTimeType = FilterSql.DateTimeType;

    /// <summary>
    /// The settings every compiled query runs with: the column defaults of a missed LEFT JOIN are relied on; and on a
    /// cluster, where every table is a Distributed table sharded by (tenant, profile_id), each per-profile aggregate
    /// is complete on its shard, so the entry point concatenates them instead of merging (on one engine that setting
    /// does nothing, and the text stays the same on both).
    /// </summary>
    public static SqlFragment Settings { get; } = Sql.Of($" SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1");

    /// <summary>
    /// Appended to <see cref="Settings"/> by a restricted query over the timelines: a key lookup returns a candidate's
    /// whole history, so with the default blocks (65,409 keys) one chunk's histories sat in memory at once (about 200 MB
    /// for 20,000 candidates of two metrics); blocks of 4,096 keys stream them, and ran as fast or faster (measured on
    /// the 2M-profile demo: 1.1–1.3 s against 1.3–1.8 s).
    /// </summary>
    internal static SqlFragment TimelineBlocks { get; } = Sql.Of($", max_block_size = 4096");

    public static SqlStatement Compile(ValidatedDefinition definition, TableNames schema, CompileOptions options)
    {
        var readsTimelines = options.Mode == CompileMode.Restricted && schema.HasKeyValueTables;
        var query = Sql.Of($"{Candidates(options)}{Query(definition, schema, options)}{Settings}{(readsTimelines ? TimelineBlocks : Sql.Empty)}");
        return options.ExplainEstimate ? Sql.Of($"EXPLAIN ESTIMATE {query}").ToStatement() : query.ToStatement();
    }

    /// <summary>
    /// One row, one UInt8 column: whether the current-value table answers <paramref name="definition"/>'s property
    /// tests as of <paramref name="now"/> alone (then compile with <see cref="CompileOptions.CurrentTraitsComplete"/>).
    /// True when no update of a read property is dated after now and none was ingested after the table's watermark.
    /// Null when the compiled query would not read the table, or when a refresh may write a value's retraction and its
    /// replacement in separate inserts (a cluster), so that a query without the fallback could see neither or both.
    /// </summary>
    /// <remarks>
    /// A refresh writes each (property, profile) pair's live and retracted values in one insert and moves the watermark
    /// last, so a check that passed stays true for the table a later query reads, up to pairs refreshed in between
    /// from history ingested after the check (each seen whole, old or new).
    /// </remarks>
    public static SqlStatement? CompileCurrentTraitsCheck(ValidatedDefinition definition, TableNames schema, DateTime now)
    {
        if (!schema.HasKeyValueTables)
        {
            return null;
        }

        var builder = new QueryBuilder(definition.Tenant, schema, new CompileOptions(now));
        _ = builder.Build(Inline(definition.Definition.Condition, definition.References, 0));
        return builder.CurrentTraitsCheck()?.ToStatement();
    }

    /// <summary>
    /// A measure's aggregate over the rows a selection keeps (null: over every row the query's WHERE lets through).
    /// <paramref name="measured"/> is the measured property's value, null for a count.
    /// </summary>
    internal static Func<SqlFragment?, SqlFragment> MeasureAggregate(MeasureKind kind, ValueSql? measured) => kind switch
    {
        MeasureKind.Count => s => s is null ? Sql.Of($"count()") : Sql.Of($"countIf({s})"),
        MeasureKind.Sum => s => s is null ? Sql.Of($"sum(ifNull({measured!.Number}, 0))") : Sql.Of($"sumIf(ifNull({measured!.Number}, 0), {s})"),
        MeasureKind.Avg => s => s is null ? Sql.Of($"avgOrNull({measured!.Number})") : Sql.Of($"avgOrNullIf({measured!.Number}, {s})"),
        MeasureKind.Min => s => s is null ? Sql.Of($"minOrNull({measured!.Number})") : Sql.Of($"minOrNullIf({measured!.Number}, {s})"),
        MeasureKind.Max => s => s is null ? Sql.Of($"maxOrNull({measured!.Number})") : Sql.Of($"maxOrNullIf({measured!.Number}, {s})"),
        _ => measured is EventValueSql
            ? s => s is null ? Sql.Of($"uniqExactIf(value, isNotNull(value))") : Sql.Of($"uniqExactIf(value, {s} AND isNotNull(value))")
            : s => s is null ? Sql.Of($"uniqExactIf({measured!.Tagged}, {measured.IsSet})") : Sql.Of($"uniqExactIf({measured!.Tagged}, {s} AND {measured.IsSet})"),
    };

    /// <summary>The name a restricted query reads its candidates by, bound once in <see cref="Candidates"/>.</summary>
    public static SqlFragment CandidateIds { get; } = Sql.Of($"candidate_ids");

    /// <summary>
    /// A restricted query diffed in the engine against <paramref name="storedMembers"/> (a one-column subquery that may
    /// read <see cref="CandidateIds"/>): rows of (profile_id, is_member now) for the candidates whose membership
    /// changed, in one statement instead of the query and a lookup of the stored members, and only the changes
    /// cross into the process.
    /// </summary>
    public static SqlStatement CompileChanges(ValidatedDefinition definition, TableNames schema, CompileOptions options, SqlFragment storedMembers)
    {
        if (options.Mode != CompileMode.Restricted)
        {
            throw new ArgumentException("A diff needs the restricted mode.", nameof(options));
        }

        return Sql.Of(
            $"""
            {Candidates(options)}SELECT candidate, now_member FROM (SELECT candidate, candidate IN ({Query(definition, schema, options)}) AS now_member, candidate IN ({storedMembers}) AS was_member FROM (SELECT arrayJoin({CandidateIds}) AS candidate)) WHERE now_member != was_member{Settings}{(schema.HasKeyValueTables ? TimelineBlocks : Sql.Empty)}
            """).ToStatement();
    }

    /// <summary>
    /// The compiled query over every profile diffed in the engine against <paramref name="storedMembers"/> (a one-column
    /// subquery of a segment's stored members): rows of (profile_id, is_member now) for the profiles whose membership
    /// changed, instead of both member lists crossing into the process. Both sides go through one aggregation by
    /// profile and a profile found on one side only changed: replayed on a server for the benchmark's 12 changed
    /// versions, 2,132–2,150 ms against 2,316 ms for a <c>FULL OUTER JOIN</c> of the two sides (their queries alone
    /// 1,613 ms; medians of nine, interleaved), which builds the stored side's hash table before the query starts.
    /// </summary>
    public static SqlStatement CompileWholeChanges(ValidatedDefinition definition, TableNames schema, DateTime now, SqlFragment storedMembers) =>
        CompileWholeChanges(definition, schema, new CompileOptions(now), storedMembers);

    /// <inheritdoc cref="CompileWholeChanges(ValidatedDefinition, TableNames, DateTime, SqlFragment)"/>
    /// <param name="options">Members mode, at the evaluation time (possibly <see cref="CompileOptions.CurrentTraitsComplete"/>).</param>
    public static SqlStatement CompileWholeChanges(ValidatedDefinition definition, TableNames schema, CompileOptions options, SqlFragment storedMembers) =>
        Sql.Of($"{CompileWholeChangesFragment(definition, schema, options, storedMembers)}{Settings}").ToStatement();

    /// <summary>
    /// <see cref="CompileWholeChanges(ValidatedDefinition, TableNames, CompileOptions, SqlFragment)"/> as a fragment of
    /// (candidate, now_member), for a statement that writes the changes inside the engine (INSERT … SELECT); the
    /// statement must end with <see cref="Settings"/>.
    /// </summary>
    public static SqlFragment CompileWholeChangesFragment(ValidatedDefinition definition, TableNames schema, CompileOptions options, SqlFragment storedMembers) =>
        Sql.Of(
            $"""
            SELECT profile_id AS candidate, max(side) = 1 AS now_member
            FROM (SELECT profile_id, toUInt8(1) AS side FROM ({Query(definition, schema, MembersOf(options))}) UNION ALL SELECT profile_id, toUInt8(0) AS side FROM ({storedMembers}))
            GROUP BY profile_id HAVING min(side) = max(side)
            """);

    /// <summary>
    /// A restricted query's candidates, bound once at the top (<c>WITH {profile_ids:Array(String)} AS candidate_ids</c>)
    /// and read by name where the query restricts to them: the engine parses an array parameter at every place it
    /// appears, 2–3 µs an element each time (35 ms more for three places than for one, 11,689 candidates, measured).
    /// </summary>
    private static SqlFragment Candidates(CompileOptions options) =>
        options.Mode == CompileMode.Restricted
            ? Sql.Of($"WITH {Sql.Named("profile_ids", "Array(String)", (options.ProfileIds ?? throw new ArgumentException("Restricted mode needs ProfileIds.", nameof(options))).ToArray())} AS {CandidateIds} ")
            : Sql.Empty;

    /// <summary>
    /// The members query (<see cref="CompileMode.Members"/>) as a fragment, for a statement that consumes it inside
    /// the engine (INSERT … SELECT); the statement must end with <see cref="Settings"/>.
    /// </summary>
    public static SqlFragment CompileMembers(ValidatedDefinition definition, TableNames schema, DateTime now) =>
        CompileMembers(definition, schema, new CompileOptions(now));

    /// <inheritdoc cref="CompileMembers(ValidatedDefinition, TableNames, DateTime)"/>
    /// <param name="options">Members mode, at the evaluation time (possibly <see cref="CompileOptions.CurrentTraitsComplete"/>).</param>
    public static SqlFragment CompileMembers(ValidatedDefinition definition, TableNames schema, CompileOptions options) =>
        Query(definition, schema, MembersOf(options));

    private static CompileOptions MembersOf(CompileOptions options) =>
        options.Mode == CompileMode.Members && !options.ExplainEstimate
            ? options
            : throw new ArgumentException("Only the members mode can be consumed inside another statement.", nameof(options));

    private static SqlFragment Query(ValidatedDefinition definition, TableNames schema, CompileOptions options)
    {
        var condition = Inline(definition.Definition.Condition, definition.References, 0);
        return new QueryBuilder(definition.Tenant, schema, options).Build(condition);
    }

    /// <summary>The condition with every segment reference replaced by the referenced condition (member = false: NOT).</summary>
    internal static Condition InlineReferences(Condition condition, IReadOnlyDictionary<string, SegmentDefinition> references) =>
        Inline(condition, references, 0);

    /// <summary>Replaces segment references by their (inlined) conditions; member = false becomes NOT.</summary>
    private static Condition Inline(Condition condition, IReadOnlyDictionary<string, SegmentDefinition> references, int depth)
    {
        if (depth > 64)
        {
            throw new InvalidOperationException("Segment references nest too deeply (is there a cycle the validator did not see?).");
        }

        return condition switch
        {
            AllCondition all => new AllCondition([.. all.Items.Select(c => Inline(c, references, depth))]),
            AnyCondition any => new AnyCondition([.. any.Items.Select(c => Inline(c, references, depth))]),
            NotCondition not => new NotCondition(Inline(not.Inner, references, depth)),
            SegmentReferenceCondition reference => references.TryGetValue(reference.SegmentId, out var referenced)
                ? reference.Member
                    ? Inline(referenced.Condition, references, depth + 1)
                    : new NotCondition(Inline(referenced.Condition, references, depth + 1))
                : throw new InvalidOperationException($"Segment '{reference.SegmentId}' was not resolved by validation."),
            _ => condition,
        };
    }

    [Flags]
    private enum Sources
    {
        None = 0,
        Events = 1,
        Traits = 2,
    }

    private sealed partial class QueryBuilder
    {
        private readonly TableNames schema;
        private readonly string tenant;
        private readonly CompileOptions options;
        private readonly DateTime now;
        private readonly SqlFragment nowParameter;
        private readonly SqlFragment tenantParameter;
        private readonly SqlFragment? restrictedTo;
        private readonly List<EventColumn> eventColumns = [];
        private readonly List<string> properties = [];

        /// <summary>Whether a leaf reads an event property (then the timelines, not the event times, are looked up).</summary>
        private bool readsEventProperties;

        public QueryBuilder(string tenant, TableNames schema, CompileOptions options)
        {
            this.schema = schema;
            this.tenant = tenant;
            this.options = options;
            if (options.Now.Kind == DateTimeKind.Local)
            {
                throw new ArgumentException("CompileOptions.Now must be UTC.", nameof(options));
            }

            now = IsoTime.Truncate(options.Now);
            nowParameter = Sql.Named("now", DateTimeType, now);
            tenantParameter = Sql.Named("tenant", "String", tenant);
            if (options.Mode == CompileMode.Restricted)
            {
                _ = options.ProfileIds ?? throw new ArgumentException("Restricted mode needs ProfileIds.", nameof(options));
                restrictedTo = CandidateIds;
            }
        }

        public SqlFragment Build(Condition condition)
        {
            if (PropertyConjunction.Split(condition) is { } conjunction)
            {
                return Finish(BuildWithPropertySet(conjunction));
            }

            var required = Required(condition);
            var driver = required.HasFlag(Sources.Events) ? "e" : required.HasFlag(Sources.Traits) ? "t" : "u";
            driverId = driver switch { "e" => Sql.Of($"e.profile_id"), "t" => Sql.Of($"t.profile_id"), _ => Sql.Of($"u.profile_id") };

            // The WHERE expression registers event columns and properties as it goes.
            var predicate = Predicate(condition);
            var hasEvents = eventColumns.Count > 0;
            var hasTraits = properties.Count > 0;
            // One event leaf that every profile with a selected row passes (did X at least once): the aggregate's rows
            // are the members, so no count is kept per profile (57 against 50 ms for openers 30d on the 2M-profile
            // demo, where the query an expert writes is this GROUP BY alone). With a single column, every row the
            // aggregate reads is one the leaf selects.
            if (condition is EventCondition { Measure.Kind: MeasureKind.Count } leaf && eventColumns.Count == 1 && PassesByPresence(leaf.Op, leaf.Value) == true)
            {
                return Finish(Sql.Of($"SELECT e.profile_id AS profile_id FROM {EventAggregate(withColumns: false)} AS e"));
            }

            var from = driver switch
            {
                "e" => Sql.Of($"{EventAggregate()} AS e"),
                "t" => Sql.Of($"{TraitAggregate(null, condition)} AS t"),
                _ => Sql.Of($"{Universe()} AS u"),
            };
            var joins = new List<SqlFragment>();
            if (hasEvents && driver != "e")
            {
                joins.Add(Sql.Of($" LEFT JOIN {EventAggregate()} AS e ON e.profile_id = {driverId}"));
            }

            if (hasTraits && driver != "t")
            {
                joins.Add(Sql.Of($" LEFT JOIN {TraitAggregate(TraitFilter(condition), condition)} AS t ON t.profile_id = {driverId}"));
            }

            return Finish(Sql.Of($"SELECT {driverId} AS profile_id FROM {from}{Sql.Join(Sql.Empty, joins)} WHERE {predicate}"));
        }

        /// <summary>Wraps the members query for <see cref="CompileOptions.Mode"/>.</summary>
        private SqlFragment Finish(SqlFragment members)
        {
            return options.Mode switch
            {
                CompileMode.Count => Sql.Of($"SELECT count() AS members FROM ({members})"),
                CompileMode.Page => Sql.Of(
                    $"SELECT profile_id FROM ({members}) WHERE profile_id > {Sql.Named("page_after", "String", options.AfterProfileId ?? string.Empty)} ORDER BY profile_id LIMIT {Sql.Named("page_size", "UInt32", (long)options.PageSize)}"),
                _ => members,
            };
        }

        /// <param name="insideTraits">Write trait columns unqualified, for a HAVING inside the trait aggregate.</param>
        private SqlFragment Predicate(Condition condition, bool insideTraits = false) => condition switch
        {
            AllCondition all => Sql.And([.. all.Items.Select(c => Predicate(c, insideTraits))]),
            AnyCondition any => Sql.Or([.. any.Items.Select(c => Predicate(c, insideTraits))]),
            NotCondition not => Sql.Of($"NOT {Parenthesize(Predicate(not.Inner, insideTraits))}"),
            PropertyCondition property => FilterSql.Predicate(property.Filter, new TaggedValueSql(TraitColumn(property.Filter.Name, insideTraits)), nowParameter, now),
            EventCondition e => EventPredicate(e),
            _ => BehaviouralPredicate(condition),
        };

        private static SqlFragment Parenthesize(SqlFragment fragment) => Sql.Of($"({fragment})");

        /// <summary>Which aggregates a profile must appear in for the condition to possibly hold.</summary>
        private static Sources Required(Condition condition) => condition switch
        {
            AllCondition all => all.Items.Aggregate(Sources.None, (sources, item) => sources | Required(item)),
            AnyCondition any => any.Items.Aggregate(Sources.Events | Sources.Traits, (sources, item) => sources & Required(item)),
            PropertyCondition property => property.Filter.Op == FilterOperator.IsNotSet ? Sources.None : Sources.Traits,
            EventCondition e => SegmentReads.HoldsForNoEvents(e) ? Sources.None : Sources.Events,
            NotCondition or SegmentReferenceCondition or RandomBucketCondition or InListCondition => Sources.None,
            _ => SegmentReads.HoldsForNoEvents(condition) ? Sources.None : Sources.Events,
        };

        private SqlFragment TraitColumn(string property, bool insideTraits)
        {
            var index = properties.IndexOf(property);
            if (index < 0)
            {
                index = properties.Count;
                properties.Add(property);
            }

            return insideTraits ? Sql.Alias("t", index) : Sql.Of($"t.{Sql.Alias("t", index)}");
        }

        /// <summary>
        /// When the trait aggregate is joined (not the driver), the top-level conjuncts that read only properties and
        /// cannot hold for a profile without traits, as a HAVING of the aggregate: the join then builds its table
        /// from the profiles that can still qualify, not from every profile. A profile dropped by it reads the
        /// column defaults, on which those conjuncts are false, and they stay in the outer WHERE: the result is the same.
        /// </summary>
        private SqlFragment? TraitFilter(Condition condition)
        {
            var conjuncts = Conjuncts(condition)
                .Where(c => OnlyProperties(c) && Required(c).HasFlag(Sources.Traits))
                .Select(c => Predicate(c, insideTraits: true))
                .ToList();
            return conjuncts.Count == 0 ? null : Sql.And(conjuncts);
        }

        /// <summary>The items of nested ALLs (an inlined segment reference is one), flattened.</summary>
        internal static IEnumerable<Condition> Conjuncts(Condition condition) =>
            condition is AllCondition all ? all.Items.SelectMany(Conjuncts) : [condition];

        private static bool OnlyProperties(Condition condition) => condition switch
        {
            AllCondition all => all.Items.All(OnlyProperties),
            AnyCondition any => any.Items.All(OnlyProperties),
            NotCondition not => OnlyProperties(not.Inner),
            PropertyCondition => true,
            _ => false,
        };

        /// <summary>The rows of <paramref name="metric"/> in <paramref name="range"/> passing every where filter.</summary>
        private SqlFragment Selection(string metric, IReadOnlyList<PropertyFilter> where, TimeRange range) =>
            SelectionOf(metric, where, range).All;

        private SelectionParts SelectionOf(string metric, IReadOnlyList<PropertyFilter> where, TimeRange range)
        {
            var filters = new List<SqlFragment>(where.Count);
            foreach (var filter in where)
            {
                var value = filter.IsEventValue ? EventValueSql.Instance : (ValueSql)new TaggedValueSql(EventProperty(filter.Name));
                filters.Add(FilterSql.Predicate(filter, value, nowParameter, now));
            }

            return new SelectionParts(
                Sql.Of($"metric = {Sql.Param("String", metric)}"),
                range.From is { } lower ? Sql.Of($"ts >= {Sql.Param(DateTimeType, lower)}") : null,
                range.Until is { } upper ? Sql.Of($"ts < {Sql.Param(DateTimeType, upper)}") : null,
                filters);
        }

        /// <summary>An event property's tagged value; marks the query as one that reads events' properties.</summary>
        private SqlFragment EventProperty(string name)
        {
            readsEventProperties = true;
            return Sql.Of($"properties[{Sql.Param("String", name)}]");
        }

        /// <summary>Registers a column of the event aggregate; returns its qualified name.</summary>
        private SqlFragment AddEventColumn(string metric, TimeRange range, bool filtered, SqlFragment aggregate, SqlFragment selection) =>
            AddEventColumn(new EventColumn(metric, range, filtered, aggregate, selection));

        private SqlFragment AddEventColumn(EventColumn eventColumn)
        {
            var column = Sql.Of($"e.{Sql.Alias("e", eventColumns.Count)}");
            eventColumns.Add(eventColumn);
            return column;
        }

        private SqlFragment EventPredicate(EventCondition e)
        {
            var range = TimeRange.Of(e.Window, now);
            var parts = SelectionOf(e.Metric, e.Where, range);
            var measured = e.Measure.Property switch
            {
                null => null,
                PropertyFilter.ValueProperty => EventValueSql.Instance,
                var name => (ValueSql)new TaggedValueSql(EventProperty(name)),
            };

            var aggregateOf = MeasureAggregate(e.Measure.Kind, measured);
            var selected = parts.All;
            var column = AddEventColumn(new EventColumn(e.Metric, range, e.Where.Count > 0, aggregateOf(selected), selected, parts, aggregateOf));
            var comparison = SegmentReads.ComparedWithTolerance(e.Measure.Kind)
                ? WithinTolerance(column, e.Op, e.Value)
                : Sql.Of($"{column} {Operator(e.Op)} {Sql.Param("Float64", e.Value)}");

            // avg/min/max are NULL for an empty set (and for profiles missing from the aggregate): false.
            return e.Measure.Kind is MeasureKind.Avg or MeasureKind.Min or MeasureKind.Max ? Sql.Of($"ifNull({comparison}, 0)") : comparison;
        }

        /// <summary>A sum or an average against the value as <see cref="SegmentReads.CompareMeasure"/> compares it.</summary>
        private static SqlFragment WithinTolerance(SqlFragment column, Comparison op, double value)
        {
            var tolerance = SegmentReads.MeasureTolerance(value);
            var below = Sql.Param("Float64", value - tolerance);
            var above = Sql.Param("Float64", value + tolerance);
            return op switch
            {
                Comparison.Eq => Sql.Of($"({column} >= {below} AND {column} <= {above})"),
                Comparison.Neq => Sql.Of($"({column} < {below} OR {column} > {above})"),
                Comparison.Gt => Sql.Of($"{column} > {above}"),
                Comparison.Gte => Sql.Of($"{column} >= {below}"),
                Comparison.Lt => Sql.Of($"{column} < {below}"),
                _ => Sql.Of($"{column} <= {above}"),
            };
        }

        private static SqlFragment Operator(Comparison op) => op switch
        {
            Comparison.Eq => Sql.Of($"="),
            Comparison.Neq => Sql.Of($"!="),
            Comparison.Gt => Sql.Of($">"),
            Comparison.Gte => Sql.Of($">="),
            Comparison.Lt => Sql.Of($"<"),
            _ => Sql.Of($"<="),
        };

        /// <summary>
        /// Restricted, on an engine with the key-value tables: the candidates' rows come from their timelines (up to the
        /// timelines' watermark) and from the MergeTrees (rows ingested after it), never from a scan by profile id.
        /// </summary>
        private bool ReadsTimelines => restrictedTo is not null && schema.HasKeyValueTables;

        /// <summary>
        /// Restricted to few enough candidates (or reading timelines) that property values are read from the history by
        /// profile.
        /// </summary>
        private bool SeeksHistory => restrictedTo is not null && (ReadsTimelines || options.ProfileIds!.Count <= options.HistorySeekLimit);

        private SqlFragment RestrictProfiles() =>
            restrictedTo is null ? Sql.Empty : Sql.Of($" AND profile_id IN {restrictedTo}");

        private SqlFragment Universe()
        {
            if (!ReadsTimelines)
            {
                return Sql.Of($"(SELECT profile_id FROM {Sql.Table(schema.Profiles)} WHERE tenant = {tenantParameter}{RestrictProfiles()} GROUP BY profile_id HAVING min(first_seen) <= {nowParameter})");
            }

            // The universe's first_seen is the earliest event or profile update: read them as the events are.
            var watermark = TimelinesWatermark();
            var fresh = Sql.Of($"tenant = {tenantParameter}{RestrictProfiles()} AND ingested_at > {watermark}");
            return Sql.Of(
                $"(SELECT profile_id FROM (SELECT profile_id, ts AS seen FROM {Sql.Table(schema.Events)} WHERE {fresh} UNION ALL SELECT profile_id, updated_at AS seen FROM {Sql.Table(schema.ProfileUpdates)} WHERE {fresh} UNION ALL SELECT profile_id, seen FROM {Sql.Table(schema.ProfileSeenTimes)} ARRAY JOIN {PackedArrays.Times3(Sql.Of($"seen_at"))} AS seen, {PackedArrays.Times6(Sql.Of($"seen_ingested_at"))} AS seen_ingested WHERE {SeenKeysOfCandidates()} AND seen_ingested <= {watermark}) GROUP BY profile_id HAVING min(seen) <= {nowParameter})");
        }

        /// <summary>
        /// The events a query reads: the table, or restricted to candidates with timelines, theirs (the rows of the
        /// <paramref name="metrics"/> the query reads).
        /// </summary>
        private SqlFragment EventsTable(SqlFragment metrics)
        {
            var events = Sql.Table(schema.Events);
            if (!ReadsTimelines)
            {
                return events;
            }

            if (!readsEventProperties)
            {
                var complete = EventTimesWatermark();
                // No leaf reads an event property: the event times (no properties) hold everything, at a fraction of
                // the bytes a lookup reads.
                return Sql.Of(
                    $"(SELECT tenant, metric, profile_id, ts, value, ingested_at FROM {events} WHERE tenant = {tenantParameter}{RestrictProfiles()} AND ingested_at > {complete} UNION ALL SELECT tenant, metric, profile_id, ts, value, ingested_at FROM {Sql.Table(schema.ProfileEventTimes)} ARRAY JOIN {PackedArrays.EventColumns} WHERE {EventKeysOfCandidates(metrics)} AND ingested_at <= {complete})");
            }

            var watermark = TimelinesWatermark();

            return Sql.Of(
                $"(SELECT tenant, metric, profile_id, ts, value, properties, ingested_at FROM {events} WHERE tenant = {tenantParameter}{RestrictProfiles()} AND ingested_at > {watermark} UNION ALL SELECT tenant, metric, profile_id, ts, value, properties, ingested_at FROM {Sql.Table(schema.ProfileTimelines)} ARRAY JOIN {PackedArrays.EventColumns}, event_properties AS properties WHERE {EventKeysOfCandidates(metrics)} AND ingested_at <= {watermark})");
        }

        /// <summary>The trait history a query reads: the table, or restricted to candidates with timelines, theirs.</summary>
        private SqlFragment TraitsTable()
        {
            var traits = Sql.Table(schema.Traits);
            if (!ReadsTimelines)
            {
                return traits;
            }

            var watermark = TimelinesWatermark();
            return Sql.Of(
                $"(SELECT tenant, property, profile_id, value, updated_at, ingested_at FROM {traits} WHERE tenant = {tenantParameter}{RestrictProfiles()} AND ingested_at > {watermark} UNION ALL SELECT tenant, property, profile_id, value, updated_at, ingested_at FROM {Sql.Table(schema.ProfileTraitHistories)} ARRAY JOIN {PackedArrays.TraitHistoryColumns} WHERE {ProfileKeysOfCandidates()} AND ingested_at <= {watermark})");
        }

        /// <summary>
        /// The ingestion time up to which the tenant's timelines hold every row (the epoch before the first refresh:
        /// then everything is read from the MergeTrees). A scalar subquery, so one query sees one value throughout.
        /// </summary>
        private SqlFragment TimelinesWatermark() =>
            Sql.Of($"(SELECT max(watermark) FROM {Sql.Table(schema.ProfileTimelinesWatermark)} WHERE tenant = {tenantParameter})");

        /// <summary>
        /// Like <see cref="TimelinesWatermark"/>, for the event times: only a watermark recorded with them complete up to
        /// it counts (one written by a version before them has nothing behind it in that table).
        /// </summary>
        private SqlFragment EventTimesWatermark() =>
            Sql.Of($"(SELECT maxIf(watermark, event_times = 1) FROM {Sql.Table(schema.ProfileTimelinesWatermark)} WHERE tenant = {tenantParameter})");

        /// <summary>The key lookup of the candidates' trait histories (the key-value table reads one row per key).</summary>
        private SqlFragment ProfileKeysOfCandidates() =>
            levelProfileKeys ?? Sql.Of($"key IN (SELECT {TimelineKeys.Profile(tenantParameter, Sql.Of($"candidate"))} FROM (SELECT arrayJoin({restrictedTo!}) AS candidate))");

        /// <summary>The key lookup of the candidates' seen times.</summary>
        private SqlFragment SeenKeysOfCandidates() =>
            levelSeenKeys ?? Sql.Of($"key IN (SELECT {TimelineKeys.Seen(tenantParameter, Sql.Of($"candidate"))} FROM (SELECT arrayJoin({restrictedTo!}) AS candidate))");

        /// <summary>The key lookup of the candidates' rows of <paramref name="metrics"/>.</summary>
        private SqlFragment EventKeysOfCandidates(SqlFragment metrics) =>
            levelEventKeys ?? Sql.Of($"key IN (SELECT {TimelineKeys.Events(tenantParameter, Sql.Of($"candidate"), Sql.Of($"metric"))} FROM (SELECT arrayJoin({restrictedTo!}) AS candidate) ARRAY JOIN {metrics} AS metric)");

        /// <summary>
        /// Whether the windows' union has no gap, so that the WHERE's bounds (the earliest start, the latest end) select
        /// exactly the rows some window holds: a window between 30 and 90 days ago beside the last 30 days.
        /// </summary>
        private static bool Contiguous(IReadOnlyList<TimeRange> ranges)
        {
            // Windows are [From, Until): a window starting where another ends leaves no gap.
            DateTime? end = null;
            var unbounded = false;
            var first = true;
            foreach (var range in ranges.OrderBy(r => r.From ?? DateTime.MinValue))
            {
                if (!first && !unbounded && range.From is { } start && start > end)
                {
                    return false;
                }

                unbounded |= range.Until is null;
                end = first || range.Until > end ? range.Until : end;
                first = false;
            }

            return true;
        }

        /// <param name="withColumns">False for the profiles alone (their rows' GROUP BY), without the leaves' aggregates.</param>
        private SqlFragment EventAggregate(bool withColumns = true)
        {
            var metrics = eventColumns.Select(c => c.Metric).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
            var bounds = new List<SqlFragment> { Sql.Of($"ts <= {nowParameter}") };

            // The union of the windows: a lower bound only if every leaf has one, likewise the upper bound.
            var ranges = eventColumns.Select(c => c.Range).ToList();
            DateTime? lower = ranges.All(r => r.From is not null) ? ranges.Min(r => r.From!.Value) : null;
            if (lower is not null)
            {
                bounds.Add(Sql.Of($"ts >= {Sql.Param(DateTimeType, lower.Value)}"));
            }

            DateTime? upper = ranges.All(r => r.Until is not null) && ranges.Max(r => r.Until!.Value) <= now ? ranges.Max(r => r.Until!.Value) : null;
            if (upper is not null)
            {
                bounds.Add(Sql.Of($"ts < {Sql.Param(DateTimeType, upper.Value)}"));
            }

            // A leaf's terms the WHERE already implies are left out of its aggregate and of the OR below: each is
            // evaluated on every row otherwise (repeat buyers 90d, 75 against 67 ms with count() on a server).
            var oneMetric = metrics.Length == 1;
            SqlFragment? Remaining(EventColumn c) => c.Parts!.Without(
                metric: oneMetric,
                from: c.Range.From is { } from && from == lower,
                until: c.Range.Until is { } until && (until > now || until == upper));

            // With where filters or different windows, only rows some leaf selects: a profile none of whose rows is
            // selected reads the column defaults (the values of empty selections) or, when the aggregate drives,
            // cannot qualify. Fewer rows reach the GROUP BY (an OR of a 14-day and a 3-day window groups only rows
            // either leaf counts). Windows of one metric without a gap between them select what the bounds do already.
            // A single leaf's remaining terms are that filter, and its aggregate then reads every row.
            var single = eventColumns is [{ Parts: not null, AggregateOf: not null } only] ? only : null;
            var singleFiltered = false;
            if (eventColumns.Any(c => c.Filtered) || (ranges.Distinct().Count() > 1 && !(oneMetric && Contiguous(ranges))))
            {
                var remainders = eventColumns.Select(c => c.Parts is null ? c.Selection : Remaining(c)).ToList();
                if (single is not null && remainders[0] is { } remaining)
                {
                    bounds.Add(Parenthesize(remaining));
                    singleFiltered = true;
                }
                else if (remainders.All(r => r is not null))
                {
                    // (A leaf that selects every row the bounds let through makes the OR true on every row.)
                    bounds.Add(Sql.Or([.. remainders.Select(r => Parenthesize(r!))]));
                }
            }

            var columns = eventColumns.Select((column, index) =>
            {
                var aggregate = column is { Parts: not null, AggregateOf: { } aggregateOf }
                    ? aggregateOf(singleFiltered ? null : Remaining(column))
                    : column.Aggregate;
                return Sql.Of($", {aggregate} AS {Sql.Alias("e", index)}");
            });
            var metricList = Sql.Param("Array(String)", metrics);
            var metricFilter = oneMetric ? Sql.Of($"metric = {Sql.Param("String", metrics[0])}") : Sql.Of($"metric IN {metricList}");
            return Sql.Of($"(SELECT profile_id{(withColumns ? Sql.Join(Sql.Empty, columns) : Sql.Empty)} FROM {EventsTable(metricList)} WHERE tenant = {tenantParameter} AND {metricFilter} AND {Sql.Join(Sql.Of($" AND "), bounds)}{RestrictProfiles()} GROUP BY profile_id)");
        }

        /// <summary>
        /// One row per profile with the value, as of now, of each property read. Restricted to a few candidates
        /// (<see cref="CompileOptions.HistorySeekLimit"/>), from the history. Otherwise (restricted to the
        /// candidates in that mode) from the current-value table for every profile
        /// whose history holds nothing it does not (no update dated after now, none ingested after the table's
        /// watermark) and from the history for the others ("uncertain"): the same values argMax over the history
        /// gives, so time travel and future-dated updates stay exact. On the current-value table each profile has one
        /// row per property, so the row filter of <see cref="PushedRows"/> may drop rows before grouping.
        /// </summary>
        private SqlFragment TraitAggregate(SqlFragment? having, Condition condition)
        {
            var columns = Sql.Join(Sql.Of($", "), properties.Select((property, index) =>
                Sql.Of($"argMaxIf(value, (updated_at, ingested_at), property = {Sql.Param("String", property)}) AS {Sql.Alias("t", index)}")));
            var names = Sql.Param("Array(String)", properties.Order(StringComparer.Ordinal).ToArray());
            var grouping = Sql.Of($" GROUP BY profile_id{(having is null ? Sql.Empty : Sql.Of($" HAVING {having}"))}");
            var traits = Sql.Table(schema.Traits);
            if (SeeksHistory)
            {
                return Sql.Of($"(SELECT profile_id, {columns} FROM {TraitsTable()} WHERE tenant = {tenantParameter} AND property IN {names} AND updated_at <= {nowParameter}{RestrictProfiles()}{grouping})");
            }

            var current = Sql.Of($"SELECT profile_id, property, value, updated_at, ingested_at FROM {Sql.Table(schema.CurrentTraits)} FINAL WHERE tenant = {tenantParameter} AND {PushedRows(condition, names)}{RestrictProfiles()}");
            if (options.CurrentTraitsComplete)
            {
                return Sql.Of($"(SELECT profile_id, {columns} FROM ({current}){grouping})");
            }

            var uncertain = Uncertain(names);
            return Sql.Of(
                $"(SELECT profile_id, {columns} FROM ({current} AND profile_id NOT IN ({uncertain}) UNION ALL SELECT profile_id, property, value, updated_at, ingested_at FROM {traits} WHERE tenant = {tenantParameter} AND property IN {names} AND updated_at <= {nowParameter}{RestrictProfiles()} AND profile_id IN ({uncertain})){grouping})");
        }

        /// <summary>
        /// The rows of the current-value table worth reading: for a property that a top-level conjunct tests and that
        /// conjunct is false when the property is unset, only the rows passing it (a profile without such a row reads
        /// the unset value, on which the conjunct is false anyway); every row of the other properties. Written as
        /// one (property = P AND …) branch per tested property so that the (tenant, property, value) key seeks.
        /// </summary>
        private SqlFragment PushedRows(Condition condition, SqlFragment names)
        {
            var tested = Conjuncts(condition)
                .OfType<PropertyCondition>()
                .Where(p => Required(p).HasFlag(Sources.Traits))
                .GroupBy(p => p.Filter.Name, StringComparer.Ordinal)
                .OrderBy(g => g.Key, StringComparer.Ordinal)
                .ToList();
            if (tested.Count == 0)
            {
                return Sql.Of($"property IN {names}");
            }

            var branches = PropertyBranches(tested.SelectMany(g => g));
            var untested = properties.Where(p => !tested.Any(g => g.Key == p)).Order(StringComparer.Ordinal).ToArray();
            if (untested.Length > 0)
            {
                branches.Add(Sql.Of($"property IN {Sql.Param("Array(String)", untested)}"));
            }

            return Sql.Or(branches);
        }
    }
}

/// <summary>An explain-friendly view of a compiled statement: the SQL and its parameters as text.</summary>
public sealed record SqlExplain(string Sql, IReadOnlyList<SqlExplainParameter> Parameters)
{
    public static SqlExplain Of(SqlStatement statement) =>
        new(statement.Text, [.. statement.Parameters.Select(p => new SqlExplainParameter(p.Name, p.ClickHouseType, FormatValue(p.Value)))]);

    /// <summary>The SQL followed by one line per parameter: <c>-- p0 String = 'Boston'</c>.</summary>
    public override string ToString() =>
        Sql + Environment.NewLine + string.Concat(Parameters.Select(p => $"-- {p.Name} {p.ClickHouseType} = {p.Value}{Environment.NewLine}"));

    private static string FormatValue(object? value) => value switch
    {
        null => "NULL",
        string s => "'" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'",
        DateTime d => "'" + d.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture) + "'",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        System.Collections.IEnumerable sequence => "[" + string.Join(", ", sequence.Cast<object?>().Select(FormatValue)) + "]",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}

public sealed record SqlExplainParameter(string Name, string ClickHouseType, string Value);
