-- Profiles who are in segment "Buyers in Boston" and whose vip is true
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, count() AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric = {p0:String} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p1:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e
INNER JOIN (
  SELECT profile_id
  FROM segmentmcp.current_traits FINAL
  WHERE tenant = {tenant:String} AND ((property = {p2:String} AND value IN {p3:Array(String)}) OR (property = {p4:String} AND value IN {p5:Array(String)})) AND profile_id NOT IN (
    SELECT profile_id
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p6:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
    UNION ALL
    SELECT profile_id
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p6:Array(String)} AND ingested_at > (
      SELECT max(watermark)
      FROM segmentmcp.current_traits_watermark
      WHERE tenant = {tenant:String}))
  GROUP BY profile_id
  HAVING count() = 2
  UNION ALL
  SELECT profile_id
  FROM (
    SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p7:String}) AS t0, argMaxIf(value, (updated_at, ingested_at), property = {p8:String}) AS t1
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p6:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')} AND profile_id IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p6:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p6:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String}))
    GROUP BY profile_id
    HAVING (((t0 != '') AND substring(t0, 2) = {p9:String}) AND (t1 = {p10:String})))) AS t ON t.profile_id = e.profile_id
WHERE e.e0 >= {p11:Float64}
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- p0 String = 'Placed Order'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p1 DateTime64(3, 'UTC') = '2023-11-29 12:00:00.000'
-- p2 String = 'city'
-- p3 Array(String) = ['bBoston', 'nBoston', 'sBoston']
-- p4 String = 'vip'
-- p5 Array(String) = ['btrue']
-- p6 Array(String) = ['city', 'vip']
-- p7 String = 'city'
-- p8 String = 'vip'
-- p9 String = 'Boston'
-- p10 String = 'btrue'
-- p11 Float64 = 1
