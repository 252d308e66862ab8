using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>
/// The tables SegmentMcp keeps in one ClickHouse database, built up by versioned <see cref="Migrations"/> that
/// <see cref="EnsureCreatedAsync"/> applies to a new or an older database (see <see cref="SchemaMigrator"/>).
/// Every table leads with the tenant; everything about one profile is keyed by (tenant, profile_id) so that a
/// cluster can shard by <c>cityHash64(tenant, profile_id)</c> and every segment query runs shard by shard.
/// </summary>
/// <remarks>
/// Property values (event properties and profile traits) are stored as text tagged with their JSON type:
/// <c>s</c> + text for strings, <c>n</c> + the JSON number text for numbers, <c>b</c> + true/false for booleans.
/// An empty tag-less value in a profile update means "removed" (the record set the property to null).
/// </remarks>
public sealed class StorageSchema : TableNames
{
    /// <summary>The version of the last of <see cref="Migrations"/>.</summary>
    public const int CurrentVersion = 22;

    public StorageSchema(string database)
        : base(database)
    {
    }

    /// <summary>The tables of one node of a cluster: the shard-local tables, optionally replicated.</summary>
    /// <param name="database">The database.</param>
    /// <param name="shardLocal">Name the shard-local tables (<c>events_local</c>, …).</param>
    /// <param name="replicated">
    /// Replicated*MergeTree engines keyed by the <c>{shard}</c> and <c>{replica}</c> macros (needs Keeper/ZooKeeper).
    /// </param>
    public StorageSchema(string database, bool shardLocal, bool replicated)
        : base(database, shardLocal)
    {
        if (replicated && !shardLocal)
        {
            throw new ArgumentException("Replicated tables are the shard-local tables of a cluster.", nameof(replicated));
        }

        Replicated = replicated;
    }

    /// <summary>Whether the tables are Replicated*MergeTree (a cluster with a coordinator).</summary>
    public bool Replicated { get; }

    /// <summary>
    /// The cluster these tables are distributed over, or null on one engine. Then every name of this schema is a
    /// Distributed table over shard-local tables, and <see cref="EnsureCreatedAsync"/> creates both on every node.
    /// </summary>
    public ClusterSchema? Cluster { get; init; }

    /// <summary>
    /// Every change to the schema, oldest first. A released migration is never edited: a change to the tables is a new
    /// migration at the end (ALTER … ADD COLUMN / INDEX / PROJECTION IF NOT EXISTS, CREATE … IF NOT EXISTS) and a new
    /// <see cref="CurrentVersion"/>. Every statement is idempotent, so a migration cut short can run again.
    /// </summary>
    public IReadOnlyList<SchemaMigration> Migrations() =>
    [
        new(1, "events, profile updates, traits, the profile universe, saved segments, evaluation state, membership and its log", Tables()),
        new(2, "projections the evaluator's phase 1 reads through", Projections()),
        new(3, "static lists with their add/remove history, and each segment's first evaluation time", ListsAndFirstEvaluations()),
        new(4, "the current-value trait table (built from the history by the first refresh after the upgrade)", CurrentTraitTables()),
        new(5, "typed date and number columns of the current values, computed when a row is written", CurrentTraitTypedColumns()),
        new(6, "key-value tables of profile timelines and membership for phase 2 (one engine; built from the history after the upgrade)", KeyValueTables()),
        new(7, "finer time projections for phase 1 (marks of 1,024 rows) and a time index on the membership log (written for existing parts)", FinerPhaseOneReads()),
        new(8, "a projection of events in ingestion order for phase 1 (written for existing parts)", IngestOrderReads()),
        new(9, "event times without properties for phase 2 (one engine; the timelines are rebuilt from the history after the upgrade)", EventTimes()),
        new(10, "membership looked up by bucket of profiles, a row per bucket instead of per member (one engine; built from membership)", MembershipBucketTable()),
        new(11, "membership buckets written through the key-value store's memtable instead of one imported file a write (one engine)", MembershipBucketMemtableWrites()),
        new(12, "projections of trait rows and profile updates in ingestion order (written for existing parts)", TraitIngestOrderReads()),
        new(13, "phase 1's time projections with marks of 256 rows instead of 1,024 (written for existing parts)", FinestPhaseOneReads()),
        new(14, "current membership held in its buckets only (one engine): the membership table's rows, no longer written or read there, removed", MembershipInBucketsOnly()),
        new(15, "a profile's seen times and trait history under keys of their own in the timelines (one engine; the timelines are rebuilt from the history after the upgrade)", SeenApartFromTraits()),
        new(16, "a profile's seen times and trait history in key-value tables of their own, narrow rows (one engine; the timelines are rebuilt from the history after the upgrade)", SeenAndTraitsInTablesOfTheirOwn()),
        new(17, "the timelines' event rows narrow: the metric once a row instead of once an event, no seen-time or trait columns (one engine; the timelines are rebuilt from the history after the upgrade)", NarrowEventRows()),
        new(18, "a month of events merged into one part once its parts are all an hour old (the background merges do it after the upgrade)", ColdMonthsInOnePart()),
        new(19, "the key-value tables' times and numbers packed into one string an array, decoded in one copy (one engine; the timelines are rebuilt from the history after the upgrade)", PackedTimes()),
        new(20, "generations of a segment's stored members: an edit writes its members as a new generation beside the old one instead of logging its diff (one engine)", MembershipGenerations()),
        new(21, "the events' projection in ingestion order carries each event's value and properties, so that phase 2 reads the events newer than the timelines through it (written for existing parts)", IngestOrderWithValues()),
        new(22, "the names events use (metric, event property) kept as events are written, so the name catalog reads them instead of every event (built from the events for an existing database)", EventPropertyNames()),
    ];

    /// <summary>On one engine (not on a cluster's nodes): see <see cref="KeyValueTables"/>.</summary>
    public override bool HasKeyValueTables => !ShardLocal && Cluster is null;

