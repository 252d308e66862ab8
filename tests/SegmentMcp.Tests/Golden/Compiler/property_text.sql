-- Profiles whose email contains @, whose email does not contain test, whose name starts with Jo, and whose email ends with .com
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id
  FROM segmentmcp.current_traits FINAL
  WHERE tenant = {tenant:String} AND ((property = {p0:String} AND ((value != '') AND position(substring(value, 2), {p1:String}) > 0) AND ((value != '') AND position(substring(value, 2), {p2:String}) = 0) AND ((value != '') AND endsWith(substring(value, 2), {p3:String}))) OR (property = {p4:String} AND ((value != '') AND startsWith(substring(value, 2), {p5:String})))) AND profile_id NOT IN (
    SELECT profile_id
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p6:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
    UNION ALL
    SELECT profile_id
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p6:Array(String)} AND ingested_at > (
      SELECT max(watermark)
      FROM segmentmcp.current_traits_watermark
      WHERE tenant = {tenant:String}))
  GROUP BY profile_id
  HAVING count() = 2
  UNION ALL
  SELECT profile_id
  FROM (
    SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p7:String}) AS t0, argMaxIf(value, (updated_at, ingested_at), property = {p8:String}) AS t1
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p6:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')} AND profile_id IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p6:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p6:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String}))
    GROUP BY profile_id
    HAVING (((t0 != '') AND position(substring(t0, 2), {p9:String}) > 0) AND ((t0 != '') AND position(substring(t0, 2), {p10:String}) = 0) AND ((t1 != '') AND startsWith(substring(t1, 2), {p11:String})) AND ((t0 != '') AND endsWith(substring(t0, 2), {p12:String}))))) AS t
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- p0 String = 'email'
-- p1 String = '@'
-- p2 String = 'test'
-- p3 String = '.com'
-- p4 String = 'name'
-- p5 String = 'Jo'
-- p6 Array(String) = ['email', 'name']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p7 String = 'email'
-- p8 String = 'name'
-- p9 String = '@'
-- p10 String = 'test'
-- p11 String = 'Jo'
-- p12 String = '.com'
