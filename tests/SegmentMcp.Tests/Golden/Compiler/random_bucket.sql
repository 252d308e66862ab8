-- Profiles who fall in a random 12.5% of profiles (seed spring) and whose city is Boston
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id
  FROM segmentmcp.current_traits FINAL
  WHERE tenant = {tenant:String} AND (property = {p0:String} AND value IN {p1:Array(String)}) AND profile_id NOT IN (
    SELECT profile_id
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p2:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
    UNION ALL
    SELECT profile_id
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p2:Array(String)} AND ingested_at > (
      SELECT max(watermark)
      FROM segmentmcp.current_traits_watermark
      WHERE tenant = {tenant:String}))
  UNION ALL
  SELECT profile_id
  FROM (
    SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p3:String}) AS t0
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p2:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')} AND profile_id IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p2:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p2:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String}))
    GROUP BY profile_id
    HAVING ((t0 != '') AND substring(t0, 2) = {p4:String}))) AS t
WHERE (reinterpretAsUInt64(MD5(concat({p5:String}, t.profile_id, {p6:String}))) % 10000 < {p7:UInt16})
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- p0 String = 'city'
-- p1 Array(String) = ['bBoston', 'nBoston', 'sBoston']
-- p2 Array(String) = ['city']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p3 String = 'city'
-- p4 String = 'Boston'
-- p5 String = 'acme
'
-- p6 String = '
spring'
-- p7 UInt16 = 1250
