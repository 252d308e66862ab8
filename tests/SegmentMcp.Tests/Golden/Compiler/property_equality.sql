-- Profiles whose city is Boston, whose age is 30, whose vip is true, and whose country is not US
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p0:String}) AS t0, argMaxIf(value, (updated_at, ingested_at), property = {p1:String}) AS t1, argMaxIf(value, (updated_at, ingested_at), property = {p2:String}) AS t2, argMaxIf(value, (updated_at, ingested_at), property = {p3:String}) AS t3
  FROM (
    SELECT profile_id, property, value, updated_at, ingested_at
    FROM segmentmcp.current_traits FINAL
    WHERE tenant = {tenant:String} AND ((property = {p4:String} AND ifNull(toFloat64OrNull(if(match(value, '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(value, 2), '')) = {p5:Float64}, 0)) OR (property = {p6:String} AND value IN {p7:Array(String)} AND ((value != '') AND substring(value, 2) = {p8:String})) OR (property = {p9:String} AND ((value != '') AND NOT ((value != '') AND substring(value, 2) = {p10:String}))) OR (property = {p11:String} AND value IN {p12:Array(String)} AND (value = {p13:String}))) AND profile_id NOT IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p14:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p14:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String}))
    UNION ALL
    SELECT profile_id, property, value, updated_at, ingested_at
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p14:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')} AND profile_id IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p14:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p14:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String})))
  GROUP BY profile_id) AS t
WHERE (((t.t0 != '') AND substring(t.t0, 2) = {p15:String}) AND ifNull(toFloat64OrNull(if(match(t.t1, '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(t.t1, 2), '')) = {p16:Float64}, 0) AND (t.t2 = {p17:String}) AND ((t.t3 != '') AND NOT ((t.t3 != '') AND substring(t.t3, 2) = {p18:String})))
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'city'
-- p1 String = 'age'
-- p2 String = 'vip'
-- p3 String = 'country'
-- tenant String = 'acme'
-- p4 String = 'age'
-- p5 Float64 = 30
-- p6 String = 'city'
-- p7 Array(String) = ['bBoston', 'nBoston', 'sBoston']
-- p8 String = 'Boston'
-- p9 String = 'country'
-- p10 String = 'US'
-- p11 String = 'vip'
-- p12 Array(String) = ['btrue']
-- p13 String = 'btrue'
-- p14 Array(String) = ['age', 'city', 'country', 'vip']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p15 String = 'Boston'
-- p16 Float64 = 30
-- p17 String = 'btrue'
-- p18 String = 'US'
