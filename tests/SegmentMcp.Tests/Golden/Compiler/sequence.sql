-- Profiles who viewed a product, then added to cart where category is shoes, then placed an order, within 2 hours in the last 7 days
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, arraySort(groupArrayIf(toUnixTimestamp64Milli(ts), metric = {p0:String} AND ts >= {p1:DateTime64(3, 'UTC')})) AS e0, arraySort(groupArrayIf(toUnixTimestamp64Milli(ts), metric = {p2:String} AND ts >= {p3:DateTime64(3, 'UTC')} AND ((properties[{p4:String}] != '') AND substring(properties[{p4:String}], 2) = {p5:String}))) AS e1, arraySort(groupArrayIf(toUnixTimestamp64Milli(ts), metric = {p6:String} AND ts >= {p7:DateTime64(3, 'UTC')})) AS e2
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric IN {p8:Array(String)} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p9:DateTime64(3, 'UTC')} AND ((metric = {p0:String} AND ts >= {p1:DateTime64(3, 'UTC')}) OR (metric = {p2:String} AND ts >= {p3:DateTime64(3, 'UTC')} AND ((properties[{p4:String}] != '') AND substring(properties[{p4:String}], 2) = {p5:String})) OR (metric = {p6:String} AND ts >= {p7:DateTime64(3, 'UTC')}))
  GROUP BY profile_id) AS e
WHERE arrayExists((seq_s, seq_e) -> ifNull(seq_e - seq_s <= {p10:Int64}, 0), e.e0, arrayMap(seq_t -> arrayFirstOrNull(seq_x -> ifNull(seq_x > seq_t, 0), e.e2), arrayMap(seq_t -> arrayFirstOrNull(seq_x -> ifNull(seq_x > seq_t, 0), e.e1), e.e0)))
SETTINGS join_use_nulls = 0
-- p0 String = 'Viewed Product'
-- p1 DateTime64(3, 'UTC') = '2024-02-20 12:00:00.000'
-- p2 String = 'Added To Cart'
-- p3 DateTime64(3, 'UTC') = '2024-02-20 12:00:00.000'
-- p4 String = 'category'
-- p5 String = 'shoes'
-- p6 String = 'Placed Order'
-- p7 DateTime64(3, 'UTC') = '2024-02-20 12:00:00.000'
-- tenant String = 'acme'
-- p8 Array(String) = ['Added To Cart', 'Placed Order', 'Viewed Product']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p9 DateTime64(3, 'UTC') = '2024-02-20 12:00:00.000'
-- p10 Int64 = 7200000
