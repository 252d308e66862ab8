-- Profiles who opened an email between 3 and 5 days ago, whose city is Boston, and who did not place an order in the last 30 days
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, countIf(metric = {p0:String} AND ts >= {p1:DateTime64(3, 'UTC')} AND ts < {p2:DateTime64(3, 'UTC')}) AS e0, countIf(metric = {p3:String}) AS e1
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric IN {p4:Array(String)} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p5:DateTime64(3, 'UTC')} AND ((metric = {p0:String} AND ts >= {p1:DateTime64(3, 'UTC')} AND ts < {p2:DateTime64(3, 'UTC')}) OR (metric = {p3:String}))
  GROUP BY profile_id) AS e
INNER JOIN (
  SELECT profile_id
  FROM segmentmcp.current_traits FINAL
  WHERE tenant = {tenant:String} AND (property = {p6:String} AND value IN {p7:Array(String)}) AND profile_id NOT IN (
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
  UNION ALL
  SELECT profile_id
  FROM (
    SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p9:String}) AS t0
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
    HAVING ((t0 != '') AND substring(t0, 2) = {p10:String}))) AS t ON t.profile_id = e.profile_id
WHERE (e.e0 >= {p11:Float64} AND NOT (e.e1 >= {p12:Float64}))
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'Opened Email'
-- p1 DateTime64(3, 'UTC') = '2024-02-22 12:00:00.000'
-- p2 DateTime64(3, 'UTC') = '2024-02-24 12:00:00.000'
-- p3 String = 'Placed Order'
-- tenant String = 'acme'
-- p4 Array(String) = ['Opened Email', 'Placed Order']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p5 DateTime64(3, 'UTC') = '2024-01-28 12:00:00.000'
-- p6 String = 'city'
-- p7 Array(String) = ['bBoston', 'nBoston', 'sBoston']
-- p8 Array(String) = ['city']
-- p9 String = 'city'
-- p10 String = 'Boston'
-- p11 Float64 = 1
-- p12 Float64 = 1
