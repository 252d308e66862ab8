-- Profiles who placed an order where the value is at least 20 and currency is one of USD, EUR and coupon is not set at least 2 times in the last 30 days
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, count() AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric = {p0:String} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p1:DateTime64(3, 'UTC')} AND (ifNull(value >= {p2:Float64}, 0) AND ((properties[{p3:String}] != '') AND has({p4:Array(String)}, substring(properties[{p3:String}], 2))) AND NOT (properties[{p5:String}] != ''))
  GROUP BY profile_id) AS e
WHERE e.e0 >= {p6:Float64}
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- p0 String = 'Placed Order'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p1 DateTime64(3, 'UTC') = '2024-01-28 12:00:00.000'
-- p2 Float64 = 20
-- p3 String = 'currency'
-- p4 Array(String) = ['USD', 'EUR']
-- p5 String = 'coupon'
-- p6 Float64 = 2
