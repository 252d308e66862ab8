-- Profiles whose city is one of Boston, 5, true or whose city is none of Paris, Rome
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p0:String}) AS t0
  FROM (
    SELECT profile_id, property, value, updated_at, ingested_at
    FROM segmentmcp.current_traits FINAL
    WHERE tenant = {tenant:String} AND property IN {p1:Array(String)} AND profile_id NOT IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p1:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p1:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String}))
    UNION ALL
    SELECT profile_id, property, value, updated_at, ingested_at
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p1:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')} AND profile_id IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p1:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p1:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String})))
  GROUP BY profile_id) AS t
WHERE ((((t.t0 != '') AND has({p2:Array(String)}, substring(t.t0, 2))) OR ifNull(has({p3:Array(Float64)}, toFloat64OrNull(if(match(t.t0, '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(t.t0, 2), ''))), 0) OR has({p4:Array(String)}, t.t0)) OR ((t.t0 != '') AND NOT ((t.t0 != '') AND has({p5:Array(String)}, substring(t.t0, 2)))))
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 String = 'city'
-- tenant String = 'acme'
-- p1 Array(String) = ['city']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p2 Array(String) = ['Boston']
-- p3 Array(Float64) = [5]
-- p4 Array(String) = ['btrue']
-- p5 Array(String) = ['Paris', 'Rome']
