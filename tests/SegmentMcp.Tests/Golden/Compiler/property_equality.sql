-- Profiles whose city is Boston, whose age is 30, whose vip is true, and whose country is not US
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id
  FROM segmentmcp.current_traits FINAL
  WHERE tenant = {tenant:String} AND ((property = {p0:String} AND ifNull(number_value = {p1:Float64}, 0)) OR (property = {p2:String} AND value IN {p3:Array(String)}) OR (property = {p4:String} AND ((value != '') AND NOT ((value != '') AND substring(value, 2) = {p5:String}))) OR (property = {p6:String} AND value IN {p7:Array(String)})) AND profile_id NOT IN (
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
  GROUP BY profile_id
  HAVING count() = 4
  UNION ALL
  SELECT profile_id
  FROM (
    SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p9:String}) AS t0, argMaxIf(value, (updated_at, ingested_at), property = {p10:String}) AS t1, argMaxIf(value, (updated_at, ingested_at), property = {p11:String}) AS t2, argMaxIf(value, (updated_at, ingested_at), property = {p12:String}) AS t3
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
        WHERE tenant = {tenant:String}))
    GROUP BY profile_id
    HAVING (((t0 != '') AND substring(t0, 2) = {p13:String}) AND ifNull(toFloat64OrNull(if(match(t1, '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(t1, 2), '')) = {p14:Float64}, 0) AND (t2 = {p15:String}) AND ((t3 != '') AND NOT ((t3 != '') AND substring(t3, 2) = {p16:String}))))) AS t
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- p0 String = 'age'
-- p1 Float64 = 30
-- p2 String = 'city'
-- p3 Array(String) = ['bBoston', 'nBoston', 'sBoston']
-- p4 String = 'country'
-- p5 String = 'US'
-- p6 String = 'vip'
-- p7 Array(String) = ['btrue']
-- p8 Array(String) = ['age', 'city', 'country', 'vip']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p9 String = 'city'
-- p10 String = 'age'
-- p11 String = 'vip'
-- p12 String = 'country'
-- p13 String = 'Boston'
-- p14 Float64 = 30
-- p15 String = 'btrue'
-- p16 String = 'US'
