-- Profiles who fall in a random 12.5% of profiles (seed spring) and whose city is Boston
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p0:String}) AS t0
  FROM (
    SELECT profile_id, property, value, updated_at, ingested_at
    FROM segmentmcp.current_traits FINAL
    WHERE tenant = {tenant:String} AND (property = {p1:String} AND value IN {p2:Array(String)} AND ((value != '') AND substring(value, 2) = {p3:String})) AND profile_id NOT IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p4:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p4:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String}))
    UNION ALL
    SELECT profile_id, property, value, updated_at, ingested_at
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p4:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')} AND profile_id IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p4:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p4:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String})))
  GROUP BY profile_id) AS t
WHERE ((reinterpretAsUInt64(MD5(concat({p5:String}, t.profile_id, {p6:String}))) % 10000 < {p7:UInt16}) AND ((t.t0 != '') AND substring(t.t0, 2) = {p8:String}))
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'city'
-- tenant String = 'acme'
-- p1 String = 'city'
-- p2 Array(String) = ['bBoston', 'nBoston', 'sBoston']
-- p3 String = 'Boston'
-- p4 Array(String) = ['city']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p5 String = 'acme
'
-- p6 String = '
spring'
-- p7 UInt16 = 1250
-- p8 String = 'Boston'
