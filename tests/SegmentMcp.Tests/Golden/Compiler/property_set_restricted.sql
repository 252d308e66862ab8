-- Profiles whose city is Boston and whose plan is premium
WITH {profile_ids:Array(String)} AS candidate_ids
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id
  FROM (
    SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p0:String}) AS t0, argMaxIf(value, (updated_at, ingested_at), property = {p1:String}) AS t1
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
    WHERE tenant = {tenant:String} AND property IN {p2:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')} AND profile_id IN candidate_ids
    GROUP BY profile_id
    HAVING (((t0 != '') AND substring(t0, 2) = {p3:String}) AND ((t1 != '') AND substring(t1, 2) = {p4:String})))) AS t
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1, max_block_size = 4096
-- profile_ids Array(String) = ['p1', 'p2']
-- p0 String = 'city'
-- p1 String = 'plan'
-- tenant String = 'acme'
-- p2 Array(String) = ['city', 'plan']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p3 String = 'Boston'
-- p4 String = 'premium'
