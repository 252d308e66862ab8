-- Profiles who are on list 'vips'
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
WHERE u.profile_id IN (
  SELECT profile_id
  FROM segmentmcp.list_members
  WHERE tenant = {tenant:String} AND list_id = {p0:String} AND at <= {now:DateTime64(3, 'UTC')} AND profile_id IN candidate_ids
  GROUP BY profile_id
  HAVING argMax(added, (at, ingested_at)) = 1)
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1, max_block_size = 4096
-- profile_ids Array(String) = ['p1', 'p2']
-- tenant String = 'acme'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p0 String = 'vips'
