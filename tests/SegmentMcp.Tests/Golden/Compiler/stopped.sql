-- Profiles who placed an order where category is shoes between 30 and 90 days ago but not in the last 30 days
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, countIf(ts < {p0:DateTime64(3, 'UTC')} AND ((properties[{p1:String}] != '') AND substring(properties[{p1:String}], 2) = {p2:String})) AS e0, countIf(ts >= {p3:DateTime64(3, 'UTC')} AND ((properties[{p4:String}] != '') AND substring(properties[{p4:String}], 2) = {p5:String})) AS e1
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric = {p6:String} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p7:DateTime64(3, 'UTC')} AND ((ts < {p0:DateTime64(3, 'UTC')} AND ((properties[{p1:String}] != '') AND substring(properties[{p1:String}], 2) = {p2:String})) OR (ts >= {p3:DateTime64(3, 'UTC')} AND ((properties[{p4:String}] != '') AND substring(properties[{p4:String}], 2) = {p5:String})))
  GROUP BY profile_id) AS e
WHERE (e.e0 > 0 AND e.e1 = 0)
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 DateTime64(3, 'UTC') = '2024-01-28 12:00:00.000'
-- p1 String = 'category'
-- p2 String = 'shoes'
-- p3 DateTime64(3, 'UTC') = '2024-01-28 12:00:00.000'
-- p4 String = 'category'
-- p5 String = 'shoes'
-- tenant String = 'acme'
-- p6 String = 'Placed Order'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p7 DateTime64(3, 'UTC') = '2023-11-29 12:00:00.000'
