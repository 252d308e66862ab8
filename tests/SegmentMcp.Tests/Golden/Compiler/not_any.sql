-- Profiles who do not match (whose city is Boston or who had a Page View event)
SELECT u.profile_id AS profile_id
FROM (
  SELECT profile_id
  FROM segmentmcp.profiles
  WHERE tenant = {tenant:String}
  GROUP BY profile_id
  HAVING min(first_seen) <= {now:DateTime64(3, 'UTC')}) AS u
LEFT JOIN (
  SELECT profile_id, count() AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric = {p0:String} AND ts <= {now:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e ON e.profile_id = u.profile_id
LEFT JOIN (
  SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p1:String}) AS t0
  FROM (
    SELECT profile_id, property, value, updated_at, ingested_at
    FROM segmentmcp.current_traits FINAL
    WHERE tenant = {tenant:String} AND property IN {p2:Array(String)} AND profile_id NOT IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p2:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p2:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String}))
    UNION ALL
    SELECT profile_id, property, value, updated_at, ingested_at
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p2:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')} AND profile_id IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p2:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p2:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String})))
  GROUP BY profile_id) AS t ON t.profile_id = u.profile_id
WHERE NOT ((((t.t0 != '') AND substring(t.t0, 2) = {p3:String}) OR e.e0 >= {p4:Float64}))
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p0 String = 'Page View'
-- p1 String = 'city'
-- p2 Array(String) = ['city']
-- p3 String = 'Boston'
-- p4 Float64 = 1
