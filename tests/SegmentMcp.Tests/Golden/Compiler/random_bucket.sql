-- Profiles who fall in a random 12.5% of profiles (seed spring) and whose city is Boston
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p0:String}) AS t0
  FROM segmentmcp.traits
  WHERE tenant = {tenant:String} AND property IN {p1:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS t
WHERE ((reinterpretAsUInt64(MD5(concat({p2:String}, t.profile_id, {p3:String}))) % 10000 < {p4:UInt16}) AND ((t.t0 != '') AND substring(t.t0, 2) = {p5:String}))
SETTINGS join_use_nulls = 0
-- p0 String = 'city'
-- tenant String = 'acme'
-- p1 Array(String) = ['city']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p2 String = 'acme
'
-- p3 String = '
spring'
-- p4 UInt16 = 1250
-- p5 String = 'Boston'
