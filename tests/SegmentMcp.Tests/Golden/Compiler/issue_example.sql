-- Profiles who opened an email between 3 and 5 days ago, whose city is Boston, and who did not place an order in the last 30 days
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, countIf(metric = {p0:String} AND ts >= {p1:DateTime64(3, 'UTC')} AND ts < {p2:DateTime64(3, 'UTC')}) AS e0, countIf(metric = {p3:String} AND ts >= {p4:DateTime64(3, 'UTC')}) AS e1
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric IN {p5:Array(String)} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p6:DateTime64(3, 'UTC')} AND ((metric = {p0:String} AND ts >= {p1:DateTime64(3, 'UTC')} AND ts < {p2:DateTime64(3, 'UTC')}) OR (metric = {p3:String} AND ts >= {p4:DateTime64(3, 'UTC')}))
  GROUP BY profile_id) AS e
LEFT JOIN (
  SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p7:String}) AS t0
  FROM segmentmcp.traits
  WHERE tenant = {tenant:String} AND property IN {p8:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')}
  GROUP BY profile_id
  HAVING ((t0 != '') AND substring(t0, 2) = {p9:String})) AS t ON t.profile_id = e.profile_id
WHERE (e.e0 >= {p10:Float64} AND ((t.t0 != '') AND substring(t.t0, 2) = {p11:String}) AND NOT (e.e1 >= {p12:Float64}))
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'Opened Email'
-- p1 DateTime64(3, 'UTC') = '2024-02-22 12:00:00.000'
-- p2 DateTime64(3, 'UTC') = '2024-02-24 12:00:00.000'
-- p3 String = 'Placed Order'
-- p4 DateTime64(3, 'UTC') = '2024-01-28 12:00:00.000'
-- tenant String = 'acme'
-- p5 Array(String) = ['Opened Email', 'Placed Order']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p6 DateTime64(3, 'UTC') = '2024-01-28 12:00:00.000'
-- p7 String = 'city'
-- p8 Array(String) = ['city']
-- p9 String = 'Boston'
-- p10 Float64 = 1
-- p11 String = 'Boston'
-- p12 Float64 = 1
