CREATE TABLE IF NOT EXISTS segmentmcp.events_local
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
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/segmentmcp/events_local', '{replica}')
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, metric, profile_id, ts)
SETTINGS non_replicated_deduplication_window = 100000;

CREATE TABLE IF NOT EXISTS segmentmcp.profile_updates_local
(
    tenant LowCardinality(String),
    profile_id String,
    updated_at DateTime64(3, 'UTC'),
    properties Map(String, String),
    ingested_at DateTime64(6, 'UTC') DEFAULT now64(6),
    INDEX ingested_idx ingested_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/segmentmcp/profile_updates_local', '{replica}')
ORDER BY (tenant, profile_id, updated_at)
SETTINGS non_replicated_deduplication_window = 100000;

CREATE TABLE IF NOT EXISTS segmentmcp.traits_local
(
    tenant LowCardinality(String),
    property String,
    profile_id String,
    value String,
    updated_at DateTime64(3, 'UTC'),
    ingested_at DateTime64(6, 'UTC'),
    INDEX ingested_idx ingested_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/segmentmcp/traits_local', '{replica}')
ORDER BY (tenant, property, profile_id, updated_at)
SETTINGS non_replicated_deduplication_window = 100000;

CREATE MATERIALIZED VIEW IF NOT EXISTS segmentmcp.traits_from_updates TO segmentmcp.traits_local AS
SELECT tenant, kv.1 AS property, profile_id, kv.2 AS value, updated_at, ingested_at
FROM segmentmcp.profile_updates_local
ARRAY JOIN CAST(properties, 'Array(Tuple(String, String))') AS kv;

CREATE TABLE IF NOT EXISTS segmentmcp.profiles_local
(
    tenant LowCardinality(String),
    profile_id String,
    first_seen SimpleAggregateFunction(min, DateTime64(3, 'UTC'))
)
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/segmentmcp/profiles_local', '{replica}')
ORDER BY (tenant, profile_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS segmentmcp.profiles_from_events TO segmentmcp.profiles_local AS
SELECT tenant, profile_id, min(ts) AS first_seen FROM segmentmcp.events_local GROUP BY tenant, profile_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS segmentmcp.profiles_from_updates TO segmentmcp.profiles_local AS
SELECT tenant, profile_id, min(updated_at) AS first_seen FROM segmentmcp.profile_updates_local GROUP BY tenant, profile_id;

CREATE TABLE IF NOT EXISTS segmentmcp.segments_local
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/segmentmcp/segments_local', '{replica}')
ORDER BY (tenant, segment_id, version);

CREATE TABLE IF NOT EXISTS segmentmcp.segment_state_local
(
    tenant LowCardinality(String),
    segment_id String,
    version UInt32,
    evaluated_at DateTime64(3, 'UTC'),
    ingest_watermark DateTime64(6, 'UTC'),
    size UInt64,
    written_at DateTime64(6, 'UTC') DEFAULT now64(6)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/segmentmcp/segment_state_local', '{replica}', written_at)
ORDER BY (tenant, segment_id);

CREATE TABLE IF NOT EXISTS segmentmcp.membership_local
(
    tenant LowCardinality(String),
    segment_id String,
    profile_id String,
    is_member UInt8,
    changed_at DateTime64(3, 'UTC'),
    sequence UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/segmentmcp/membership_local', '{replica}', sequence)
ORDER BY (tenant, segment_id, profile_id);

CREATE TABLE IF NOT EXISTS segmentmcp.membership_log_local
(
    tenant LowCardinality(String),
    segment_id String,
    at DateTime64(3, 'UTC'),
    profile_id String,
    change Enum8('exited' = 0, 'entered' = 1)
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/segmentmcp/membership_log_local', '{replica}')
ORDER BY (tenant, segment_id, at, profile_id, change);

ALTER TABLE segmentmcp.events_local ADD PROJECTION IF NOT EXISTS by_time (SELECT tenant, metric, ts, profile_id ORDER BY tenant, metric, ts);

ALTER TABLE segmentmcp.traits_local ADD PROJECTION IF NOT EXISTS by_update (SELECT tenant, property, updated_at, profile_id ORDER BY tenant, property, updated_at);

ALTER TABLE segmentmcp.traits_local ADD PROJECTION IF NOT EXISTS by_value (SELECT tenant, property, value, updated_at, profile_id ORDER BY tenant, property, value);

CREATE TABLE IF NOT EXISTS segmentmcp.lists_local
(
    tenant LowCardinality(String),
    list_id String,
    name String,
    created_at DateTime64(3, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/segmentmcp/lists_local', '{replica}')
ORDER BY (tenant, list_id);

CREATE TABLE IF NOT EXISTS segmentmcp.list_members_local
(
    tenant LowCardinality(String),
    list_id String,
    profile_id String,
    at DateTime64(3, 'UTC'),
    added UInt8,
    ingested_at DateTime64(6, 'UTC') DEFAULT now64(6),
    INDEX ingested_idx ingested_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/segmentmcp/list_members_local', '{replica}')
ORDER BY (tenant, list_id, profile_id, at);

CREATE TABLE IF NOT EXISTS segmentmcp.segment_first_evaluation_local
(
    tenant LowCardinality(String),
    segment_id String,
    first_evaluated_at SimpleAggregateFunction(min, DateTime64(3, 'UTC'))
)
ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/segmentmcp/segment_first_evaluation_local', '{replica}')
ORDER BY (tenant, segment_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS segmentmcp.first_evaluation_from_state TO segmentmcp.segment_first_evaluation_local AS
SELECT tenant, segment_id, min(evaluated_at) AS first_evaluated_at FROM segmentmcp.segment_state_local GROUP BY tenant, segment_id;

INSERT INTO segmentmcp.segment_first_evaluation_local (tenant, segment_id, first_evaluated_at)
SELECT tenant, segment_id, min(at) FROM segmentmcp.membership_log_local GROUP BY tenant, segment_id;

CREATE TABLE IF NOT EXISTS segmentmcp.current_traits_local
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
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/segmentmcp/current_traits_local', '{replica}', version, is_deleted)
ORDER BY (tenant, property, value, profile_id);

CREATE TABLE IF NOT EXISTS segmentmcp.current_traits_watermark_local
(
    tenant LowCardinality(String),
    watermark DateTime64(6, 'UTC')
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/segmentmcp/current_traits_watermark_local', '{replica}', watermark)
ORDER BY tenant;

ALTER TABLE segmentmcp.current_traits_local ADD COLUMN IF NOT EXISTS date_value Nullable(DateTime64(3, 'UTC')) MATERIALIZED if(startsWith(value, 's1900-01-01') OR startsWith(value, 's2299-12-31'), if(toYear(parseDateTime64BestEffortOrNull(if(match(value, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(value, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')) BETWEEN 1900 AND 2299, parseDateTime64BestEffortOrNull(if(match(value, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(value, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC'), NULL), parseDateTime64BestEffortOrNull(if(match(value, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(value, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')), ADD COLUMN IF NOT EXISTS number_value Nullable(Float64) MATERIALIZED toFloat64OrNull(if(match(value, '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(value, 2), ''));

ALTER TABLE segmentmcp.current_traits_local MATERIALIZE COLUMN date_value SETTINGS mutations_sync = 1;

ALTER TABLE segmentmcp.current_traits_local MATERIALIZE COLUMN number_value SETTINGS mutations_sync = 1;

ALTER TABLE segmentmcp.events_local ADD PROJECTION IF NOT EXISTS by_time_fine (SELECT tenant, metric, ts, profile_id ORDER BY tenant, metric, ts) WITH SETTINGS (index_granularity = 1024);

ALTER TABLE segmentmcp.events_local MATERIALIZE PROJECTION by_time_fine SETTINGS mutations_sync = 2;

ALTER TABLE segmentmcp.traits_local ADD PROJECTION IF NOT EXISTS by_time_fine (SELECT tenant, property, updated_at, profile_id ORDER BY tenant, property, updated_at) WITH SETTINGS (index_granularity = 1024);

ALTER TABLE segmentmcp.traits_local MATERIALIZE PROJECTION by_time_fine SETTINGS mutations_sync = 2;

ALTER TABLE segmentmcp.membership_log_local ADD INDEX IF NOT EXISTS at_idx at TYPE minmax GRANULARITY 1;

ALTER TABLE segmentmcp.membership_log_local MATERIALIZE INDEX at_idx SETTINGS mutations_sync = 2;

ALTER TABLE segmentmcp.events_local ADD PROJECTION IF NOT EXISTS by_ingest (SELECT tenant, ingested_at, metric, ts, profile_id ORDER BY tenant, ingested_at);

ALTER TABLE segmentmcp.events_local MATERIALIZE PROJECTION by_ingest SETTINGS mutations_sync = 2;

ALTER TABLE segmentmcp.traits_local ADD PROJECTION IF NOT EXISTS by_ingest (SELECT tenant, ingested_at, property, updated_at, profile_id ORDER BY tenant, ingested_at);

ALTER TABLE segmentmcp.traits_local MATERIALIZE PROJECTION by_ingest SETTINGS mutations_sync = 2;

ALTER TABLE segmentmcp.profile_updates_local ADD PROJECTION IF NOT EXISTS by_ingest (SELECT tenant, ingested_at, updated_at, profile_id ORDER BY tenant, ingested_at);

ALTER TABLE segmentmcp.profile_updates_local MATERIALIZE PROJECTION by_ingest SETTINGS mutations_sync = 2;

ALTER TABLE segmentmcp.events_local ADD PROJECTION IF NOT EXISTS by_time_256 (SELECT tenant, metric, ts, profile_id ORDER BY tenant, metric, ts) WITH SETTINGS (index_granularity = 256);

ALTER TABLE segmentmcp.events_local MATERIALIZE PROJECTION by_time_256 SETTINGS mutations_sync = 2;

ALTER TABLE segmentmcp.events_local DROP PROJECTION IF EXISTS by_time_fine SETTINGS mutations_sync = 2;

ALTER TABLE segmentmcp.traits_local ADD PROJECTION IF NOT EXISTS by_time_256 (SELECT tenant, property, updated_at, profile_id ORDER BY tenant, property, updated_at) WITH SETTINGS (index_granularity = 256);

ALTER TABLE segmentmcp.traits_local MATERIALIZE PROJECTION by_time_256 SETTINGS mutations_sync = 2;

ALTER TABLE segmentmcp.traits_local DROP PROJECTION IF EXISTS by_time_fine SETTINGS mutations_sync = 2;

ALTER TABLE segmentmcp.events_local MODIFY SETTING min_age_to_force_merge_seconds = 3600, min_age_to_force_merge_on_partition_only = 1;

ALTER TABLE segmentmcp.events_local DROP PROJECTION IF EXISTS by_ingest SETTINGS mutations_sync = 2;

ALTER TABLE segmentmcp.events_local ADD PROJECTION IF NOT EXISTS by_ingest (SELECT tenant, ingested_at, metric, ts, profile_id, value, properties ORDER BY tenant, ingested_at);

ALTER TABLE segmentmcp.events_local MATERIALIZE PROJECTION by_ingest SETTINGS mutations_sync = 2;

CREATE TABLE IF NOT EXISTS segmentmcp.event_properties_local
(
    tenant LowCardinality(String),
    metric LowCardinality(String),
    property String
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/segmentmcp/event_properties_local', '{replica}')
ORDER BY (tenant, metric, property);

CREATE MATERIALIZED VIEW IF NOT EXISTS segmentmcp.event_properties_from_events TO segmentmcp.event_properties_local AS SELECT DISTINCT tenant, metric, property FROM segmentmcp.events_local ARRAY JOIN arrayConcat([''], mapKeys(properties)) AS property;

INSERT INTO segmentmcp.event_properties_local SELECT DISTINCT tenant, metric, property FROM segmentmcp.events_local ARRAY JOIN arrayConcat([''], mapKeys(properties)) AS property;
