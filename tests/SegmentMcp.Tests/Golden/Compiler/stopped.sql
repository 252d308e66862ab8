-- Profiles who placed an order where category is shoes between 30 and 90 days ago but not in the last 30 days
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, countIf(metric = {p0:String} AND ts >= {p1:DateTime64(3, 'UTC')} AND ts < {p2:DateTime64(3, 'UTC')} AND ((properties[{p3:String}] != '') AND substring(properties[{p3:String}], 2) = {p4:String})) AS e0, countIf(metric = {p5:String} AND ts >= {p6:DateTime64(3, 'UTC')} AND ((properties[{p7:String}] != '') AND substring(properties[{p7:String}], 2) = {p8:String})) AS e1
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric IN {p9:Array(String)} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p10:DateTime64(3, 'UTC')} AND ((metric = {p0:String} AND ts >= {p1:DateTime64(3, 'UTC')} AND ts < {p2:DateTime64(3, 'UTC')} AND ((properties[{p3:String}] != '') AND substring(properties[{p3:String}], 2) = {p4:String})) OR (metric = {p5:String} AND ts >= {p6:DateTime64(3, 'UTC')} AND ((properties[{p7:String}] != '') AND substring(properties[{p7:String}], 2) = {p8:String})))
  GROUP BY profile_id) AS e
WHERE (e.e0 > 0 AND e.e1 = 0)
SETTINGS join_use_nulls = 0
-- p0 String = 'Placed Order'
-- p1 DateTime64(3, 'UTC') = '2023-11-29 12:00:00.000'
-- p2 DateTime64(3, 'UTC') = '2024-01-28 12:00:00.000'
-- p3 String = 'category'
-- p4 String = 'shoes'
-- p5 String = 'Placed Order'
-- p6 DateTime64(3, 'UTC') = '2024-01-28 12:00:00.000'
-- p7 String = 'category'
-- p8 String = 'shoes'
-- tenant String = 'acme'
-- p9 Array(String) = ['Placed Order']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p10 DateTime64(3, 'UTC') = '2023-11-29 12:00:00.000'
