-- Profiles who placed an order where the value is at least 20 and category is shoes with an average amount at least 10 between 3 and 30 days ago
WITH ((ifNull(value >= {p0:Float64}, 0) AND ((properties[{p1:String}] != '') AND substring(properties[{p1:String}], 2) = {p2:String}))) AS passes
SELECT count(), minOrNull(ts), maxOrNull(ts), sumOrNull(value), countIf(passes), minOrNullIf(ts, passes), maxOrNullIf(ts, passes), CAST(avgOrNullIf(toFloat64OrNull(if(match(properties[{p3:String}], '^[ns]-?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?$'), substring(properties[{p3:String}], 2), '')), passes) AS Nullable(Float64))
FROM segmentmcp.events
WHERE (tenant = {p4:String} AND metric = {p5:String} AND profile_id = {p6:String} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p7:DateTime64(3, 'UTC')} AND ts < {p8:DateTime64(3, 'UTC')})
-- p0 Float64 = 20
-- p1 String = 'category'
-- p2 String = 'shoes'
-- p3 String = 'amount'
-- p4 String = 'acme'
-- p5 String = 'Placed Order'
-- p6 String = 'p1'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p7 DateTime64(3, 'UTC') = '2024-01-28 12:00:00.000'
-- p8 DateTime64(3, 'UTC') = '2024-02-24 12:00:00.000'
