-- Profiles who fall in a random 12.5% of profiles (seed spring) and whose city is Boston
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id
  FROM segmentmcp.current_traits FINAL
  WHERE tenant = {tenant:String} AND (property = {p0:String} AND value IN {p1:Array(String)} AND ((value != '') AND substring(value, 2) = {p2:String})) AND profile_id NOT IN (
    SELECT profile_id
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p3:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
    UNION ALL
    SELECT profile_id
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p3:Array(String)} AND ingested_at > (
      SELECT max(watermark)
      FROM segmentmcp.current_traits_watermark
      WHERE tenant = {tenant:String}))
  UNION ALL
  SELECT profile_id
  FROM (
    SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p4:String}) AS t0
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p3:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')} AND profile_id IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p3:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p3:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String}))
    GROUP BY profile_id
    HAVING ((t0 != '') AND substring(t0, 2) = {p5:String}))) AS t
WHERE (reinterpretAsUInt64(MD5(concat({p6:String}, t.profile_id, {p7:String}))) % 10000 < {p8:UInt16})
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- p0 String = 'city'
-- p1 Array(String) = ['bBoston', 'nBoston', 'sBoston']
-- p2 String = 'Boston'
-- p3 Array(String) = ['city']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p4 String = 'city'
-- p5 String = 'Boston'
-- p6 String = 'acme
'
-- p7 String = '
spring'
-- p8 UInt16 = 1250
