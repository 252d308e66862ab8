WITH {profile_ids:Array(String)} AS candidate_ids, {candidate_segments:Array(UInt32)} AS candidate_segments
SELECT segment, candidate, now_member
FROM (
  SELECT c.segment AS segment, c.candidate AS candidate, [toUInt8(e.e0 >= {p0:Float64}), toUInt8((NOT ((((t.t0 != '') AND substring(t.t0, 2) = {p1:String}) OR e.e1 >= {p2:Float64}))) AND u.present = 1), toUInt8((((t.t0 != '') AND substring(t.t0, 2) = {p3:String}) AND ((t.t1 != '') AND substring(t.t1, 2) = {p4:String})))][c.segment] AS now_member
  FROM (
    SELECT pair.1 AS segment, pair.2 AS candidate
    FROM (
      SELECT arrayJoin(arrayZip(candidate_segments, candidate_ids)) AS pair)) AS c
  LEFT JOIN (
    SELECT profile_id, countIf(metric = {p5:String} AND ts >= {p6:DateTime64(3, 'UTC')}) AS e0, countIf(metric = {p7:String}) AS e1
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
        SELECT concat(toString(length({tenant:String})), ':', {tenant:String}, toString(length(pair.2)), ':', pair.2, 'e', metric)
        FROM (
          SELECT arrayJoin(arrayZip(candidate_segments, candidate_ids)) AS pair) ARRAY JOIN {p8:Array(Array(String))}[pair.1] AS metric) AND ingested_at <= (
        SELECT maxIf(watermark, event_times = 1)
        FROM segmentmcp.profile_timelines_watermark
        WHERE tenant = {tenant:String}))
    WHERE tenant = {tenant:String} AND metric IN {p9:Array(String)} AND ts <= {now:DateTime64(3, 'UTC')} AND ((metric = {p5:String} AND ts >= {p6:DateTime64(3, 'UTC')}) OR (metric = {p7:String})) AND profile_id IN candidate_ids
    GROUP BY profile_id) AS e ON e.profile_id = c.candidate
  LEFT JOIN (
    SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p10:String}) AS t0, argMaxIf(value, (updated_at, ingested_at), property = {p11:String}) AS t1
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
        SELECT concat(toString(length({tenant:String})), ':', {tenant:String}, toString(length(pair.2)), ':', pair.2, 'p')
        FROM (
          SELECT arrayJoin(arrayZip(candidate_segments, candidate_ids)) AS pair)
        WHERE has({p12:Array(UInt32)}, pair.1)) AND ingested_at <= (
        SELECT max(watermark)
        FROM segmentmcp.profile_timelines_watermark
        WHERE tenant = {tenant:String}))
    WHERE tenant = {tenant:String} AND property IN {p13:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')} AND profile_id IN candidate_ids
    GROUP BY profile_id) AS t ON t.profile_id = c.candidate
  LEFT JOIN (
    SELECT profile_id, toUInt8(1) AS present
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
          SELECT concat(toString(length({tenant:String})), ':', {tenant:String}, toString(length(pair.2)), ':', pair.2, 's')
          FROM (
            SELECT arrayJoin(arrayZip(candidate_segments, candidate_ids)) AS pair)
          WHERE has({p14:Array(UInt32)}, pair.1)) AND seen_ingested <= (
          SELECT max(watermark)
          FROM segmentmcp.profile_timelines_watermark
          WHERE tenant = {tenant:String}))
      GROUP BY profile_id
      HAVING min(seen) <= {now:DateTime64(3, 'UTC')})) AS u ON u.profile_id = c.candidate)
WHERE now_member != ((segment, candidate) IN (
    SELECT pair.1 AS segment, pair.2 AS member
    FROM (
      SELECT arrayJoin(arrayZip({p15:Array(UInt32)}, {p16:Array(String)})) AS pair)))
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1, max_block_size = 4096
-- profile_ids Array(String) = ['p1', 'level_profile', 'level_profile', 'p2', 'never_seen', 'p3']
-- candidate_segments Array(UInt32) = [1, 1, 2, 2, 2, 3]
-- p0 Float64 = 3
-- p1 String = 'Boston'
-- p2 Float64 = 1
-- p3 String = 'Boston'
-- p4 String = 'premium'
-- p5 String = 'Opened Email'
-- p6 DateTime64(3, 'UTC') = '2024-02-20 12:00:00.000'
-- p7 String = 'Page View'
-- tenant String = 'acme'
-- p8 Array(Array(String)) = [['Opened Email'], ['Page View'], []]
-- p9 Array(String) = ['Opened Email', 'Page View']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p10 String = 'city'
-- p11 String = 'plan'
-- p12 Array(UInt32) = [2, 3]
-- p13 Array(String) = ['city', 'plan']
-- p14 Array(UInt32) = [2]
-- p15 Array(UInt32) = [1, 3]
-- p16 Array(String) = ['level_profile', 'p3']
