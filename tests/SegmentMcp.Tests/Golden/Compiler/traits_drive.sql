-- Profiles whose city is Boston and who did not do Page View in the last 7 days
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p0:String}) AS t0
  FROM segmentmcp.traits
  WHERE tenant = {tenant:String} AND property IN {p1:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS t
LEFT JOIN (
  SELECT profile_id, countIf(metric = {p2:String} AND ts >= {p3:DateTime64(3, 'UTC')}) AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric IN {p4:Array(String)} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p5:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e ON e.profile_id = t.profile_id
WHERE (((t.t0 != '') AND substring(t.t0, 2) = {p6:String}) AND e.e0 = {p7:Float64})
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'city'
-- tenant String = 'acme'
-- p1 Array(String) = ['city']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p2 String = 'Page View'
-- p3 DateTime64(3, 'UTC') = '2024-02-20 12:00:00.000'
-- p4 Array(String) = ['Page View']
-- p5 DateTime64(3, 'UTC') = '2024-02-20 12:00:00.000'
-- p6 String = 'Boston'
-- p7 Float64 = 0
