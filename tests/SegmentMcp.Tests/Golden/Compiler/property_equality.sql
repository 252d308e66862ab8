-- Profiles whose city is Boston, whose age is 30, whose vip is true, and whose country is not US
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p0:String}) AS t0, argMaxIf(value, (updated_at, ingested_at), property = {p1:String}) AS t1, argMaxIf(value, (updated_at, ingested_at), property = {p2:String}) AS t2, argMaxIf(value, (updated_at, ingested_at), property = {p3:String}) AS t3
  FROM segmentmcp.traits
  WHERE tenant = {tenant:String} AND property IN {p4:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS t
WHERE (((t.t0 != '') AND substring(t.t0, 2) = {p5:String}) AND ifNull(toFloat64OrNull(if(match(t.t1, '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(t.t1, 2), '')) = {p6:Float64}, 0) AND (t.t2 = {p7:String}) AND ((t.t3 != '') AND NOT ((t.t3 != '') AND substring(t.t3, 2) = {p8:String})))
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'city'
-- p1 String = 'age'
-- p2 String = 'vip'
-- p3 String = 'country'
-- tenant String = 'acme'
-- p4 Array(String) = ['age', 'city', 'country', 'vip']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p5 String = 'Boston'
-- p6 Float64 = 30
-- p7 String = 'btrue'
-- p8 String = 'US'
