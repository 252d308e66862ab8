using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Core.Sql;

/// <summary>One segment of a statement that evaluates several together: its definition and its candidates.</summary>
public sealed record LevelSegment(ValidatedDefinition Definition, IReadOnlyList<string> Candidates);

public static partial class SegmentCompiler
{
    /// <summary>
    /// The name a level statement binds each candidate's segment by (1-based, parallel to <see cref="CandidateIds"/>).
    /// </summary>
    public static SqlFragment CandidateSegments { get; } = Sql.Of($"candidate_segments");

    /// <summary>
    /// Whether <see cref="CompileLevelChanges"/> can take the definition: its condition, references inlined, is made of
    /// event counts and measures, profile properties, AND, OR and NOT (the behavioural conditions, static lists and
    /// random buckets keep a statement of their own).
    /// </summary>
    public static bool CanEvaluateTogether(ValidatedDefinition definition) =>
        IsPlain(Inline(definition.Definition.Condition, definition.References, 0));

    /// <summary>
    /// Whether a definition tests a profile property, itself or through a segment it inlines: its query over every
    /// profile reads the current-value table, which a tick refreshes.
    /// </summary>
    public static bool ReadsProfileProperties(ValidatedDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return SegmentReads.Of(Inline(definition.Definition.Condition, definition.References, 0)).Properties.Count > 0;
    }

    /// <summary>
    /// Whether a leaf of the definition reads an event property (a where filter or a measure of one): its events are then
    /// read from the timelines with their properties, several times the bytes of the event times the others read, so
    /// the evaluator gives such segments level statements of their own.
    /// </summary>
    public static bool ReadsEventProperties(ValidatedDefinition definition) =>
        ReadsEventProperties(Inline(definition.Definition.Condition, definition.References, 0));

    private static bool ReadsEventProperties(Condition condition) => condition switch
    {
        AllCondition all => all.Items.Any(ReadsEventProperties),
        AnyCondition any => any.Items.Any(ReadsEventProperties),
        NotCondition not => ReadsEventProperties(not.Inner),
        EventCondition e => e.Where.Any(w => !w.IsEventValue) || (e.Measure.Property is { } measured && measured != PropertyFilter.ValueProperty),
        _ => false,
    };

    private static bool IsPlain(Condition condition) => condition switch
    {
        AllCondition all => all.Items.All(IsPlain),
        AnyCondition any => any.Items.All(IsPlain),
        NotCondition not => IsPlain(not.Inner),
        PropertyCondition or EventCondition => true,
        _ => false,
    };

