-- Profiles who opened an email from 2024-01-01 until 2024-02-01
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, countIf(metric = {p0:String} AND ts >= {p1:DateTime64(3, 'UTC')} AND ts < {p2:DateTime64(3, 'UTC')}) AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric IN {p3:Array(String)} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p4:DateTime64(3, 'UTC')} AND ts < {p5:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e
WHERE e.e0 >= {p6:Float64}
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'Opened Email'
-- p1 DateTime64(3, 'UTC') = '2024-01-01 00:00:00.000'
-- p2 DateTime64(3, 'UTC') = '2024-02-01 00:00:00.000'
-- tenant String = 'acme'
-- p3 Array(String) = ['Opened Email']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p4 DateTime64(3, 'UTC') = '2024-01-01 00:00:00.000'
-- p5 DateTime64(3, 'UTC') = '2024-02-01 00:00:00.000'
-- p6 Float64 = 1
