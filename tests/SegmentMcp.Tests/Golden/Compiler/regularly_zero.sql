-- Profiles who had a Page View event fewer than 1 time a month in at least 2 of the last 3 whole months
SELECT u.profile_id AS profile_id
FROM (
  SELECT profile_id
  FROM segmentmcp.profiles
  WHERE tenant = {tenant:String}
  GROUP BY profile_id
  HAVING min(first_seen) <= {now:DateTime64(3, 'UTC')}) AS u
LEFT JOIN (
  SELECT profile_id, groupBitOrIf(bitShiftLeft(toUInt64(1), toUInt8(toRelativeMonthNum({p0:DateTime64(3, 'UTC')}) - toRelativeMonthNum(ts))), metric = {p1:String} AND ts >= {p2:DateTime64(3, 'UTC')} AND ts < {p3:DateTime64(3, 'UTC')}) AS e0
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric = {p4:String} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p5:DateTime64(3, 'UTC')} AND ts < {p6:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e ON e.profile_id = u.profile_id
WHERE {p7:UInt8} - bitCount(e.e0) >= {p8:UInt8}
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p0 DateTime64(3, 'UTC') = '2024-02-01 00:00:00.000'
-- p1 String = 'Page View'
-- p2 DateTime64(3, 'UTC') = '2023-11-01 00:00:00.000'
-- p3 DateTime64(3, 'UTC') = '2024-02-01 00:00:00.000'
-- p4 String = 'Page View'
-- p5 DateTime64(3, 'UTC') = '2023-11-01 00:00:00.000'
-- p6 DateTime64(3, 'UTC') = '2024-02-01 00:00:00.000'
-- p7 UInt8 = 3
-- p8 UInt8 = 2