    /// <summary>
    /// Applies whatever migrations the database has not had yet (all of them to a new one). Safe to run any number of
    /// times; a database already at <see cref="CurrentVersion"/> costs two light queries (it runs at every start of
    /// every verb).
    /// </summary>
    public async Task EnsureCreatedAsync(IClickHouseEngine engine, CancellationToken cancellationToken = default)
    {
        // On a cluster every node is migrated first, and the current values are then built through the Distributed
        // tables, so that one watermark holds for the whole tenant.
        var applied = Cluster is not null
            ? await Cluster.EnsureCreatedAsync(engine, Database, cancellationToken).ConfigureAwait(false)
            : await new SchemaMigrator(engine, this, Migrations()).MigrateAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        if (applied.Any(m => m.Version == 4))
        {
            // The current-value table of a database that already holds history is built from it now, once.
            await new CurrentTraitsRefresher(engine, this).RefreshAllAsync(cancellationToken).ConfigureAwait(false);
        }

        if (applied.Any(m => m.Version is 6 or 9) && HasKeyValueTables)
        {
            // Likewise the timelines (queries are exact without them, only slower: they read what is missing from
            // the history).
            await new ProfileTimelinesRefresher(engine, this).RefreshAllAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs a maintenance statement (a mutation, say) where the rows are: on one engine, on it; on a cluster, on
    /// every node against its shard-local tables (a Distributed table takes no ALTER … DELETE).
    /// </summary>
    public async Task ExecuteWhereStoredAsync(
        IClickHouseEngine engine, Func<TableNames, SqlFragment> statement, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(statement);
        if (Cluster is null)
        {
            await engine.ExecuteAsync(statement(this), cancellationToken).ConfigureAwait(false);
            return;
        }

        var local = new TableNames(Database, shardLocal: true);
        await Cluster.ForEachNodeAsync(
            engine,
            (node, token) => node.ExecuteAsync(statement(local), token),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The schema version recorded in the database (0 when none).</summary>
    public Task<int> ReadVersionAsync(IClickHouseEngine engine, CancellationToken cancellationToken = default) =>
        new SchemaMigrator(engine, this, Migrations()).ReadVersionAsync(cancellationToken);

    /// <summary>Version 1: the tables and the materialized views that feed them.</summary>
    private List<SqlFragment> Tables() =>
    [
        // Events: (tenant, metric, profile_id, ts) — a segment reads a few metrics of one tenant in a time range and
        // aggregates per profile; the key prunes to exactly those metric ranges, reads each profile's events together
        // and lets phase 2 of the evaluator seek to given profile_ids. Partitions by month drop old data cheaply.
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(Events)}
            (
                tenant LowCardinality(String),
                metric LowCardinality(String),
                profile_id String,
                ts DateTime64(3, 'UTC'),
                value Nullable(Float64),
                properties Map(String, String),
                ingested_at DateTime64(6, 'UTC') DEFAULT now64(6),
                INDEX ingested_idx ingested_at TYPE minmax GRANULARITY 1
            )
            ENGINE = {TableEngine("MergeTree", Events)}
            PARTITION BY toYYYYMM(ts)
            ORDER BY (tenant, metric, profile_id, ts)
            SETTINGS non_replicated_deduplication_window = 100000
            """),

        // Profile records as ingested: (tenant, profile_id, updated_at) keeps a profile's history together in time order.
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(ProfileUpdates)}
            (
                tenant LowCardinality(String),
                profile_id String,
                updated_at DateTime64(3, 'UTC'),
                properties Map(String, String),
                ingested_at DateTime64(6, 'UTC') DEFAULT now64(6),
                INDEX ingested_idx ingested_at TYPE minmax GRANULARITY 1
            )
            ENGINE = {TableEngine("MergeTree", ProfileUpdates)}
            ORDER BY (tenant, profile_id, updated_at)
            SETTINGS non_replicated_deduplication_window = 100000
            """),

        // Traits (entity-attribute-value): (tenant, property, profile_id, updated_at) — a segment names a few
        // properties, so the property leads after the tenant and a condition reads only those properties' ranges.
        // History is kept (not replaced) so evaluation at an earlier time sees the value that was current then;
        // the latest value is chosen at read time by argMax over (updated_at, ingested_at). The view's blocks carry the
        // source insert's deduplication token, but only a table with a deduplication window drops them on a re-run.
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(Traits)}
            (
                tenant LowCardinality(String),
                property String,
                profile_id String,
                value String,
                updated_at DateTime64(3, 'UTC'),
                ingested_at DateTime64(6, 'UTC'),
                INDEX ingested_idx ingested_at TYPE minmax GRANULARITY 1
            )
            ENGINE = {TableEngine("MergeTree", Traits)}
            ORDER BY (tenant, property, profile_id, updated_at)
            SETTINGS non_replicated_deduplication_window = 100000
            """),

        Sql.Of(
            $"""
            CREATE MATERIALIZED VIEW IF NOT EXISTS {Sql.Table($"{Database}.traits_from_updates")} TO {Sql.Table(Traits)} AS
            SELECT tenant, kv.1 AS property, profile_id, kv.2 AS value, updated_at, ingested_at
            FROM {Sql.Table(ProfileUpdates)}
            ARRAY JOIN CAST(properties, 'Array(Tuple(String, String))') AS kv
            """),

        // The universe: every profile of a tenant with the first time it existed. (tenant, profile_id) is the
        // profile's identity; AggregatingMergeTree folds repeated sightings into the earliest.
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(Profiles)}
            (
                tenant LowCardinality(String),
                profile_id String,
                first_seen SimpleAggregateFunction(min, DateTime64(3, 'UTC'))
            )
            ENGINE = {TableEngine("AggregatingMergeTree", Profiles)}
            ORDER BY (tenant, profile_id)
            """),

        Sql.Of(
            $"""
            CREATE MATERIALIZED VIEW IF NOT EXISTS {Sql.Table($"{Database}.profiles_from_events")} TO {Sql.Table(Profiles)} AS
            SELECT tenant, profile_id, min(ts) AS first_seen FROM {Sql.Table(Events)} GROUP BY tenant, profile_id
            """),

        Sql.Of(
            $"""
            CREATE MATERIALIZED VIEW IF NOT EXISTS {Sql.Table($"{Database}.profiles_from_updates")} TO {Sql.Table(Profiles)} AS
            SELECT tenant, profile_id, min(updated_at) AS first_seen FROM {Sql.Table(ProfileUpdates)} GROUP BY tenant, profile_id
            """),

        // Saved segment definitions, every version kept: (tenant, segment_id, version) reads one segment's history
        // in order; the current version is the highest. A delete writes a version with deleted = 1.
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(Segments)}
            (
                tenant LowCardinality(String),
                segment_id String,
                version UInt32,
                name String,
                description String,
                definition String,
                deleted UInt8,
                created_at DateTime64(3, 'UTC')
            )
            ENGINE = {TableEngine("ReplacingMergeTree", Segments)}
            ORDER BY (tenant, segment_id, version)
            """),

        // Evaluation progress per segment (tenant, segment_id): the latest row by written_at wins. evaluated_at is
        // the evaluation time; ingest_watermark is the ingestion time up to which new data has been seen.
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(SegmentState)}
            (
                tenant LowCardinality(String),
                segment_id String,
                version UInt32,
                evaluated_at DateTime64(3, 'UTC'),
                ingest_watermark DateTime64(6, 'UTC'),
                size UInt64,
                written_at DateTime64(6, 'UTC') DEFAULT now64(6)
            )
            ENGINE = {TableEngine("ReplacingMergeTree", SegmentState, "written_at")}
            ORDER BY (tenant, segment_id)
            """),

        // Current membership: one row per (tenant, segment_id, profile_id), latest by changed_at then sequence;
        // rewriting the same change is harmless.
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(Membership)}
            (
                tenant LowCardinality(String),
                segment_id String,
                profile_id String,
                is_member UInt8,
                changed_at DateTime64(3, 'UTC'),
                sequence UInt64
            )
            ENGINE = {TableEngine("ReplacingMergeTree", Membership, "sequence")}
            ORDER BY (tenant, segment_id, profile_id)
            """),

        // The entered/exited log: (tenant, segment_id, at, profile_id) answers "who entered since T" with a range
        // read; ReplacingMergeTree makes a re-written chunk a no-op.
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(MembershipLog)}
            (
                tenant LowCardinality(String),
                segment_id String,
                at DateTime64(3, 'UTC'),
                profile_id String,
                change Enum8('exited' = 0, 'entered' = 1)
            )
            ENGINE = {TableEngine("ReplacingMergeTree", MembershipLog)}
            ORDER BY (tenant, segment_id, at, profile_id, change)
            """),
    ];

    /// <summary>
    /// Version 2: projections the evaluator's phase 1 reads through. The base tables are sorted for segment queries (by
    /// metric or property, then profile); these sort the same rows by time or value, so "events of metric M whose ts
    /// crosses a window edge" or "updates that took effect between t0 and t1" read only those rows. Parts written
    /// before a projection existed are read without it (slower, still correct).
    /// </summary>
    private List<SqlFragment> Projections() =>
    [
        Sql.Of($"ALTER TABLE {Sql.Table(Events)} ADD PROJECTION IF NOT EXISTS by_time (SELECT tenant, metric, ts, profile_id ORDER BY tenant, metric, ts)"),
        Sql.Of($"ALTER TABLE {Sql.Table(Traits)} ADD PROJECTION IF NOT EXISTS by_update (SELECT tenant, property, updated_at, profile_id ORDER BY tenant, property, updated_at)"),
        Sql.Of($"ALTER TABLE {Sql.Table(Traits)} ADD PROJECTION IF NOT EXISTS by_value (SELECT tenant, property, value, updated_at, profile_id ORDER BY tenant, property, value)"),
    ];

    /// <summary>
    /// Version 7: phase 1 reads a window edge (an hour of one metric's events, say) from every part of the partition,
    /// and each part costs at least one mark: with 8,192 rows a mark, that was most of what a tick read. A second
    /// projection of the same rows with marks of 1,024 rows reads an eighth of it. Phase 1 asks for it by name
    /// (<see cref="FineTimeProjection1024"/>, the same on both tables; <see cref="FinestPhaseOneReads"/> replaces it): ClickHouse otherwise picks the projection with fewer
    /// marks, never the one with fewer rows, and full segment queries reading whole windows are better served by the
    /// coarse one. The log's time index lets the roll-forward check skip the last mark of every segment's log when
    /// nothing was written after its evaluation.
    /// </summary>
    /// <remarks>Materializing writes the projection for existing parts once (about 40 s per 86M events here).</remarks>
    private List<SqlFragment> FinerPhaseOneReads() =>
    [
        Sql.Of($"ALTER TABLE {Sql.Table(Events)} ADD PROJECTION IF NOT EXISTS {Sql.Table(FineTimeProjection1024)} (SELECT tenant, metric, ts, profile_id ORDER BY tenant, metric, ts) WITH SETTINGS (index_granularity = 1024)"),
        Sql.Of($"ALTER TABLE {Sql.Table(Events)} MATERIALIZE PROJECTION {Sql.Table(FineTimeProjection1024)} SETTINGS mutations_sync = 2"),
        Sql.Of($"ALTER TABLE {Sql.Table(Traits)} ADD PROJECTION IF NOT EXISTS {Sql.Table(FineTimeProjection1024)} (SELECT tenant, property, updated_at, profile_id ORDER BY tenant, property, updated_at) WITH SETTINGS (index_granularity = 1024)"),
        Sql.Of($"ALTER TABLE {Sql.Table(Traits)} MATERIALIZE PROJECTION {Sql.Table(FineTimeProjection1024)} SETTINGS mutations_sync = 2"),
        Sql.Of($"ALTER TABLE {Sql.Table(MembershipLog)} ADD INDEX IF NOT EXISTS at_idx at TYPE minmax GRANULARITY 1"),
        Sql.Of($"ALTER TABLE {Sql.Table(MembershipLog)} MATERIALIZE INDEX at_idx SETTINGS mutations_sync = 2"),
    ];

    /// <summary>
    /// Version 8: phase 1 finds the rows ingested after a segment's watermark through the <c>ingested_at</c> skip index,
    /// which works while they sit in parts of their own; once merged into the big parts they are spread over every
    /// granule of their metric (803,684 rows read for an hour of 59,302 events). Sorted by ingestion time they stay
    /// together whatever the merges do. Phase 1 names it per branch, as with <see cref="FineTimeProjection"/>.
    /// </summary>
    private List<SqlFragment> IngestOrderReads() =>
    [
        Sql.Of($"ALTER TABLE {Sql.Table(Events)} ADD PROJECTION IF NOT EXISTS {Sql.Table(IngestOrderProjection)} (SELECT tenant, ingested_at, metric, ts, profile_id ORDER BY tenant, ingested_at)"),
        Sql.Of($"ALTER TABLE {Sql.Table(Events)} MATERIALIZE PROJECTION {Sql.Table(IngestOrderProjection)} SETTINGS mutations_sync = 2"),
    ];

    /// <summary>
    /// Version 21: phase 2 reads a candidate's events newer than the timelines from the events table (profile_id IN the
    /// chunk's candidates, ingested after the timelines' watermark), and met what phase 1 met before version 8: once a
    /// merge takes those rows into the month's part, every granule of their metric holding a candidate is read (on a
    /// month of 6.7M events merged into one part, 2,179,072 rows for 800 candidates instead of 16,115). The statement
    /// reads the event's value, and its properties where a condition filters on them, besides what
    /// <see cref="IngestOrderReads"/> holds, so that projection could not serve it; with both it can, and the engine
    /// picks it when it has fewer marks to read (67,356 rows there). The properties are the events' largest column: the
    /// projection grew from 0.6 to 1.2 GB on the 2M-profile demo, and 10M events ingested 9% slower (407,428 against
    /// 449,070 events/s). A projection is not altered in place: it is dropped and added again under the same name
    /// (phase 1 names it), then written for existing parts; statements in between read the parts without it (slower,
    /// still correct).
    /// </summary>
    /// <remarks>Writing it for the 2M-profile demo's 86M events takes about a minute.</remarks>
    private List<SqlFragment> IngestOrderWithValues() =>
    [
        Sql.Of($"ALTER TABLE {Sql.Table(Events)} DROP PROJECTION IF EXISTS {Sql.Table(IngestOrderProjection)} SETTINGS mutations_sync = 2"),
        Sql.Of($"ALTER TABLE {Sql.Table(Events)} ADD PROJECTION IF NOT EXISTS {Sql.Table(IngestOrderProjection)} (SELECT tenant, ingested_at, metric, ts, profile_id, value, properties ORDER BY tenant, ingested_at)"),
        Sql.Of($"ALTER TABLE {Sql.Table(Events)} MATERIALIZE PROJECTION {Sql.Table(IngestOrderProjection)} SETTINGS mutations_sync = 2"),
    ];

    /// <summary>
    /// Version 22: <see cref="TableNames.EventProperties"/>. The name catalog that validating a definition needs read
    /// every event's property names (about 2 s on the 2M-profile demo, paid by the first call after every start); the
    /// names are a few rows a metric. The view writes them a block at a time; then the events already stored are read
    /// once. A name written twice (the view and the copy, a retried insert) is one name to every reader.
    /// </summary>
    private List<SqlFragment> EventPropertyNames()
    {
        var names = Sql.Of($"SELECT DISTINCT tenant, metric, property FROM {Sql.Table(Events)} ARRAY JOIN arrayConcat([''], mapKeys(properties)) AS property");
        return
        [
            Sql.Of(
                $"""
                CREATE TABLE IF NOT EXISTS {Sql.Table(EventProperties)}
                (
                    tenant LowCardinality(String),
                    metric LowCardinality(String),
                    property String
                )
                ENGINE = {TableEngine("ReplacingMergeTree", EventProperties)}
                ORDER BY (tenant, metric, property)
                """),
            Sql.Of($"CREATE MATERIALIZED VIEW IF NOT EXISTS {Sql.Table($"{Database}.event_properties_from_events")} TO {Sql.Table(EventProperties)} AS {names}"),
            Sql.Of($"INSERT INTO {Sql.Table(EventProperties)} {names}"),
        ];
    }

    /// <summary>
    /// Version 12: <see cref="IngestOrderReads"/> for the trait rows and the profile updates. What a tick reads of them
    /// by ingestion time (phase 1's new property rows and new profiles, the current-value refresh's changed properties,
    /// the check of how far the timelines are behind) went through the <c>ingested_at</c> skip index, and once a merge
    /// took the last hour's parts into the big ones those reads grew from a few thousand rows to about 60,000 each on
    /// the 2M-profile demo (a 0.1% tick read 2.7–3.1% of a full recompute's rows instead of 1.4–1.8%).
    /// </summary>
    private List<SqlFragment> TraitIngestOrderReads() =>
    [
        Sql.Of($"ALTER TABLE {Sql.Table(Traits)} ADD PROJECTION IF NOT EXISTS {Sql.Table(IngestOrderProjection)} (SELECT tenant, ingested_at, property, updated_at, profile_id ORDER BY tenant, ingested_at)"),
        Sql.Of($"ALTER TABLE {Sql.Table(Traits)} MATERIALIZE PROJECTION {Sql.Table(IngestOrderProjection)} SETTINGS mutations_sync = 2"),
        Sql.Of($"ALTER TABLE {Sql.Table(ProfileUpdates)} ADD PROJECTION IF NOT EXISTS {Sql.Table(IngestOrderProjection)} (SELECT tenant, ingested_at, updated_at, profile_id ORDER BY tenant, ingested_at)"),
        Sql.Of($"ALTER TABLE {Sql.Table(ProfileUpdates)} MATERIALIZE PROJECTION {Sql.Table(IngestOrderProjection)} SETTINGS mutations_sync = 2"),
    ];

    /// <summary>
    /// Version 13: an edge range (an hour of one metric's events a window's length ago) still cost a partial mark at
    /// each end in every part it touched: 7,000–10,000 rows read for 0–3,400 matching events with marks of 1,024 rows on
    /// the 2M-profile demo, 2.4 times the rows of marks of 256 in the same time (116,736 against 48,128 rows for 20 edges
    /// of five metrics). The projection is written anew under its own name before the old one goes, so phase 1 always
    /// names a projection that exists; parts without it are read from the table (slower, still exact).
    /// </summary>
    /// <remarks>Materializing writes the projection for existing parts once (about 25 s per 86M events here).</remarks>
    private List<SqlFragment> FinestPhaseOneReads() =>
    [
        Sql.Of($"ALTER TABLE {Sql.Table(Events)} ADD PROJECTION IF NOT EXISTS {Sql.Table(FineTimeProjection)} (SELECT tenant, metric, ts, profile_id ORDER BY tenant, metric, ts) WITH SETTINGS (index_granularity = 256)"),
        Sql.Of($"ALTER TABLE {Sql.Table(Events)} MATERIALIZE PROJECTION {Sql.Table(FineTimeProjection)} SETTINGS mutations_sync = 2"),
        Sql.Of($"ALTER TABLE {Sql.Table(Events)} DROP PROJECTION IF EXISTS {Sql.Table(FineTimeProjection1024)} SETTINGS mutations_sync = 2"),
        Sql.Of($"ALTER TABLE {Sql.Table(Traits)} ADD PROJECTION IF NOT EXISTS {Sql.Table(FineTimeProjection)} (SELECT tenant, property, updated_at, profile_id ORDER BY tenant, property, updated_at) WITH SETTINGS (index_granularity = 256)"),
        Sql.Of($"ALTER TABLE {Sql.Table(Traits)} MATERIALIZE PROJECTION {Sql.Table(FineTimeProjection)} SETTINGS mutations_sync = 2"),
        Sql.Of($"ALTER TABLE {Sql.Table(Traits)} DROP PROJECTION IF EXISTS {Sql.Table(FineTimeProjection1024)} SETTINGS mutations_sync = 2"),
    ];

    /// <summary>
    /// Version 14: on one engine current membership lives in <see cref="TableNames.MembershipBuckets"/> alone (the
    /// log stays the history). Writing a new segment's members a third time, into the membership MergeTree, cost
    /// 97–152 ms for 404,445 members against 139–262 ms for its query (2M-profile demo): the larger part of what a new
    /// or changed segment costs beyond its query. The buckets hold the same members since version 10, so the table's
    /// rows go; it stays for a cluster's layout.
    /// </summary>
    /// <summary>
    /// Version 15: a profile's seen times and its trait history are rows of their own in the timelines
    /// (<see cref="TimelineKeys.Seen"/>, <see cref="TimelineKeys.Profile"/>), so a query testing a property does not
    /// read every event time of its candidates. Forgetting the watermark makes readers take nothing from the timelines
    /// (everything from the history, exactly) until the next refresh rebuilds them in the new layout.
    /// </summary>
    private List<SqlFragment> SeenApartFromTraits() => OnOneEngine(
    [
        Sql.Of($"ALTER TABLE {Sql.Table(ProfileTimelinesWatermark)} DELETE WHERE 1 SETTINGS mutations_sync = 2"),
    ]);

    /// <summary>
    /// Version 16: seen times and trait histories leave <see cref="TableNames.ProfileTimelines"/> for key-value tables of
    /// their own (<see cref="TableNames.ProfileSeenTimes"/>, <see cref="TableNames.ProfileTraitHistories"/>). A key-value
    /// read decodes every column of the row it finds, and a timelines row has thirteen, mostly empty arrays for these
    /// keys: the same 6,000 seen rows read in 50–76 ms from a table of their own against 124–135 ms (2M-profile demo,
    /// on a server). As in version 15 the watermark goes first, so readers take everything from the history until the
    /// next refresh rebuilds the timelines in the new tables (a copy could miss a refresh running meanwhile in another
    /// process); then the old rows, the timelines rows without events, go.
    /// </summary>
    private List<SqlFragment> SeenAndTraitsInTablesOfTheirOwn() => OnOneEngine(
    [
        KeyValueTable(
            ProfileSeenTimes,
            Sql.Of(
                $"""
                seen_at Array(DateTime64(3, 'UTC')),
                seen_ingested_at Array(DateTime64(6, 'UTC'))
                """)),
        KeyValueTable(
            ProfileTraitHistories,
            Sql.Of(
                $"""
                trait_property Array(String),
                trait_value Array(String),
                trait_updated_at Array(DateTime64(3, 'UTC')),
                trait_ingested_at Array(DateTime64(6, 'UTC'))
                """)),
        Sql.Of($"ALTER TABLE {Sql.Table(ProfileTimelinesWatermark)} DELETE WHERE 1 SETTINGS mutations_sync = 2"),
        Sql.Of($"DELETE FROM {Sql.Table(ProfileTimelines)} WHERE empty(event_ts)"),
    ]);

    /// <summary>
    /// Version 17: <see cref="TableNames.ProfileTimelines"/> keeps only what an event row needs, its metric once (it is
    /// the key's too) instead of an array of it a row, and none of the seen-time and trait columns that left in version
    /// 16. A key-value read decodes every column of the row it finds: on the 2M-profile demo (server), the 49,031 event
    /// rows a 1% hour touches read in 0.9–1.1 s as stored before, 0.51–0.61 s without the metric array (it cost as much
    /// to decode as the events' properties), which the refresh of such an hour reads and writes and a query testing an
    /// event property reads. The table is recreated (the view that copies its rows' times into
    /// <see cref="TableNames.ProfileEventTimes"/> with it); as in version 16 the watermark goes first, so readers take
    /// everything from the history until the next refresh rebuilds the timelines.
    /// </summary>
    private List<SqlFragment> NarrowEventRows() => OnOneEngine(
    [
        Sql.Of($"ALTER TABLE {Sql.Table(ProfileTimelinesWatermark)} DELETE WHERE 1 SETTINGS mutations_sync = 2"),
        Sql.Of($"DROP VIEW IF EXISTS {Sql.Table(ProfileEventTimesWriter)}"),
        Sql.Of($"DROP TABLE IF EXISTS {Sql.Table(ProfileTimelines)} SYNC"),
        KeyValueTable(ProfileTimelines, EventRowColumns(withProperties: true)),
        EventTimesWriter(Sql.Of($"metric")),
    ]);

    /// <summary>
    /// Version 18: the merges ClickHouse chooses on its own left the 2M-profile demo's 15 months of events in 84 parts
    /// (five to eleven in most months), and every read of the table plans each part and its three projections: an hour's
    /// slice at a window's edge cost 12 ms against 5 ms from one part. Once every part of a month is an hour old the
    /// month is merged into one (a month of the demo holds 6–8M rows, rewritten once; late events for it start the
    /// count again). Measured on that demo, replayed on a server: 84 parts became 18; phase 1's statement of a 0.1% hour
    /// 166–216 against 140–141 ms, the 12 segments' full queries 1,569–1,571 against 1,381–1,426 ms.
    /// </summary>
    private List<SqlFragment> ColdMonthsInOnePart() =>
    [
        Sql.Of($"ALTER TABLE {Sql.Table(Events)} MODIFY SETTING min_age_to_force_merge_seconds = 3600, min_age_to_force_merge_on_partition_only = 1"),
    ];

    /// <summary>
    /// Version 20: an edited segment's new members are written like a first evaluation, under keys of a new generation
    /// (<see cref="TimelineKeys.MembershipBucketNumber"/>), and the old generation's buckets stay as they were, the
    /// members just before the edit; readers of the past derive the edit's entries from the two. Logging the diff and
    /// rewriting the buckets from it cost 0.3–0.9 s for the benchmark's 12 edited segments beside 1.8–2.9 s of
    /// queries. The state names the current generation, so an edit's members and its state advance in one write; the
    /// view keeps each generation's start for the readers of the past (the state keeps only its latest row).
    /// </summary>
    private List<SqlFragment> MembershipGenerations() => OnOneEngine(
    [
        Sql.Of($"ALTER TABLE {Sql.Table(SegmentState)} ADD COLUMN IF NOT EXISTS generation UInt32 DEFAULT 0"),
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(SegmentGenerations)}
            (
                tenant LowCardinality(String),
                segment_id String,
                generation UInt32,
                started_at SimpleAggregateFunction(min, DateTime64(3, 'UTC'))
            )
            ENGINE = AggregatingMergeTree
            ORDER BY (tenant, segment_id, generation)
            """),
        Sql.Of(
            $"""
            CREATE MATERIALIZED VIEW IF NOT EXISTS {Sql.Table($"{Database}.generations_from_state")} TO {Sql.Table(SegmentGenerations)} AS
            SELECT tenant, segment_id, generation, min(evaluated_at) AS started_at FROM {Sql.Table(SegmentState)} GROUP BY tenant, segment_id, generation
            """),
    ]);

    /// <summary>
    /// Version 19: the key-value tables keep each array of times or numbers packed into one String
    /// (<see cref="PackedArrays"/>): a key-value read decodes an array value by value and a String in one copy, so a
    /// found key costs about half (20,000 seen-time rows: 88–130 ms against 143–180 ms; the chunk statements of a 1% tick
    /// replayed: 852 against 1,008 ms, the same results; 2M-profile demo, on a server). The four tables are recreated
    /// (with the view that copies the timelines' event rows into the event times); as in version 16 the watermark goes
    /// first, so readers take everything from the history until the next refresh rebuilds the timelines.
    /// </summary>
    private List<SqlFragment> PackedTimes() => OnOneEngine(
    [
        Sql.Of($"ALTER TABLE {Sql.Table(ProfileTimelinesWatermark)} DELETE WHERE 1 SETTINGS mutations_sync = 2"),
        Sql.Of($"DROP VIEW IF EXISTS {Sql.Table(ProfileEventTimesWriter)}"),
        Sql.Of($"DROP TABLE IF EXISTS {Sql.Table(ProfileTimelines)} SYNC"),
        Sql.Of($"DROP TABLE IF EXISTS {Sql.Table(ProfileEventTimes)} SYNC"),
        Sql.Of($"DROP TABLE IF EXISTS {Sql.Table(ProfileSeenTimes)} SYNC"),
        Sql.Of($"DROP TABLE IF EXISTS {Sql.Table(ProfileTraitHistories)} SYNC"),
        KeyValueTable(ProfileTimelines, PackedEventRowColumns(withProperties: true)),
        KeyValueTable(ProfileEventTimes, PackedEventRowColumns(withProperties: false)),
        KeyValueTable(
            ProfileSeenTimes,
            Sql.Of(
                $"""
                seen_at String,
                seen_ingested_at String
                """)),
        KeyValueTable(
            ProfileTraitHistories,
            Sql.Of(
                $"""
                trait_property Array(String),
                trait_value Array(String),
                trait_updated_at String,
                trait_ingested_at String
                """)),
        EventTimesWriter(Sql.Of($"metric")),
    ]);

    /// <summary>The columns of a profile's row of one metric's events since version 19, times and values packed.</summary>
    private static SqlFragment PackedEventRowColumns(bool withProperties) =>
        Sql.Of(
            $"""
            metric String,
            event_ts String,
            event_value String,{(withProperties ? Sql.Of($" event_properties Array(Map(String, String)),") : Sql.Empty)}
            event_ingested_at String
            """);

    /// <summary>
    /// A key-value table of profile rows (EmbeddedRocksDB, written through the memtable: see <see cref="KeyValueTables"/>):
    /// the key, the tenant and profile, then <paramref name="columns"/>.
    /// </summary>
    private static SqlFragment KeyValueTable(string table, SqlFragment columns) =>
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(table)}
            (
                key String,
                tenant String,
                profile_id String,
                {columns}
            )
            ENGINE = EmbeddedRocksDB
            PRIMARY KEY key
            SETTINGS optimize_for_bulk_insert = 0
            """);

    /// <summary>The columns of a profile's row of one metric's events: the metric, then each event's.</summary>
    private static SqlFragment EventRowColumns(bool withProperties) =>
        Sql.Of(
            $"""
            metric String,
            event_ts Array(DateTime64(3, 'UTC')),
            event_value Array(Nullable(Float64)),{(withProperties ? Sql.Of($" event_properties Array(Map(String, String)),") : Sql.Empty)}
            event_ingested_at Array(DateTime64(6, 'UTC'))
            """);

    /// <summary>The view that copies the timelines' event rows, without their properties, into the event times; <paramref name="metric"/> reads a row's metric.</summary>
    private SqlFragment EventTimesWriter(SqlFragment metric) =>
        Sql.Of(
            $"""
            CREATE MATERIALIZED VIEW IF NOT EXISTS {Sql.Table(ProfileEventTimesWriter)} TO {Sql.Table(ProfileEventTimes)}
            AS SELECT key, tenant, profile_id, {metric} AS metric, event_ts, event_value, event_ingested_at
            FROM {Sql.Table(ProfileTimelines)} WHERE notEmpty(event_ts)
            """);

    private List<SqlFragment> MembershipInBucketsOnly() => OnOneEngine(
    [
        Sql.Of($"TRUNCATE TABLE IF EXISTS {Sql.Table(Membership)}"),
    ]);

    /// <summary>
    /// Version 10: <see cref="TableNames.MembershipBuckets"/> replaces <see cref="TableNames.MembershipLookup"/>. A new
    /// segment wrote a lookup key per member, its costliest write after the log (1.6 µs a key: 2.1–2.5 s for the
    /// benchmark's 1.5M members on the 2M-profile demo); bucketed, it writes at most
    /// <see cref="TimelineKeys.MembershipBucketCount"/> rows a segment, and a lookup reads one row per candidate's bucket
    /// (the same 20–30 ms for 685 candidates of a 404,445-member segment). Built from membership, then the old table
    /// is dropped.
    /// </summary>
    private List<SqlFragment> MembershipBucketTable() => OnOneEngine(
    [
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(MembershipBuckets)}
            (
                key String,
                members Array(String)
            )
            ENGINE = EmbeddedRocksDB
            PRIMARY KEY key
            """),

        // Membership written before this version (a re-run writes the same rows again).
        Sql.Of(
            $"""
            INSERT INTO {Sql.Table(MembershipBuckets)} (key, members)
            SELECT {TimelineKeys.MembershipBucket(Sql.Of($"tenant"), Sql.Of($"segment_id"), Sql.Of($"any(profile_id)"))}, arraySort(groupArray(profile_id))
            FROM {Sql.Table(Membership)} FINAL WHERE is_member = 1
            GROUP BY tenant, segment_id, cityHash64(profile_id) % {Sql.Number(TimelineKeys.MembershipBucketCount)}
            """),
        Sql.Of($"OPTIMIZE TABLE {Sql.Table(MembershipBuckets)}"),
        Sql.Of($"DROP TABLE IF EXISTS {Sql.Table(MembershipLookup)}"),
    ]);

    /// <summary>
    /// Version 11: a tick rewrites a few hundred buckets a chunk, and with bulk inserts each write built and imported a
    /// file of its own (34 ms for 700 changes of a 398,358-member segment on the 2M-profile demo, against 19 ms through
    /// the memtable; a new segment's 4,096 rows take the same time either way), and every file is one more to read
    /// until compaction.
    /// </summary>
    private List<SqlFragment> MembershipBucketMemtableWrites() => OnOneEngine(
    [
        Sql.Of($"ALTER TABLE {Sql.Table(MembershipBuckets)} MODIFY SETTING optimize_for_bulk_insert = 0"),
    ]);

    /// <summary>
    /// Version 9: <see cref="TableNames.ProfileEventTimes"/>, the timelines' event rows without their properties, which
    /// is what most queries' phase 2 looks up: a timeline lookup cost 30–50 µs a key, most of it reading the events'
    /// property maps (28,000 keys on the 2M-profile demo: 0.71–0.88 s from the timelines, 0.18–0.25 s without the
    /// maps). A materialized view writes it with every timeline row. The timelines are rebuilt once after the
    /// upgrade (their watermark is forgotten; until the rebuild queries read the MergeTrees), so both tables hold the
    /// same rows: a copy of the stored timelines could miss a refresh running meanwhile in another process. A watermark
    /// row says with <c>event_times = 1</c> that the event times are complete up to it too; readers of the event times
    /// trust only those, so a watermark written by an older version (without the view's rows behind it) never counts
    /// for them, and the next refresh rebuilds.
    /// </summary>
    private List<SqlFragment> EventTimes() => OnOneEngine(
    [
        KeyValueTable(ProfileEventTimes, EventRowColumns(withProperties: false)),
        EventTimesWriter(Sql.Of($"event_metric[1]")),
        Sql.Of($"ALTER TABLE {Sql.Table(ProfileTimelinesWatermark)} ADD COLUMN IF NOT EXISTS event_times UInt8 DEFAULT 0"),
        Sql.Of($"ALTER TABLE {Sql.Table(ProfileTimelinesWatermark)} DELETE WHERE 1 SETTINGS mutations_sync = 2"),
    ]);

    /// <summary>
    /// Version 4: each profile's current value of each property, sorted by (tenant, property, value) so that a
    /// condition on a property value is a range scan instead of an argMax over the whole history. The history stays
    /// the truth: <see cref="CurrentTraitsRefresher"/> derives this table from it up to a recorded ingestion
    /// watermark, and the compiler reads it only for profiles whose history has nothing newer (see the compiler's
    /// remarks), so time travel and future-dated updates stay exact.
    /// </summary>
    /// <remarks>
    /// The value is part of the key, so a value that stops being current is retracted by a row with
    /// <c>is_deleted = 1</c>; the version is the refresh's ingestion watermark, so a refresh that knows more history
    /// wins over one that knew less, whatever order they were written in. Readers use FINAL.
    /// </remarks>
    private List<SqlFragment> CurrentTraitTables() =>
    [
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(CurrentTraits)}
            (
                tenant LowCardinality(String),
                property String,
                value String,
                profile_id String,
                updated_at DateTime64(3, 'UTC'),
                ingested_at DateTime64(6, 'UTC'),
                version DateTime64(6, 'UTC'),
                is_deleted UInt8
            )
            ENGINE = {TableEngine("ReplacingMergeTree", CurrentTraits, "version", "is_deleted")}
            ORDER BY (tenant, property, value, profile_id)
            """),
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(CurrentTraitsWatermark)}
            (
                tenant LowCardinality(String),
                watermark DateTime64(6, 'UTC')
            )
            ENGINE = {TableEngine("ReplacingMergeTree", CurrentTraitsWatermark, "watermark")}
            ORDER BY tenant
            """),
    ];

    /// <summary>
    /// Version 5: a current value's date and number readings as columns computed once per row (the compiler's own
    /// expressions), so that "signed up in the last 30 days" compares a column instead of parsing every value's text.
    /// Parts written before are computed on read until the MATERIALIZE mutations have rewritten them.
    /// </summary>
    private List<SqlFragment> CurrentTraitTypedColumns() =>
    [
        Sql.Of($"ALTER TABLE {Sql.Table(CurrentTraits)} {CurrentValueSql.Definitions}"),
        Sql.Of($"ALTER TABLE {Sql.Table(CurrentTraits)} MATERIALIZE COLUMN date_value SETTINGS mutations_sync = 1"),
        Sql.Of($"ALTER TABLE {Sql.Table(CurrentTraits)} MATERIALIZE COLUMN number_value SETTINGS mutations_sync = 1"),
    ];

    /// <summary>
    /// Version 6: key-value tables (ClickHouse's EmbeddedRocksDB engine) for the evaluator's phase 2, which looks up a
    /// few thousand profiles spread over the whole key range. A MergeTree reads a whole 8,192-row granule for each
    /// (so such a lookup read as much as the full query); a key-value table reads one row per key.
    /// <see cref="TableNames.ProfileTimelines"/> holds each profile's events (a row per metric) and its trait history (a
    /// profile row) as arrays, derived from the history up to a recorded watermark by
    /// <see cref="ProfileTimelinesRefresher"/> (the compiler reads rows ingested after it from the MergeTrees, so the
    /// timelines are an accelerator, never the truth);
    /// <see cref="TableNames.MembershipLookup"/> mirrors current membership, written after it by every membership write. On a cluster's nodes the
    /// migration creates nothing: a shard's MergeTrees serve phase 2 there.
    /// </summary>
    /// <remarks>
    /// The timelines are written through RocksDB's memtable (<c>optimize_for_bulk_insert = 0</c>), not one imported
    /// file per insert: their keys are spread over the whole range, so every imported file overlapped every lookup
    /// (measured on the 2M-profile demo after a rebuild: 26 block reads a key, 100–190 ms for 2,000 keys; 30–50 ms once
    /// compacted). The membership lookup keeps bulk imports: a whole segment's members arrive in one insert.
    /// </remarks>
    private List<SqlFragment> KeyValueTables() => OnOneEngine(
    [
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(ProfileTimelines)}
            (
                key String,
                tenant String,
                profile_id String,
                event_metric Array(LowCardinality(String)),
                event_ts Array(DateTime64(3, 'UTC')),
                event_value Array(Nullable(Float64)),
                event_properties Array(Map(String, String)),
                event_ingested_at Array(DateTime64(6, 'UTC')),
                seen_at Array(DateTime64(3, 'UTC')),
                seen_ingested_at Array(DateTime64(6, 'UTC')),
                trait_property Array(String),
                trait_value Array(String),
                trait_updated_at Array(DateTime64(3, 'UTC')),
                trait_ingested_at Array(DateTime64(6, 'UTC'))
            )
            ENGINE = EmbeddedRocksDB
            PRIMARY KEY key
            SETTINGS optimize_for_bulk_insert = 0
            """),
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(ProfileTimelinesWatermark)}
            (
                tenant LowCardinality(String),
                watermark DateTime64(6, 'UTC')
            )
            ENGINE = ReplacingMergeTree(watermark)
            ORDER BY tenant
            """),
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(MembershipLookup)}
            (
                key String,
                is_member UInt8
            )
            ENGINE = EmbeddedRocksDB
            PRIMARY KEY key
            """),

        // Membership written before this version (a re-run writes the same rows again).
        Sql.Of(
            $"""
            INSERT INTO {Sql.Table(MembershipLookup)} (key, is_member)
            SELECT {TimelineKeys.Membership(Sql.Of($"tenant"), Sql.Of($"segment_id"), Sql.Of($"profile_id"))}, is_member FROM {Sql.Table(Membership)} FINAL
            """),
        Sql.Of($"OPTIMIZE TABLE {Sql.Table(MembershipLookup)}"),
    ]);

    /// <summary>The statements of a migration of the key-value tables, which a cluster's nodes do not have.</summary>
    private List<SqlFragment> OnOneEngine(List<SqlFragment> statements) => ShardLocal ? [] : statements;

    /// <summary>
    /// Version 3: static lists and the start of each segment's membership log. A list keeps every add and remove with
    /// its time (never overwritten), so in_list at an earlier time is exact; (tenant, list_id, profile_id, at) reads one
    /// list's history per profile in order. The first evaluation of a segment is folded from every evaluation state
    /// written (min), so a past time before it can be refused by members_at.
    /// </summary>
    private List<SqlFragment> ListsAndFirstEvaluations() =>
    [
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(Lists)}
            (
                tenant LowCardinality(String),
                list_id String,
                name String,
                created_at DateTime64(3, 'UTC')
            )
            ENGINE = {TableEngine("ReplacingMergeTree", Lists)}
            ORDER BY (tenant, list_id)
            """),
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(ListMembers)}
            (
                tenant LowCardinality(String),
                list_id String,
                profile_id String,
                at DateTime64(3, 'UTC'),
                added UInt8,
                ingested_at DateTime64(6, 'UTC') DEFAULT now64(6),
                INDEX ingested_idx ingested_at TYPE minmax GRANULARITY 1
            )
            ENGINE = {TableEngine("MergeTree", ListMembers)}
            ORDER BY (tenant, list_id, profile_id, at)
            """),
        Sql.Of(
            $"""
            CREATE TABLE IF NOT EXISTS {Sql.Table(SegmentFirstEvaluation)}
            (
                tenant LowCardinality(String),
                segment_id String,
                first_evaluated_at SimpleAggregateFunction(min, DateTime64(3, 'UTC'))
            )
            ENGINE = {TableEngine("AggregatingMergeTree", SegmentFirstEvaluation)}
            ORDER BY (tenant, segment_id)
            """),
        Sql.Of(
            $"""
            CREATE MATERIALIZED VIEW IF NOT EXISTS {Sql.Table($"{Database}.first_evaluation_from_state")} TO {Sql.Table(SegmentFirstEvaluation)} AS
            SELECT tenant, segment_id, min(evaluated_at) AS first_evaluated_at FROM {Sql.Table(SegmentState)} GROUP BY tenant, segment_id
            """),

        // Segments evaluated before this version: their earliest log entry is the best bound left (a re-run adds
        // the same minimum again, which folds away).
        Sql.Of(
            $"""
            INSERT INTO {Sql.Table(SegmentFirstEvaluation)} (tenant, segment_id, first_evaluated_at)
            SELECT tenant, segment_id, min(at) FROM {Sql.Table(MembershipLog)} GROUP BY tenant, segment_id
            """),
    ];

    /// <summary>
    /// A table's engine clause: the MergeTree family member as it is, or its Replicated form whose Keeper path holds
    /// the <c>{shard}</c> macro (one replica set per shard) and whose replica name is the <c>{replica}</c> macro.
    /// </summary>
    private SqlFragment TableEngine(string family, string qualifiedTable, params string[] columns)
    {
        var arguments = Sql.Join(Sql.Of($", "), columns.Select(Sql.Table));
        if (!Replicated)
        {
            return columns.Length == 0 ? Sql.Table(family) : Sql.Of($"{Sql.Table(family)}({arguments})");
        }

        var table = Sql.Table(qualifiedTable.Split('.')[1]);
        var separator = columns.Length == 0 ? Sql.Empty : Sql.Of($", ");
        return Sql.Of($"Replicated{Sql.Table(family)}('/clickhouse/tables/{{shard}}/{Sql.Table(Database)}/{table}', '{{replica}}'{separator}{arguments})");
    }
}
