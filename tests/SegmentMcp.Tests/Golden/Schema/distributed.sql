CREATE TABLE IF NOT EXISTS segmentmcp.events AS segmentmcp.events_local
ENGINE = Distributed('segmentmcp', 'segmentmcp', 'events_local', (cityHash64(tenant) % 3 + cityHash64(tenant, profile_id) % 2) % 3)
COMMENT 'segmentmcp layout: shards=3 tenant_shards=2';

CREATE TABLE IF NOT EXISTS segmentmcp.profile_updates AS segmentmcp.profile_updates_local
ENGINE = Distributed('segmentmcp', 'segmentmcp', 'profile_updates_local', (cityHash64(tenant) % 3 + cityHash64(tenant, profile_id) % 2) % 3)
COMMENT 'segmentmcp layout: shards=3 tenant_shards=2';

CREATE TABLE IF NOT EXISTS segmentmcp.traits AS segmentmcp.traits_local
ENGINE = Distributed('segmentmcp', 'segmentmcp', 'traits_local', (cityHash64(tenant) % 3 + cityHash64(tenant, profile_id) % 2) % 3)
COMMENT 'segmentmcp layout: shards=3 tenant_shards=2';

CREATE TABLE IF NOT EXISTS segmentmcp.profiles AS segmentmcp.profiles_local
ENGINE = Distributed('segmentmcp', 'segmentmcp', 'profiles_local', (cityHash64(tenant) % 3 + cityHash64(tenant, profile_id) % 2) % 3)
COMMENT 'segmentmcp layout: shards=3 tenant_shards=2';

CREATE TABLE IF NOT EXISTS segmentmcp.segments AS segmentmcp.segments_local
ENGINE = Distributed('segmentmcp', 'segmentmcp', 'segments_local', cityHash64(tenant) % 3)
COMMENT 'segmentmcp layout: shards=3 tenant_shards=2';

CREATE TABLE IF NOT EXISTS segmentmcp.segment_state AS segmentmcp.segment_state_local
ENGINE = Distributed('segmentmcp', 'segmentmcp', 'segment_state_local', cityHash64(tenant) % 3)
COMMENT 'segmentmcp layout: shards=3 tenant_shards=2';

CREATE TABLE IF NOT EXISTS segmentmcp.membership AS segmentmcp.membership_local
ENGINE = Distributed('segmentmcp', 'segmentmcp', 'membership_local', (cityHash64(tenant) % 3 + cityHash64(tenant, profile_id) % 2) % 3)
COMMENT 'segmentmcp layout: shards=3 tenant_shards=2';

CREATE TABLE IF NOT EXISTS segmentmcp.membership_log AS segmentmcp.membership_log_local
ENGINE = Distributed('segmentmcp', 'segmentmcp', 'membership_log_local', (cityHash64(tenant) % 3 + cityHash64(tenant, profile_id) % 2) % 3)
COMMENT 'segmentmcp layout: shards=3 tenant_shards=2';

CREATE TABLE IF NOT EXISTS segmentmcp.current_traits AS segmentmcp.current_traits_local
ENGINE = Distributed('segmentmcp', 'segmentmcp', 'current_traits_local', (cityHash64(tenant) % 3 + cityHash64(tenant, profile_id) % 2) % 3)
COMMENT 'segmentmcp layout: shards=3 tenant_shards=2';

CREATE TABLE IF NOT EXISTS segmentmcp.current_traits_watermark AS segmentmcp.current_traits_watermark_local
ENGINE = Distributed('segmentmcp', 'segmentmcp', 'current_traits_watermark_local', cityHash64(tenant) % 3)
COMMENT 'segmentmcp layout: shards=3 tenant_shards=2';

CREATE TABLE IF NOT EXISTS segmentmcp.lists AS segmentmcp.lists_local
ENGINE = Distributed('segmentmcp', 'segmentmcp', 'lists_local', cityHash64(tenant) % 3)
COMMENT 'segmentmcp layout: shards=3 tenant_shards=2';

CREATE TABLE IF NOT EXISTS segmentmcp.list_members AS segmentmcp.list_members_local
ENGINE = Distributed('segmentmcp', 'segmentmcp', 'list_members_local', (cityHash64(tenant) % 3 + cityHash64(tenant, profile_id) % 2) % 3)
COMMENT 'segmentmcp layout: shards=3 tenant_shards=2';

CREATE TABLE IF NOT EXISTS segmentmcp.segment_first_evaluation AS segmentmcp.segment_first_evaluation_local
ENGINE = Distributed('segmentmcp', 'segmentmcp', 'segment_first_evaluation_local', cityHash64(tenant) % 3)
COMMENT 'segmentmcp layout: shards=3 tenant_shards=2';

CREATE TABLE IF NOT EXISTS segmentmcp.event_properties AS segmentmcp.event_properties_local
ENGINE = Distributed('segmentmcp', 'segmentmcp', 'event_properties_local', cityHash64(tenant) % 3)
COMMENT 'segmentmcp layout: shards=3 tenant_shards=2';
