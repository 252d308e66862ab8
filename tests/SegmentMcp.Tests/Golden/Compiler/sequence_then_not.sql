-- Profiles who viewed a product, then added to cart, within 2 hours in the last 7 days, and did not place an order within 24 hours after
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, arraySort(groupArrayIf(toUnixTimestamp64Milli(ts), metric = {p0:String} AND ts >= {p1:DateTime64(3, 'UTC')} AND ts < {p2:DateTime64(3, 'UTC')})) AS e0, arraySort(groupArrayIf(toUnixTimestamp64Milli(ts), metric = {p3:String} AND ts >= {p4:DateTime64(3, 'UTC')} AND ts < {p5:DateTime64(3, 'UTC')})) AS e1, arraySort(groupArrayIf(toUnixTimestamp64Milli(ts), metric = {p6:String} AND ts >= {p7:DateTime64(3, 'UTC')})) AS e2
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric IN {p8:Array(String)} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p9:DateTime64(3, 'UTC')} AND ((metric = {p0:String} AND ts >= {p1:DateTime64(3, 'UTC')} AND ts < {p2:DateTime64(3, 'UTC')}) OR (metric = {p3:String} AND ts >= {p4:DateTime64(3, 'UTC')} AND ts < {p5:DateTime64(3, 'UTC')}) OR (metric = {p6:String} AND ts >= {p7:DateTime64(3, 'UTC')}))
  GROUP BY profile_id) AS e
WHERE arrayExists((seq_s, seq_p) -> arrayExists(seq_k -> ifNull(seq_k > seq_p, 0) AND seq_k - seq_s <= {p10:Int64}, arrayFilter(seq_k -> seq_k + {p11:Int64} <= {p12:Int64} AND NOT arrayExists(seq_b -> seq_b > seq_k AND seq_b <= seq_k + {p11:Int64}, e.e2), e.e1)), e.e0, e.e0)
SETTINGS join_use_nulls = 0
-- p0 String = 'Viewed Product'
-- p1 DateTime64(3, 'UTC') = '2024-02-20 12:00:00.000'
-- p2 DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p3 String = 'Added To Cart'
-- p4 DateTime64(3, 'UTC') = '2024-02-20 12:00:00.000'
-- p5 DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p6 String = 'Placed Order'
-- p7 DateTime64(3, 'UTC') = '2024-02-20 12:00:00.000'
-- tenant String = 'acme'
-- p8 Array(String) = ['Added To Cart', 'Placed Order', 'Viewed Product']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p9 DateTime64(3, 'UTC') = '2024-02-20 12:00:00.000'
-- p10 Int64 = 7200000
-- p11 Int64 = 86400000
-- p12 Int64 = 1709035200000
