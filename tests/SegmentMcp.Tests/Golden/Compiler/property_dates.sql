-- Profiles whose signup is before 2024-01-01, whose signup is after 1969-12-31T23:00:00Z, whose last_seen is in the last 7 days, whose trial_end is more than 30 days ago, whose renewal is in the next 14 days, and whose birthday anniversary is in the next 3 days
SELECT t.profile_id AS profile_id
FROM (
  SELECT profile_id
  FROM segmentmcp.current_traits FINAL
  WHERE tenant = {tenant:String} AND ((property = {p0:String} AND substring(value, 7, 5) IN {p1:Array(String)} AND ifNull(has({p2:Array(UInt16)}, toMonth(date_value) * 100 + toDayOfMonth(date_value)), 0)) OR (property = {p3:String} AND value >= {p4:String} AND value < {p5:String} AND ifNull(date_value BETWEEN {p6:DateTime64(3, 'UTC')} AND {now:DateTime64(3, 'UTC')}, 0)) OR (property = {p7:String} AND value >= {p8:String} AND value < {p9:String} AND ifNull(date_value BETWEEN {now:DateTime64(3, 'UTC')} AND {p10:DateTime64(3, 'UTC')}, 0)) OR (property = {p11:String} AND value >= {p12:String} AND value < {p13:String} AND value >= {p14:String} AND value < {p15:String} AND ifNull(date_value < {p16:DateTime64(3, 'UTC')}, 0) AND ifNull(date_value > {p17:DateTime64(3, 'UTC')}, 0)) OR (property = {p18:String} AND value >= {p19:String} AND value < {p20:String} AND ifNull(date_value < {p21:DateTime64(3, 'UTC')}, 0))) AND profile_id NOT IN (
    SELECT profile_id
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p22:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
    UNION ALL
    SELECT profile_id
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p22:Array(String)} AND ingested_at > (
      SELECT max(watermark)
      FROM segmentmcp.current_traits_watermark
      WHERE tenant = {tenant:String}))
  GROUP BY profile_id
  HAVING count() = 5
  UNION ALL
  SELECT profile_id
  FROM (
    SELECT profile_id, argMaxIf(value, (updated_at, ingested_at), property = {p23:String}) AS t0, argMaxIf(value, (updated_at, ingested_at), property = {p24:String}) AS t1, argMaxIf(value, (updated_at, ingested_at), property = {p25:String}) AS t2, argMaxIf(value, (updated_at, ingested_at), property = {p26:String}) AS t3, argMaxIf(value, (updated_at, ingested_at), property = {p27:String}) AS t4
    FROM segmentmcp.traits
    WHERE tenant = {tenant:String} AND property IN {p22:Array(String)} AND updated_at <= {now:DateTime64(3, 'UTC')} AND profile_id IN (
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p22:Array(String)} AND updated_at > {now:DateTime64(3, 'UTC')}
      UNION ALL
      SELECT profile_id
      FROM segmentmcp.traits
      WHERE tenant = {tenant:String} AND property IN {p22:Array(String)} AND ingested_at > (
        SELECT max(watermark)
        FROM segmentmcp.current_traits_watermark
        WHERE tenant = {tenant:String}))
    GROUP BY profile_id
    HAVING (ifNull(if(startsWith(t0, 's1900-01-01') OR startsWith(t0, 's2299-12-31'), if(toYear(parseDateTime64BestEffortOrNull(if(match(t0, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t0, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')) BETWEEN 1900 AND 2299, parseDateTime64BestEffortOrNull(if(match(t0, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t0, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC'), NULL), parseDateTime64BestEffortOrNull(if(match(t0, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t0, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')) < {p28:DateTime64(3, 'UTC')}, 0) AND ifNull(if(startsWith(t0, 's1900-01-01') OR startsWith(t0, 's2299-12-31'), if(toYear(parseDateTime64BestEffortOrNull(if(match(t0, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t0, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')) BETWEEN 1900 AND 2299, parseDateTime64BestEffortOrNull(if(match(t0, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t0, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC'), NULL), parseDateTime64BestEffortOrNull(if(match(t0, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t0, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')) > {p29:DateTime64(3, 'UTC')}, 0) AND ifNull(if(startsWith(t1, 's1900-01-01') OR startsWith(t1, 's2299-12-31'), if(toYear(parseDateTime64BestEffortOrNull(if(match(t1, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t1, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')) BETWEEN 1900 AND 2299, parseDateTime64BestEffortOrNull(if(match(t1, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t1, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC'), NULL), parseDateTime64BestEffortOrNull(if(match(t1, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t1, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')) BETWEEN {p30:DateTime64(3, 'UTC')} AND {now:DateTime64(3, 'UTC')}, 0) AND ifNull(if(startsWith(t2, 's1900-01-01') OR startsWith(t2, 's2299-12-31'), if(toYear(parseDateTime64BestEffortOrNull(if(match(t2, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t2, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')) BETWEEN 1900 AND 2299, parseDateTime64BestEffortOrNull(if(match(t2, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t2, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC'), NULL), parseDateTime64BestEffortOrNull(if(match(t2, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t2, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')) < {p31:DateTime64(3, 'UTC')}, 0) AND ifNull(if(startsWith(t3, 's1900-01-01') OR startsWith(t3, 's2299-12-31'), if(toYear(parseDateTime64BestEffortOrNull(if(match(t3, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t3, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')) BETWEEN 1900 AND 2299, parseDateTime64BestEffortOrNull(if(match(t3, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t3, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC'), NULL), parseDateTime64BestEffortOrNull(if(match(t3, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t3, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')) BETWEEN {now:DateTime64(3, 'UTC')} AND {p32:DateTime64(3, 'UTC')}, 0) AND ifNull(has({p33:Array(UInt16)}, toMonth(if(startsWith(t4, 's1900-01-01') OR startsWith(t4, 's2299-12-31'), if(toYear(parseDateTime64BestEffortOrNull(if(match(t4, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t4, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')) BETWEEN 1900 AND 2299, parseDateTime64BestEffortOrNull(if(match(t4, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t4, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC'), NULL), parseDateTime64BestEffortOrNull(if(match(t4, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t4, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC'))) * 100 + toDayOfMonth(if(startsWith(t4, 's1900-01-01') OR startsWith(t4, 's2299-12-31'), if(toYear(parseDateTime64BestEffortOrNull(if(match(t4, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t4, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')) BETWEEN 1900 AND 2299, parseDateTime64BestEffortOrNull(if(match(t4, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t4, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC'), NULL), parseDateTime64BestEffortOrNull(if(match(t4, '^s(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$'), replaceRegexpOne(replaceOne(upper(substring(t4, 2)), ',', '.'), '([ T][0-9:.]+[+-][0-9]{2})$', '\\1:00'), ''), 3, 'UTC')))), 0)))) AS t
SETTINGS join_use_nulls = 0, distributed_group_by_no_merge = 1
-- tenant String = 'acme'
-- p0 String = 'birthday'
-- p1 Array(String) = ['02-26', '02-27', '02-28', '02-29', '03-01', '03-02']
-- p2 Array(UInt16) = [227, 228, 229, 301]
-- p3 String = 'last_seen'
-- p4 String = 's2024-02-19'
-- p5 String = 's2024-02-29'
-- p6 DateTime64(3, 'UTC') = '2024-02-20 12:00:00.000'
-- now DateTime64(3, 'UTC') = '2024-02-27 12:00:00.000'
-- p7 String = 'renewal'
-- p8 String = 's2024-02-26'
-- p9 String = 's2024-03-14'
-- p10 DateTime64(3, 'UTC') = '2024-03-12 12:00:00.000'
-- p11 String = 'signup'
-- p12 String = 's1'
-- p13 String = 's2024-01-03'
-- p14 String = 's1969-12-30'
-- p15 String = 's3'
-- p16 DateTime64(3, 'UTC') = '2024-01-01 00:00:00.000'
-- p17 DateTime64(3, 'UTC') = '1969-12-31 23:00:00.000'
-- p18 String = 'trial_end'
-- p19 String = 's1'
-- p20 String = 's2024-01-30'
-- p21 DateTime64(3, 'UTC') = '2024-01-28 12:00:00.000'
-- p22 Array(String) = ['birthday', 'last_seen', 'renewal', 'signup', 'trial_end']
-- p23 String = 'signup'
-- p24 String = 'last_seen'
-- p25 String = 'trial_end'
-- p26 String = 'renewal'
-- p27 String = 'birthday'
-- p28 DateTime64(3, 'UTC') = '2024-01-01 00:00:00.000'
-- p29 DateTime64(3, 'UTC') = '1969-12-31 23:00:00.000'
-- p30 DateTime64(3, 'UTC') = '2024-02-20 12:00:00.000'
-- p31 DateTime64(3, 'UTC') = '2024-01-28 12:00:00.000'
-- p32 DateTime64(3, 'UTC') = '2024-03-12 12:00:00.000'
-- p33 Array(UInt16) = [227, 228, 229, 301]
