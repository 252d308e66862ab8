-- Profiles who had a Page View event at least 1 time a day in at least 2 of the last 3 whole days (America/New_York time)
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id, groupBitOrIf(bitShiftLeft(toUInt64(1), toUInt8(arrayCount(period_start -> period_start > ts, {p0:Array(DateTime64(3, 'UTC'))}))), metric = {p1:String} AND ts >= {p2:DateTime64(3, 'UTC')} AND ts < {p3:DateTime64(3, 'UTC')}) AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric = {p4:String} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p5:DateTime64(3, 'UTC')} AND ts < {p6:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e
WHERE bitCount(e.e0) >= {p7:UInt8}
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- p0 Array(DateTime64(3, 'UTC')) = ['2024-02-27 05:00:00.000', '2024-02-26 05:00:00.000', '2024-02-25 05:00:00.000', '2024-02-24 05:00:00.000']
-- p1 String = 'Page View'
-- p2 DateTime64(3, 'UTC') = '2024-02-24 05:00:00.000'
-- p3 DateTime64(3, 'UTC') = '2024-02-27 05:00:00.000'
-- tenant String = 'acme'
-- p4 String = 'Page View'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p5 DateTime64(3, 'UTC') = '2024-02-24 05:00:00.000'
-- p6 DateTime64(3, 'UTC') = '2024-02-27 05:00:00.000'
-- p7 UInt8 = 2
