-- Profiles who did Page View at least 2 times a week in at least 3 of the last 4 whole weeks
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, groupArrayIf(toUInt8(arrayFirstIndex(period_start -> ts >= period_start, {p0:Array(DateTime64(3, 'UTC'))})), metric = {p1:String} AND ts >= {p2:DateTime64(3, 'UTC')} AND ts < {p3:DateTime64(3, 'UTC')}) AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric IN {p4:Array(String)} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p5:DateTime64(3, 'UTC')} AND ts < {p6:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e
WHERE arrayCount(period_count -> period_count >= {p7:Float64}, arrayMap(period_number -> countEqual(e.e0, period_number), range(1, {p8:UInt8}))) >= {p9:UInt8}
SETTINGS join_use_nulls = 0
-- p0 Array(DateTime64(3, 'UTC')) = ['2024-02-19 00:00:00.000', '2024-02-12 00:00:00.000', '2024-02-05 00:00:00.000', '2024-01-29 00:00:00.000']
-- p1 String = 'Page View'
-- p2 DateTime64(3, 'UTC') = '2024-01-29 00:00:00.000'
-- p3 DateTime64(3, 'UTC') = '2024-02-26 00:00:00.000'
-- tenant String = 'acme'
-- p4 Array(String) = ['Page View']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p5 DateTime64(3, 'UTC') = '2024-01-29 00:00:00.000'
-- p6 DateTime64(3, 'UTC') = '2024-02-26 00:00:00.000'
-- p7 Float64 = 2
-- p8 UInt8 = 5
-- p9 UInt8 = 3
