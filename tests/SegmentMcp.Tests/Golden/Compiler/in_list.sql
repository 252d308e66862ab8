-- Profiles who are on list 'vips' or who are not on list 'suppressed'
SELECT u.profile_id AS profile_id
FROM (
  SELECT profile_id
  FROM segmentmcp.profiles
  WHERE tenant = {tenant:String}
  GROUP BY profile_id
  HAVING min(first_seen) <= {now:DateTime64(3, 'UTC')}) AS u
WHERE (u.profile_id IN (
    SELECT profile_id
    FROM segmentmcp.list_members
    WHERE tenant = {tenant:String} AND list_id = {p0:String} AND at <= {now:DateTime64(3, 'UTC')}
    GROUP BY profile_id
    HAVING argMax(added, (at, ingested_at)) = 1) OR NOT (u.profile_id IN (
      SELECT profile_id
      FROM segmentmcp.list_members
      WHERE tenant = {tenant:String} AND list_id = {p1:String} AND at <= {now:DateTime64(3, 'UTC')}
      GROUP BY profile_id
      HAVING argMax(added, (at, ingested_at)) = 1)))
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p0 String = 'vips'
-- p1 String = 'suppressed'
