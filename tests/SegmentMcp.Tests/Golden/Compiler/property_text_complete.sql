SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id
  FROM segmentmcp.current_traits FINAL
  WHERE tenant = {tenant:String} AND ((property = {p0:String} AND ((value != '') AND position(substring(value, 2), {p1:String}) > 0) AND ((value != '') AND position(substring(value, 2), {p2:String}) = 0) AND ((value != '') AND endsWith(substring(value, 2), {p3:String}))) OR (property = {p4:String} AND ((value != '') AND startsWith(substring(value, 2), {p5:String}))))
  GROUP BY profile_id
  HAVING count() = 2) AS t
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- p0 String = 'email'
-- p1 String = '@'
-- p2 String = 'test'
-- p3 String = '.com'
-- p4 String = 'name'
-- p5 String = 'Jo'
