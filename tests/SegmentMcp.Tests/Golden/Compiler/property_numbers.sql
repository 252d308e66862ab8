-- Profiles whose age is greater than 17, whose age is at least 18, whose score is less than 9.5, whose score is at most 9, and whose visits is between 1 and 10
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id
  FROM segmentmcp.current_traits FINAL
  WHERE tenant = {tenant:String} AND ((property = {p0:String} AND ifNull(number_value > {p1:Float64}, 0) AND ifNull(number_value >= {p2:Float64}, 0)) OR (property = {p3:String} AND ifNull(number_value < {p4:Float64}, 0) AND ifNull(number_value <= {p5:Float64}, 0)) OR (property = {p6:String} AND ifNull(number_value BETWEEN {p7:Float64} AND {p8:Float64}, 0))) AND profile_id NOT IN (
    SELECT profile_id
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p9:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
    UNION ALL
    SELECT profile_id
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p9:Array(String)} AND ingested_at > (
      SELECT max(watermark)
      FROM segmentmcp.current_traits_watermark
      WHERE tenant = {tenant:String}))
  GROUP BY profile_id
  HAVING count() = 3
  UNION ALL
  SELECT profile_id
  FROM (
    SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p10:String}) AS t0, argMaxIf(value, (updated_at, ingested_at), property = {p11:String}) AS t1, argMaxIf(value, (updated_at, ingested_at), property = {p12:String}) AS t2
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p9:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')} AND profile_id IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p9:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p9:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String}))
    GROUP BY profile_id
    HAVING (ifNull(toFloat64OrNull(if(match(t0, '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(t0, 2), '')) > {p13:Float64}, 0) AND ifNull(toFloat64OrNull(if(match(t0, '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(t0, 2), '')) >= {p14:Float64}, 0) AND ifNull(toFloat64OrNull(if(match(t1, '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(t1, 2), '')) < {p15:Float64}, 0) AND ifNull(toFloat64OrNull(if(match(t1, '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(t1, 2), '')) <= {p16:Float64}, 0) AND ifNull(toFloat64OrNull(if(match(t2, '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(t2, 2), '')) BETWEEN {p17:Float64} AND {p18:Float64}, 0)))) AS t
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- p0 String = 'age'
-- p1 Float64 = 17
-- p2 Float64 = 18
-- p3 String = 'score'
-- p4 Float64 = 9.5
-- p5 Float64 = 9
-- p6 String = 'visits'
-- p7 Float64 = 1
-- p8 Float64 = 10
-- p9 Array(String) = ['age', 'score', 'visits']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p10 String = 'age'
-- p11 String = 'score'
-- p12 String = 'visits'
-- p13 Float64 = 17
-- p14 Float64 = 18
-- p15 Float64 = 9.5
-- p16 Float64 = 9
-- p17 Float64 = 1
-- p18 Float64 = 10
