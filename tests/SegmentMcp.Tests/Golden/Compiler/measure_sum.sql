-- Profiles who placed an order with a total value more than 100
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, sumIf(ifNull(value, 0), metric = {p0:String}) AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric IN {p1:Array(String)} AND ts <= {now:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e
WHERE e.e0 > {p2:Float64}
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'Placed Order'
-- tenant String = 'acme'
-- p1 Array(String) = ['Placed Order']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p2 Float64 = 100
