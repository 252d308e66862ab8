-- Profiles who placed an order where the value is at least 20 and category is shoes with an average amount at least 10 between 3 and 30 days ago
SELECT ts
FROM segmentmcp.events
WHERE (tenant = {p0:String} AND metric = {p1:String} AND profile_id = {p2:String} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p3:DateTime64(3, 'UTC')} AND ts < {p4:DateTime64(3, 'UTC')}) AND ((ifNull(value >= {p5:Float64}, 0) AND ((properties[{p6:String}] != '') AND substring(properties[{p6:String}], 2) = {p7:String})))
ORDER BY ts
LIMIT {p8:UInt32}
-- p0 String = 'acme'
-- p1 String = 'Placed Order'
-- p2 String = 'p1'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p3 DateTime64(3, 'UTC') = '2024-01-28 12:00:00.000'
-- p4 DateTime64(3, 'UTC') = '2024-02-24 12:00:00.000'
-- p5 Float64 = 20
-- p6 String = 'category'
-- p7 String = 'shoes'
-- p8 UInt32 = 100
