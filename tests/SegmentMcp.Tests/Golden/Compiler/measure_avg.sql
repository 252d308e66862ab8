-- Profiles who placed an order with an average amount at least 10
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, avgOrNull(toFloat64OrNull(if(match(properties[{p0:String}], '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(properties[{p0:String}], 2), ''))) AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric = {p1:String} AND ts <= {now:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e
WHERE ifNull(e.e0 >= {p2:Float64}, 0)
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'amount'
-- tenant String = 'acme'
-- p1 String = 'Placed Order'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p2 Float64 = 9.99999999
