-- Profiles who are in segment "Buyers in Boston" and whose vip is true
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, countIf(metric = {p0:String} AND ts >= {p1:DateTime64(3, 'UTC')}) AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric IN {p2:Array(String)} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p3:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e
LEFT JOIN (
  SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p4:String}) AS t0, argMaxIf(value, (updated_at, ingested_at), property = {p5:String}) AS t1
  FROM segmentmcp.traits
  WHERE tenant = {tenant:String} AND property IN {p6:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')}
  GROUP BY profile_id
  HAVING (((t0 != '') AND substring(t0, 2) = {p7:String}) AND (t1 = {p8:String}))) AS t ON t.profile_id = e.profile_id
WHERE ((e.e0 >= {p9:Float64} AND ((t.t0 != '') AND substring(t.t0, 2) = {p10:String})) AND (t.t1 = {p11:String}))
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'Placed Order'
-- p1 DateTime64(3, 'UTC') = '2023-11-29 12:00:00.000'
-- tenant String = 'acme'
-- p2 Array(String) = ['Placed Order']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p3 DateTime64(3, 'UTC') = '2023-11-29 12:00:00.000'
-- p4 String = 'city'
-- p5 String = 'vip'
-- p6 Array(String) = ['city', 'vip']
-- p7 String = 'Boston'
-- p8 String = 'btrue'
-- p9 Float64 = 1
-- p10 String = 'Boston'
-- p11 String = 'btrue'
