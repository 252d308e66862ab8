-- Profiles who placed an order where the value is greater than 10 for the first time in the last 30 days
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, minIf(ts, metric = {p0:String} AND ifNull(value > {p1:Float64}, 0)) AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric = {p2:String} AND ts <= {now:DateTime64(3, 'UTC')} AND (metric = {p0:String} AND ifNull(value > {p1:Float64}, 0))
  GROUP BY profile_id) AS e
WHERE (e.e0 >= {p3:DateTime64(3, 'UTC')})
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'Placed Order'
-- p1 Float64 = 10
-- tenant String = 'acme'
-- p2 String = 'Placed Order'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p3 DateTime64(3, 'UTC') = '2024-01-28 12:00:00.000'
