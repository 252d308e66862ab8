-- Profiles who are in segment "Buyers in Boston" and whose vip is true
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, countIf(metric = {p0:String} AND ts >= {p1:DateTime64(3, 'UTC')}) AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric IN {p2:Array(String)} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p3:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e
INNER JOIN (
  SELECT profile_id
  FROM segmentmcp.current_traits FINAL
  WHERE tenant = {tenant:String} AND ((property = {p4:String} AND value IN {p5:Array(String)}) OR (property = {p6:String} AND value IN {p7:Array(String)})) AND profile_id NOT IN (
    SELECT profile_id
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p8:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
    UNION ALL
    SELECT profile_id
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p8:Array(String)} AND ingested_at > (
      SELECT max(watermark)
      FROM segmentmcp.current_traits_watermark
      WHERE tenant = {tenant:String}))
  GROUP BY profile_id
  HAVING count() = 2
  UNION ALL
  SELECT profile_id
  FROM (
    SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p9:String}) AS t0, argMaxIf(value, (updated_at, ingested_at), property = {p10:String}) AS t1
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p8:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')} AND profile_id IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p8:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p8:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String}))
    GROUP BY profile_id
    HAVING (((t0 != '') AND substring(t0, 2) = {p11:String}) AND (t1 = {p12:String})))) AS t ON t.profile_id = e.profile_id
WHERE e.e0 >= {p13:Float64}
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'Placed Order'
-- p1 DateTime64(3, 'UTC') = '2023-11-29 12:00:00.000'
-- tenant String = 'acme'
-- p2 Array(String) = ['Placed Order']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p3 DateTime64(3, 'UTC') = '2023-11-29 12:00:00.000'
-- p4 String = 'city'
-- p5 Array(String) = ['bBoston', 'nBoston', 'sBoston']
-- p6 String = 'vip'
-- p7 Array(String) = ['btrue']
-- p8 Array(String) = ['city', 'vip']
-- p9 String = 'city'
-- p10 String = 'vip'
-- p11 String = 'Boston'
-- p12 String = 'btrue'
-- p13 Float64 = 1
