-- Profiles who opened an email in the last 7 days or whose city is Boston
WITH {profile_ids:Array(String)} AS candidate_ids
SELECT u.profile_id AS profile_id
FROM (
  SELECT profile_id
  FROM (
    SELECT profile_id, ts AS seen
    FROM segmentmcp.events
    WHERE tenant = {tenant:String} AND profile_id IN candidate_ids AND ingested_at > (
      SELECT max(watermark)
      FROM segmentmcp.profile_timelines_watermark
      WHERE tenant = {tenant:String})
    UNION ALL
    SELECT profile_id, updated_at AS seen
    FROM segmentmcp.profile_updates
    WHERE tenant = {tenant:String} AND profile_id IN candidate_ids AND ingested_at > (
      SELECT max(watermark)
      FROM segmentmcp.profile_timelines_watermark
      WHERE tenant = {tenant:String})
    UNION ALL
    SELECT profile_id, seen
    FROM segmentmcp.profile_seen_times ARRAY JOIN reinterpret(seen_at, 'Array(DateTime64(3, \'UTC\'))') AS seen, reinterpret(seen_ingested_at, 'Array(DateTime64(6, \'UTC\'))') AS seen_ingested
    WHERE key IN (
      SELECT concat(toString(length({tenant:String})), ':', {tenant:String}, toString(length(candidate)), ':', candidate, 's')
      FROM (
        SELECT arrayJoin(candidate_ids) AS candidate)) AND seen_ingested <= (
      SELECT max(watermark)
      FROM segmentmcp.profile_timelines_watermark
      WHERE tenant = {tenant:String}))
  GROUP BY profile_id
  HAVING min(seen) <= {now:DateTime64(3, 'UTC')}) AS u
LEFT JOIN (
  SELECT profile_id, count() AS e0
  FROM (
    SELECT tenant, metric, profile_id, ts, value, ingested_at
    FROM segmentmcp.events
    WHERE tenant = {tenant:String} AND profile_id IN candidate_ids AND ingested_at > (
      SELECT maxIf(watermark, event_times = 1)
      FROM segmentmcp.profile_timelines_watermark
      WHERE tenant = {tenant:String})
    UNION ALL
    SELECT tenant, metric, profile_id, ts, value, ingested_at
    FROM segmentmcp.profile_event_times ARRAY JOIN reinterpret(event_ts, 'Array(DateTime64(3, \'UTC\'))') AS ts, arrayMap(packed_value -> if(isNaN(packed_value), NULL, packed_value), reinterpret(event_value, 'Array(Float64)')) AS value, reinterpret(event_ingested_at, 'Array(DateTime64(6, \'UTC\'))') AS ingested_at
    WHERE key IN (
      SELECT concat(toString(length({tenant:String})), ':', {tenant:String}, toString(length(candidate)), ':', candidate, 'e', metric)
      FROM (
        SELECT arrayJoin(candidate_ids) AS candidate) ARRAY JOIN {p0:Array(String)} AS metric) AND ingested_at <= (
      SELECT maxIf(watermark, event_times = 1)
      FROM segmentmcp.profile_timelines_watermark
      WHERE tenant = {tenant:String}))
  WHERE tenant = {tenant:String} AND metric = {p1:String} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p2:DateTime64(3, 'UTC')} AND profile_id IN candidate_ids
  GROUP BY profile_id) AS e ON e.profile_id = u.profile_id
LEFT JOIN (
  SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p3:String}) AS t0
  FROM (
    SELECT tenant, property, profile_id, value, updated_at, ingested_at
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND profile_id IN candidate_ids AND ingested_at > (
      SELECT max(watermark)
      FROM segmentmcp.profile_timelines_watermark
      WHERE tenant = {tenant:String})
    UNION ALL
    SELECT tenant, property, profile_id, value, updated_at, ingested_at
    FROM segmentmcp.profile_trait_histories ARRAY JOIN trait_property AS property, trait_value AS value, reinterpret(trait_updated_at, 'Array(DateTime64(3, \'UTC\'))') AS updated_at, reinterpret(trait_ingested_at, 'Array(DateTime64(6, \'UTC\'))') AS ingested_at
    WHERE key IN (
      SELECT concat(toString(length({tenant:String})), ':', {tenant:String}, toString(length(candidate)), ':', candidate, 'p')
      FROM (
        SELECT arrayJoin(candidate_ids) AS candidate)) AND ingested_at <= (
      SELECT max(watermark)
      FROM segmentmcp.profile_timelines_watermark
      WHERE tenant = {tenant:String}))
  WHERE tenant = {tenant:String} AND property IN {p4:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')} AND profile_id IN candidate_ids
  GROUP BY profile_id) AS t ON t.profile_id = u.profile_id
WHERE (e.e0 >= {p5:Float64} OR ((t.t0 != '') AND substring(t.t0, 2) = {p6:String}))
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1, max_block_size = 4096
-- profile_ids Array(String) = ['p1', 'p2']
-- tenant String = 'acme'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p0 Array(String) = ['Opened Email']
-- p1 String = 'Opened Email'
-- p2 DateTime64(3, 'UTC') = '2024-02-20 12:00:00.000'
-- p3 String = 'city'
-- p4 Array(String) = ['city']
-- p5 Float64 = 1
-- p6 String = 'Boston'
