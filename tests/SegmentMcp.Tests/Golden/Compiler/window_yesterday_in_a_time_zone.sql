-- Profiles who placed an order yesterday (America/New_York time)
SELECT e.profile_id AS profile_id
FROM (
  SELECT profile_id
  FROM segmentmcp.events
  WHERE tenant = {tenant:String} AND metric = {p0:String} AND ts <= {now:DateTime64(3, 'UTC')} AND ts >= {p1:DateTime64(3, 'UTC')} AND ts < {p2:DateTime64(3, 'UTC')}
  GROUP BY profile_id) AS e
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- p0 String = 'Placed Order'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p1 DateTime64(3, 'UTC') = '2024-02-26 05:00:00.000'
-- p2 DateTime64(3, 'UTC') = '2024-02-27 05:00:00.000'
