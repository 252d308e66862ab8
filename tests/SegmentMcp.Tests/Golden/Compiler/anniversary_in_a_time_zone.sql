-- Profiles whose birthday anniversary is today (Pacific/Auckland time)
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id
  FROM segmentmcp.current_traits FINAL
  WHERE tenant = {tenant:String} AND (property = {p0:String} AND substring(value, 7, 5) IN {p1:Array(String)} AND ifNull(has({p2:Array(UInt16)}, toMonth(date_value) * 100 + toDayOfMonth(date_value)), 0)) AND profile_id NOT IN (
    SELECT profile_id
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p3:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
    UNION ALL
    SELECT profile_id
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p3:Array(String)} AND ingested_at > (
      SELECT max(watermark)
      FROM segmentmcp.current_traits_watermark
      WHERE tenant = {tenant:String}))
  UNION ALL
  SELECT profile_id
  FROM (
    SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p4:String}) AS t0
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p3:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')} AND profile_id IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p3:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p3:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String}))
    GROUP BY profile_id
    HAVING ifNull(has({p5:Array(UInt16)}, toMonth(if(startsWith(t0, 's1900-01-01') OR startsWith(t0, 's2299-12-31'), if(toYear(parseDateTime64BestEffortOrNull(if(match(t0, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t0, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')) BETWEEN 1900 AND 2299, parseDateTime64BestEffortOrNull(if(match(t0, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t0, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC'), NULL), parseDateTime64BestEffortOrNull(if(match(t0, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t0, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC'))) * 100 + toDayOfMonth(if(startsWith(t0, 's1900-01-01') OR startsWith(t0, 's2299-12-31'), if(toYear(parseDateTime64BestEffortOrNull(if(match(t0, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t0, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')) BETWEEN 1900 AND 2299, parseDateTime64BestEffortOrNull(if(match(t0, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t0, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC'), NULL), parseDateTime64BestEffortOrNull(if(match(t0, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t0, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')))), 0))) AS t
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- p0 String = 'birthday'
-- p1 Array(String) = ['02-27', '02-28', '02-29', '03-01']
-- p2 Array(UInt16) = [228]
-- p3 Array(String) = ['birthday']
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p4 String = 'birthday'
-- p5 Array(UInt16) = [228]
