-- Profiles who did not place an order in the last 30 days
SELECT u.profile_id AS profile_id
FROM (
  SELECT profile_id
  FROM segmentmcp.profiles
  WHERE tenant = {tenant:String}
  GROUP BY profile_id
  HAVING min(first_seen) <= {now:DateTime64(3, 'UTC')}) AS u
LEFT JOIN (
  SELECT profile_id, count() AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric = {p0:String} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p1:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e ON e.profile_id = u.profile_id
WHERE e.e0 = {p2:Float64}
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p0 String = 'Placed Order'
-- p1 DateTime64(3, 'UTC') = '2024-01-28 12:00:00.000'
-- p2 Float64 = 0
