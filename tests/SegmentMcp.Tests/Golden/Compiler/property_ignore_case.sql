-- Profiles whose city is one of boston, NEW YORK, 5 (ignoring case), whose email ends with @GMAIL.COM (ignoring case), and who placed an order where coupon is spring (ignoring case)
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, count() AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric = {p0:String} AND ts <= {now:DateTime64(3, 'UTC')} AND (((properties[{p1:String}] != '') AND lowerUTF8(substring(properties[{p1:String}], 2)) = lowerUTF8({p2:String})))
  GROUP BY profile_id) AS e
INNER JOIN (
  SELECT profile_id
  FROM segmentmcp.current_traits FINAL
  WHERE tenant = {tenant:String} AND ((property = {p3:String} AND (((value != '') AND has(arrayMap(x -> lowerUTF8(x), {p4:Array(String)}), lowerUTF8(substring(value, 2)))) OR ifNull(has({p5:Array(Float64)}, number_value), 0))) OR (property = {p6:String} AND ((value != '') AND endsWith(lowerUTF8(substring(value, 2)), lowerUTF8({p7:String}))))) AND profile_id NOT IN (
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
  HAVING count() = 2
  UNION ALL
  SELECT profile_id
  FROM (
    SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p9:String}) AS t0, argMaxIf(value, (updated_at, ingested_at), property = {p10:String}) AS t1
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
    HAVING ((((t0 != '') AND has(arrayMap(x -> lowerUTF8(x), {p11:Array(String)}), lowerUTF8(substring(t0, 2)))) OR ifNull(has({p12:Array(Float64)}, toFloat64OrNull(if(match(t0, '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(t0, 2), ''))), 0)) AND ((t1 != '') AND endsWith(lowerUTF8(substring(t1, 2)), lowerUTF8({p13:String})))))) AS t ON t.profile_id = e.profile_id
WHERE e.e0 >= {p14:Float64}
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- p0 String = 'Placed Order'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p1 String = 'coupon'
-- p2 String = 'spring'
-- p3 String = 'city'
-- p4 Array(String) = ['boston', 'NEW YORK']
-- p5 Array(Float64) = [5]
-- p6 String = 'email'
-- p7 String = '@GMAIL.COM'
-- p8 Array(String) = ['city', 'email']
-- p9 String = 'city'
-- p10 String = 'email'
-- p11 Array(String) = ['boston', 'NEW YORK']
-- p12 Array(Float64) = [5]
-- p13 String = '@GMAIL.COM'
-- p14 Float64 = 1
