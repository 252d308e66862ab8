SELECT NOT (EXISTS (
    SELECT 1
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p0:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
    SETTINGS preferred_optimize_projection_name = 'by_update') OR EXISTS (
    SELECT 1
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p0:Array(String)} AND ingested_at > (
      SELECT max(watermark)
      FROM segmentmcp.current_traits_watermark
      WHERE tenant = {tenant:String})
    SETTINGS preferred_optimize_projection_name = 'by_ingest')) AS complete
-- tenant String = 'acme'
-- p0 Array(String) = ['city']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
