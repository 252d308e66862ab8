-- Profiles whose latest Placed Order event is one where category is shoes
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, argMaxIf(properties[{p0:String}], (ts, ingested_at), metric = {p1:String}) AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric = {p2:String} AND ts <= {now:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e
WHERE ((e.e0 != '') AND substring(e.e0, 2) = {p3:String})
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'category'
-- p1 String = 'Placed Order'
-- tenant String = 'acme'
-- p2 String = 'Placed Order'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p3 String = 'shoes'
