-- Profiles who are on list 'vips'
SELECT u.profile_id AS profile_id
FROM (
  SELECT profile_id
  FROM segmentmcp.profiles
  WHERE tenant = {tenant:String} AND profile_id IN {profile_ids:Array(String)}
  GROUP BY profile_id
  HAVING min(first_seen) <= {now:DateTime64(3, 'UTC')}) AS u
WHERE u.profile_id IN (
  SELECT profile_id
  FROM segmentmcp.list_members
  WHERE tenant = {tenant:String} AND list_id = {p0:String} AND at <= {now:DateTime64(3, 'UTC')} AND profile_id IN {profile_ids:Array(String)}
  GROUP BY profile_id
  HAVING argMax(added, (at, ingested_at)) = 1)
SETTINGS join_use_nulls = 0
-- tenant String = 'acme'
-- profile_ids Array(String) = ['p1', 'p2']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p0 String = 'vips'
