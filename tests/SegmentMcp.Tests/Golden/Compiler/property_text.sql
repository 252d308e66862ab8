-- Profiles whose email contains @, whose email does not contain test, whose name starts with Jo, and whose email ends with .com
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p0:String}) AS t0, argMaxIf(value, (updated_at, ingested_at), property = {p1:String}) AS t1
  FROM (
    SELECT profile_id, property, value, updated_at, ingested_at
    FROM segmentmcp.current_traits FINAL
    WHERE tenant = {tenant:String} AND ((property = {p2:String} AND ((value != '') AND position(substring(value, 2), {p3:String}) > 0) AND ((value != '') AND position(substring(value, 2), {p4:String}) = 0) AND ((value != '') AND endsWith(substring(value, 2), {p5:String}))) OR (property = {p6:String} AND ((value != '') AND startsWith(substring(value, 2), {p7:String})))) AND profile_id NOT IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p8:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p8:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String}))
    UNION ALL
    SELECT profile_id, property, value, updated_at, ingested_at
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p8:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')} AND profile_id IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p8:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p8:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String})))
  GROUP BY profile_id) AS t
WHERE (((t.t0 != '') AND position(substring(t.t0, 2), {p9:String}) > 0) AND ((t.t0 != '') AND position(substring(t.t0, 2), {p10:String}) = 0) AND ((t.t1 != '') AND startsWith(substring(t.t1, 2), {p11:String})) AND ((t.t0 != '') AND endsWith(substring(t.t0, 2), {p12:String})))
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'email'
-- p1 String = 'name'
-- tenant String = 'acme'
-- p2 String = 'email'
-- p3 String = '@'
-- p4 String = 'test'
-- p5 String = '.com'
-- p6 String = 'name'
-- p7 String = 'Jo'
-- p8 Array(String) = ['email', 'name']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p9 String = '@'
-- p10 String = 'test'
-- p11 String = 'Jo'
-- p12 String = '.com'
