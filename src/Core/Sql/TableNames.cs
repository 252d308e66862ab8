namespace SegmentMcp.Core.Sql;

/// <summary>
/// The qualified names of SegmentMcp's tables in one database: all the query builders need of the storage schema.
/// The database name is checked against the identifier allow-list here, so every name below is safe SQL text.
/// </summary>
/// <remarks>
/// On a cluster every table exists twice on each node: the shard's own rows in <c>events_local</c> (a MergeTree) and
/// the cluster-wide view <c>events</c> (a Distributed table over the local ones). Queries use the plain names, so
/// the compiled SQL is the same on one engine and on a cluster; <see cref="ShardLocal"/> names the local tables,
/// which only the schema's DDL and per-shard maintenance touch.
/// </remarks>
public class TableNames
{
    /// <summary>The suffix of a shard's local tables on a cluster.</summary>
    public const string LocalSuffix = "_local";

    /// <summary>
    /// The projection of events by (tenant, metric, ts) and of traits by (tenant, property, updated_at) with marks of
    /// 256 rows, which phase 1 reads its narrow time ranges through (schema version 13).
    /// </summary>
    public const string FineTimeProjection = "by_time_256";

    /// <summary>The same projection with marks of 1,024 rows (schema version 7), replaced by <see cref="FineTimeProjection"/>.</summary>
    public const string FineTimeProjection1024 = "by_time_fine";

    /// <summary>
    /// The projection of events by (tenant, ingested_at), which phase 1 finds rows ingested after a watermark through
    /// (schema version 8).
    /// </summary>
    public const string IngestOrderProjection = "by_ingest";

    /// <summary>The projection of traits by (tenant, property, updated_at), which the current-value check reads through.</summary>
    public const string UpdateOrderProjection = "by_update";

    /// <summary>The projection of traits by (tenant, property, value), which value-range reads go through.</summary>
    public const string ValueOrderProjection = "by_value";

    private readonly string suffix;

    public TableNames(string database)
        : this(database, shardLocal: false)
    {
    }

    /// <param name="database">The database.</param>
    /// <param name="shardLocal">Name the shard-local tables of a cluster (<c>events_local</c>, …).</param>
    public TableNames(string database, bool shardLocal)
    {
        Database = Identifiers.RequireName(database, "database name");
        ShardLocal = shardLocal;
        suffix = shardLocal ? LocalSuffix : string.Empty;
    }

    public string Database { get; }

    /// <summary>Whether these are a cluster shard's local tables.</summary>
    public bool ShardLocal { get; }

    public string Events => Name("events");

    public string ProfileUpdates => Name("profile_updates");

    public string Traits => Name("traits");

    public string Profiles => Name("profiles");

    /// <summary>
    /// The names a tenant's events use: a row per (metric, event property), and one with an empty property per metric,
    /// written as events are (a materialized view of <see cref="Events"/>), so the names are read without the events.
    /// </summary>
    public string EventProperties => Name("event_properties");

    /// <summary>Each profile's current value of each property, sorted by value: an accelerator of <see cref="Traits"/>.</summary>
    public string CurrentTraits => Name("current_traits");

    /// <summary>Per tenant, the ingestion time up to which <see cref="CurrentTraits"/> reflects the trait history.</summary>
    public string CurrentTraitsWatermark => Name("current_traits_watermark");

    /// <summary>
    /// Each profile's events, a row per metric under a key (<see cref="TimelineKeys"/>): a key-value table that phase 2
    /// of the evaluator reads for a few profiles without touching the MergeTrees' granules: the metric once, then each
    /// event's time, value, properties and ingestion time (schema 17). Its seen times and trait history are in
    /// <see cref="ProfileSeenTimes"/> and <see cref="ProfileTraitHistories"/> (schema 16).
    /// </summary>
    public string ProfileTimelines => Name("profile_timelines");

    /// <summary>
    /// The event rows of <see cref="ProfileTimelines"/> without their properties (times, values, ingestion times),
    /// under the same keys and written with them (a materialized view): what a query whose leaves read no event
    /// property looks up, several times fewer bytes a key.
    /// </summary>
    public string ProfileEventTimes => Name("profile_event_times");

    /// <summary>The materialized view that writes <see cref="ProfileEventTimes"/> as <see cref="ProfileTimelines"/> is written.</summary>
    public string ProfileEventTimesWriter => Name("profile_event_times_writer");

    /// <summary>
    /// Each profile's seen times (every event and profile update time, with its ingestion time) under its own key
    /// (<see cref="TimelineKeys.Seen"/>): what the universe of a segment that holds without data looks up. A table of
    /// its own, not rows of <see cref="ProfileTimelines"/>: a key-value read decodes every column of a row, and the
    /// narrow rows read 6,000 profiles in 50–76 ms against 124–135 ms (schema 16).
    /// </summary>
    public string ProfileSeenTimes => Name("profile_seen_times");

    /// <summary>
    /// Each profile's trait history (property, value, update and ingestion times) under its own key
    /// (<see cref="TimelineKeys.Profile"/>): what a property condition looks up for its candidates (schema 16).
    /// </summary>
    public string ProfileTraitHistories => Name("profile_trait_histories");

    /// <summary>Per tenant, the ingestion time up to which <see cref="ProfileTimelines"/> holds every row of the history.</summary>
    public string ProfileTimelinesWatermark => Name("profile_timelines_watermark");

    /// <summary>
    /// Current membership again, as a key-value table keyed by (tenant, segment, profile): point lookups (schema
    /// versions 6–9; replaced by <see cref="MembershipBuckets"/>).
    /// </summary>
    public string MembershipLookup => Name("membership_lookup");

    /// <summary>
    /// Current membership again, as a key-value table keyed by (tenant, segment, bucket of the profile id): each row
    /// holds the bucket's members, so lookups read one row per candidate's bucket (schema version 10).
    /// </summary>
    public string MembershipBuckets => Name("membership_buckets");

    /// <summary>
    /// Whether the key-value tables exist and are kept (one engine). A cluster shards its MergeTrees only; there
    /// phase 2 reads them as before.
    /// </summary>
    public virtual bool HasKeyValueTables => false;

    public string Segments => Name("segments");

    public string SegmentState => Name("segment_state");

    public string Membership => Name("membership");

    public string MembershipLog => Name("membership_log");

    /// <summary>Per node, never sharded: every node records the schema versions its own tables have.</summary>
    public string SchemaVersions => $"{Database}.schema_versions";

    /// <summary>Static lists of a tenant: id, name, creation time.</summary>
    public string Lists => Name("lists");

    /// <summary>Every add and remove of a profile on a static list, with its time.</summary>
    public string ListMembers => Name("list_members");

    /// <summary>Each saved segment's first evaluation time (the start of its membership log).</summary>
    public string SegmentFirstEvaluation => Name("segment_first_evaluation");

    /// <summary>
    /// Each start of a generation of a segment's stored members (one engine, schema 20): generation 0 at the first
    /// evaluation, a later one where an edit wrote its members without logging its diff (folded from the states by a view).
    /// </summary>
    public string SegmentGenerations => Name("segment_generations");

    /// <summary>The qualified name of a table of this layout (<c>db.name</c>, or <c>db.name_local</c> on a shard).</summary>
    protected string Name(string table) => $"{Database}.{Identifiers.RequireName(table, "table name")}{suffix}";
}
