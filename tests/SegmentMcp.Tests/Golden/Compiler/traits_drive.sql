-- Profiles whose city is Boston and who did not have a Page View event in the last 7 days
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id
  FROM segmentmcp.current_traits FINAL
  WHERE tenant = {tenant:String} AND (property = {p0:String} AND value IN {p1:Array(String)}) AND profile_id NOT IN (
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
  SELECT profile_id
  FROM (
    SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p3:String}) AS t0
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
        WHERE tenant = {tenant:String}))
    GROUP BY profile_id
    HAVING ((t0 != '') AND substring(t0, 2) = {p4:String}))) AS t
LEFT JOIN (
  SELECT profile_id, count() AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric = {p5:String} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p6:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e ON e.profile_id = t.profile_id
WHERE e.e0 = {p7:Float64}
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- p0 String = 'city'
-- p1 Array(String) = ['bBoston', 'nBoston', 'sBoston']
-- p2 Array(String) = ['city']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p3 String = 'city'
-- p4 String = 'Boston'
-- p5 String = 'Page View'
-- p6 DateTime64(3, 'UTC') = '2024-02-20 12:00:00.000'
-- p7 Float64 = 0
