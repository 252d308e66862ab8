-- Profiles whose age is greater than 17, whose age is at least 18, whose score is less than 9.5, whose score is at most 9, and whose visits is between 1 and 10
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p0:String}) AS t0, argMaxIf(value, (updated_at, ingested_at), property = {p1:String}) AS t1, argMaxIf(value, (updated_at, ingested_at), property = {p2:String}) AS t2
  FROM segmentmcp.traits
  WHERE tenant = {tenant:String} AND property IN {p3:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS t
WHERE (ifNull(toFloat64OrNull(if(match(t.t0, '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(t.t0, 2), '')) > {p4:Float64}, 0) AND ifNull(toFloat64OrNull(if(match(t.t0, '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(t.t0, 2), '')) >= {p5:Float64}, 0) AND ifNull(toFloat64OrNull(if(match(t.t1, '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(t.t1, 2), '')) < {p6:Float64}, 0) AND ifNull(toFloat64OrNull(if(match(t.t1, '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(t.t1, 2), '')) <= {p7:Float64}, 0) AND ifNull(toFloat64OrNull(if(match(t.t2, '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(t.t2, 2), '')) BETWEEN {p8:Float64} AND {p9:Float64}, 0))
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'age'
-- p1 String = 'score'
-- p2 String = 'visits'
-- tenant String = 'acme'
-- p3 Array(String) = ['age', 'score', 'visits']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p4 Float64 = 17
-- p5 Float64 = 18
-- p6 Float64 = 9.5
-- p7 Float64 = 9
-- p8 Float64 = 1
-- p9 Float64 = 10
