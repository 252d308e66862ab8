-- Profiles whose email contains @, whose email does not contain test, whose name starts with Jo, and whose email ends with .com
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p0:String}) AS t0, argMaxIf(value, (updated_at, ingested_at), property = {p1:String}) AS t1
  FROM segmentmcp.traits
  WHERE tenant = {tenant:String} AND property IN {p2:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS t
WHERE (((t.t0 != '') AND position(substring(t.t0, 2), {p3:String}) > 0) AND ((t.t0 != '') AND position(substring(t.t0, 2), {p4:String}) = 0) AND ((t.t1 != '') AND startsWith(substring(t.t1, 2), {p5:String})) AND ((t.t0 != '') AND endsWith(substring(t.t0, 2), {p6:String})))
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'email'
-- p1 String = 'name'
-- tenant String = 'acme'
-- p2 Array(String) = ['email', 'name']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p3 String = '@'
-- p4 String = 'test'
-- p5 String = 'Jo'
-- p6 String = '.com'