    /// <summary>
    /// Several segments of one tenant restricted to their candidates and diffed against their stored members, in one
    /// statement: rows of (segment, the 1-based position in <paramref name="segments"/>; profile_id; is_member now) for
    /// the (segment, candidate) pairs whose membership changed.
    /// </summary>
    /// <remarks>
    /// A statement of a segment's chunk costs 19–25 ms before it reads a row (planning its reads: the timelines'
    /// watermark, the index analysis of the rows after it, the key lookups), and a 0.1% tick had a dozen of them. Here
    /// the segments share those reads: one event aggregate over the union of their candidates, each segment's leaves
    /// its own columns, every candidate's timelines of exactly the metrics of the segments it is a candidate of (and
    /// its profile row only when one of them reads properties or holds for a profile without data). Each pair is
    /// decided by its own segment's predicate over its candidate's row of the aggregates, so it is the answer of that
    /// segment's own restricted query. Only on an engine with the key-value tables (one engine).
    /// <paramref name="storedPairs"/> is a subquery of (segment UInt32, member String), the stored members among the
    /// pairs bound to <see cref="CandidateSegments"/> and <see cref="CandidateIds"/>.
    /// </remarks>
    public static SqlStatement CompileLevelChanges(string tenant, IReadOnlyList<LevelSegment> segments, TableNames schema, DateTime now, SqlFragment storedPairs)
    {
        if (!schema.HasKeyValueTables)
        {
            throw new ArgumentException("Segments are evaluated together only through the key-value tables.", nameof(schema));
        }

        if (segments.Count == 0 || segments.All(s => s.Candidates.Count == 0))
        {
            throw new ArgumentException("A level statement needs candidates.", nameof(segments));
        }

        var conditions = new List<Condition>(segments.Count);
        foreach (var segment in segments)
        {
            if (!string.Equals(segment.Definition.Tenant, tenant, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Segment '{segment.Definition.Definition.Name}' is of tenant '{segment.Definition.Tenant}', not '{tenant}'.", nameof(segments));
            }

            var condition = Inline(segment.Definition.Definition.Condition, segment.Definition.References, 0);
            if (!IsPlain(condition))
            {
                throw new ArgumentException($"Segment '{segment.Definition.Definition.Name}' has conditions a level statement does not evaluate.", nameof(segments));
            }

            conditions.Add(condition);
        }

        var pairSegments = segments.SelectMany((s, i) => s.Candidates.Select(_ => (uint)(i + 1))).ToArray();
        var pairProfiles = segments.SelectMany(s => s.Candidates).ToArray();
        var options = new CompileOptions(now, CompileMode.Restricted, pairProfiles);
        var query = new QueryBuilder(tenant, schema, options).BuildLevel(conditions, storedPairs);
        return Sql.Of(
            $"""
            WITH {Sql.Named("profile_ids", "Array(String)", pairProfiles)} AS {CandidateIds}, {Sql.Named("candidate_segments", "Array(UInt32)", pairSegments)} AS {CandidateSegments} {query}{Settings}{TimelineBlocks}
            """).ToStatement();
    }

    /// <summary>The metrics a plain condition counts.</summary>
    private static IEnumerable<string> Metrics(Condition condition) => condition switch
    {
        AllCondition all => all.Items.SelectMany(Metrics),
        AnyCondition any => any.Items.SelectMany(Metrics),
        NotCondition not => Metrics(not.Inner),
        EventCondition e => [e.Metric],
        _ => [],
    };

    private static bool ReadsProperties(Condition condition) => condition switch
    {
        AllCondition all => all.Items.Any(ReadsProperties),
        AnyCondition any => any.Items.Any(ReadsProperties),
        NotCondition not => ReadsProperties(not.Inner),
        PropertyCondition => true,
        _ => false,
    };

    private sealed partial class QueryBuilder
    {
        /// <summary>Level statements: the candidates' event keys (each pair's metrics), replacing the per-query lookup.</summary>
        private SqlFragment? levelEventKeys;

        /// <summary>Level statements: the trait-history keys of the pairs of segments reading properties.</summary>
        private SqlFragment? levelProfileKeys;

        /// <summary>Level statements: the seen-time keys of the pairs of segments deciding on the universe.</summary>
        private SqlFragment? levelSeenKeys;

        /// <summary>The pairs bound by <see cref="CompileLevelChanges"/>, one row each: pair.1 the segment, pair.2 the profile.</summary>
        private static SqlFragment Pairs => Sql.Of($"(SELECT arrayJoin(arrayZip({CandidateSegments}, {CandidateIds})) AS pair)");

        public SqlFragment BuildLevel(IReadOnlyList<Condition> conditions, SqlFragment storedPairs)
        {
            var segmentMetrics = conditions
                .Select(c => Metrics(c).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray())
                .ToArray();
            levelEventKeys = Sql.Of(
                $"key IN (SELECT {TimelineKeys.Events(tenantParameter, Sql.Of($"pair.2"), Sql.Of($"metric"))} FROM {Pairs} ARRAY JOIN {Sql.Param("Array(Array(String))", segmentMetrics)}[pair.1] AS metric)");

            // A segment that holds for a profile without data is decided for the profiles of the universe only.
            var needsUniverse = conditions.Select(c => Required(c) == Sources.None).ToArray();
            var readsTraits = conditions
                .Select((c, i) => (uint)(i + 1))
                .Where(i => ReadsProperties(conditions[(int)i - 1]))
                .ToArray();
            var readsSeen = conditions
                .Select((c, i) => (uint)(i + 1))
                .Where(i => needsUniverse[i - 1])
                .ToArray();
            levelProfileKeys = Sql.Of(
                $"key IN (SELECT {TimelineKeys.Profile(tenantParameter, Sql.Of($"pair.2"))} FROM {Pairs} WHERE has({Sql.Param("Array(UInt32)", readsTraits)}, pair.1))");
            levelSeenKeys = Sql.Of(
                $"key IN (SELECT {TimelineKeys.Seen(tenantParameter, Sql.Of($"pair.2"))} FROM {Pairs} WHERE has({Sql.Param("Array(UInt32)", readsSeen)}, pair.1))");

            var predicates = new List<SqlFragment>(conditions.Count);
            for (var i = 0; i < conditions.Count; i++)
            {
                var predicate = Predicate(conditions[i]);
                predicates.Add(needsUniverse[i] ? Sql.Of($"toUInt8(({predicate}) AND u.present = 1)") : Sql.Of($"toUInt8({predicate})"));
            }

            var joins = new List<SqlFragment>();
            if (eventColumns.Count > 0)
            {
                joins.Add(Sql.Of($" LEFT JOIN {EventAggregate()} AS e ON e.profile_id = c.candidate"));
            }

            if (properties.Count > 0)
            {
                joins.Add(Sql.Of($" LEFT JOIN {TraitAggregate(null, new AllCondition([]))} AS t ON t.profile_id = c.candidate"));
            }

            if (needsUniverse.Any(n => n))
            {
                joins.Add(Sql.Of($" LEFT JOIN (SELECT profile_id, toUInt8(1) AS present FROM {Universe()}) AS u ON u.profile_id = c.candidate"));
            }

            return Sql.Of(
                $"""
                SELECT segment, candidate, now_member FROM (SELECT c.segment AS segment, c.candidate AS candidate, [{Sql.Join(Sql.Of($", "), predicates)}][c.segment] AS now_member FROM (SELECT pair.1 AS segment, pair.2 AS candidate FROM {Pairs}) AS c{Sql.Join(Sql.Empty, joins)}) WHERE now_member != ((segment, candidate) IN ({storedPairs}))
                """);
        }
    }
}
