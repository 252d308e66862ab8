-- Profiles who had a Page View event at least 2 times a week in at least 3 of the last 4 whole weeks
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, groupArrayIf(toUInt8(intDiv({p0:Int64} - toUnixTimestamp64Milli(ts) - 1, {p1:Int64}) + 1), metric = {p2:String} AND ts >= {p3:DateTime64(3, 'UTC')} AND ts < {p4:DateTime64(3, 'UTC')}) AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric = {p5:String} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p6:DateTime64(3, 'UTC')} AND ts < {p7:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e
WHERE arrayCount(period_count -> period_count >= {p8:Float64}, arrayMap(period_number -> countEqual(e.e0, period_number), range(1, {p9:UInt8}))) >= {p10:UInt8}
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 Int64 = 1708905600000
-- p1 Int64 = 604800000
-- p2 String = 'Page View'
-- p3 DateTime64(3, 'UTC') = '2024-01-29 00:00:00.000'
-- p4 DateTime64(3, 'UTC') = '2024-02-26 00:00:00.000'
-- tenant String = 'acme'
-- p5 String = 'Page View'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p6 DateTime64(3, 'UTC') = '2024-01-29 00:00:00.000'
-- p7 DateTime64(3, 'UTC') = '2024-02-26 00:00:00.000'
-- p8 Float64 = 2
-- p9 UInt8 = 5
-- p10 UInt8 = 3
