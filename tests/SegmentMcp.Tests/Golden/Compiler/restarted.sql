-- Profiles who had a Page View event again in the last 7 days after a break of at least 30 days
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, minOrNullIf(ts, metric = {p0:String} AND ts >= {p1:DateTime64(3, 'UTC')}) AS e0, maxOrNullIf(ts, metric = {p2:String} AND ts < {p3:DateTime64(3, 'UTC')}) AS e1
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric = {p4:String} AND ts <= {now:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e
WHERE ifNull(toUnixTimestamp64Milli(e.e0) - toUnixTimestamp64Milli(e.e1) >= {p5:Int64}, 0)
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'Page View'
-- p1 DateTime64(3, 'UTC') = '2024-02-20 12:00:00.000'
-- p2 String = 'Page View'
-- p3 DateTime64(3, 'UTC') = '2024-02-20 12:00:00.000'
-- tenant String = 'acme'
-- p4 String = 'Page View'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p5 Int64 = 2592000000
