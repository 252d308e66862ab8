-- Profiles who placed an order with a total value more than 100
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, sum(ifNull(value, 0)) AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric = {p0:String} AND ts <= {now:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e
WHERE e.e0 > {p1:Float64}
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- p0 String = 'Placed Order'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p1 Float64 = 100.0000001
