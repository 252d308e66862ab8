-- Profiles who opened an email between 3 and 5 days ago and who did not open an email in the last day
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, countIf(ts < {p0:DateTime64(3, 'UTC')}) AS e0, countIf(ts >= {p1:DateTime64(3, 'UTC')}) AS e1
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric = {p2:String} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p3:DateTime64(3, 'UTC')} AND ((ts < {p0:DateTime64(3, 'UTC')}) OR (ts >= {p1:DateTime64(3, 'UTC')}))
  GROUP BY profile_id) AS e
WHERE (e.e0 >= {p4:Float64} AND e.e1 = {p5:Float64})
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 DateTime64(3, 'UTC') = '2024-02-24 12:00:00.000'
-- p1 DateTime64(3, 'UTC') = '2024-02-26 12:00:00.000'
-- tenant String = 'acme'
-- p2 String = 'Opened Email'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p3 DateTime64(3, 'UTC') = '2024-02-22 12:00:00.000'
-- p4 Float64 = 1
-- p5 Float64 = 0
