using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Core.Sql;

/// <summary>The events of one metric a condition reads in a time range [From, Until), and the where filters it applies.</summary>
public sealed record EventSelection(string Metric, IReadOnlyList<PropertyFilter> Where, DateTime? From, DateTime? Until);

/// <summary>
/// One profile's events, read for check_membership's evidence. The where filters and the measure are written by the
/// compiler's own fragments, so the numbers shown are the ones the compiled condition compares.
/// </summary>
public static class ProfileEventsQuery
{
    private const string Time3 = ClickHouseTime.Milliseconds;

    /// <summary>
    /// One row: the events of the selection's metric in its range up to <paramref name="now"/> (count, first, last,
    /// sum of values), then those passing the where filters (count, first, last) and <paramref name="measure"/> over
    /// them as a Nullable(Float64) (NULL where the measure of no events is: avg, min, max).
    /// </summary>
    public static SqlStatement Summary(TableNames schema, string tenant, string profileId, EventSelection selection, Measure measure, DateTime now)
    {
        now = IsoTime.Truncate(now);
        var nowParameter = Sql.Named("now", Time3, now);
        var passes = Passes(selection.Where, nowParameter, now);
        var measured = measure.Property switch
        {
            null => null,
            PropertyFilter.ValueProperty => EventValueSql.Instance,
            var name => (ValueSql)new TaggedValueSql(Sql.Of($"properties[{Sql.Param("String", name)}]")),
        };
        var matching = Sql.Of($"passes");
        var aggregate = SegmentCompiler.MeasureAggregate(measure.Kind, measured)(matching);
        return Sql.Of(
            $"WITH {passes} AS {matching} SELECT count(), minOrNull(ts), maxOrNull(ts), sumOrNull(value), countIf({matching}), minOrNullIf(ts, {matching}), maxOrNullIf(ts, {matching}), CAST({aggregate} AS Nullable(Float64)) FROM {Sql.Table(schema.Events)} WHERE {Rows(tenant, profileId, selection, nowParameter)}")
            .ToStatement();
    }

    /// <summary>The times of the events passing the selection, oldest first, at most <paramref name="limit"/>.</summary>
    public static SqlStatement MatchingTimes(TableNames schema, string tenant, string profileId, EventSelection selection, DateTime now, int limit)
    {
        now = IsoTime.Truncate(now);
        var nowParameter = Sql.Named("now", Time3, now);
        return Sql.Of(
            $"SELECT ts FROM {Sql.Table(schema.Events)} WHERE {Rows(tenant, profileId, selection, nowParameter)} AND {Passes(selection.Where, nowParameter, now)} ORDER BY ts LIMIT {Sql.Param("UInt32", (long)limit)}")
            .ToStatement();
    }

    private static SqlFragment Rows(string tenant, string profileId, EventSelection selection, SqlFragment nowParameter)
    {
        var bounds = new List<SqlFragment>
        {
            Sql.Of($"tenant = {Sql.Param("String", tenant)}"),
            Sql.Of($"metric = {Sql.Param("String", selection.Metric)}"),
            Sql.Of($"profile_id = {Sql.Param("String", profileId)}"),
            Sql.Of($"ts <= {nowParameter}"),
        };
        if (selection.From is { } from)
        {
            bounds.Add(Sql.Of($"ts >= {Sql.Param(Time3, from)}"));
        }

        if (selection.Until is { } until)
        {
            bounds.Add(Sql.Of($"ts < {Sql.Param(Time3, until)}"));
        }

        return Sql.And(bounds);
    }

    /// <summary>A UInt8 predicate: the event passes every where filter (1 without filters).</summary>
    private static SqlFragment Passes(IReadOnlyList<PropertyFilter> where, SqlFragment nowParameter, DateTime now) =>
        Sql.Of($"({Sql.And([.. where.Select(filter => FilterSql.Predicate(filter, filter.IsEventValue ? EventValueSql.Instance : new TaggedValueSql(Sql.Of($"properties[{Sql.Param("String", filter.Name)}]")), nowParameter, now))])})");
}
