using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>
/// A comparison that reads values as numbers or dates on a property that has values, none of them of that kind: the
/// profile property never had one (any profile, any time), or no event of the metric in [<see cref="From"/>,
/// <see cref="Until"/>) carries one. <see cref="Common"/> are the property's most frequent values, to show what it
/// holds instead (profiles counted as of the evaluation time, events over the same time).
/// </summary>
public sealed record WrongKind(
    string Path, string? Metric, string Property, ValueKind Kind, string Operator, string Value, IReadOnlyList<ValueCount> Common,
    DateTime? From = null, DateTime? Until = null);

public sealed partial class SchemaDescriber
{
    /// <summary>
    /// The probes whose property holds values but none of the kind the comparison reads: one or two statements per
    /// property (and time range, and kind), reading its values by their key range, and one more for the common values
    /// of a property found wrong. A value counts as a number or a date when it has the shape the compiler reads as one.
    /// </summary>
    public async Task<IReadOnlyList<WrongKind>> WrongKindsAsync(string tenant, IReadOnlyList<KindProbe> probes, DateTime now, CancellationToken cancellationToken)
    {
        var wrong = new List<WrongKind>();
        foreach (var group in probes.GroupBy(p => (p.Metric, p.Property, p.Window, p.Kind)))
        {
            var (metric, property, window, kind) = group.Key;
            var range = metric is null ? TimeRange.All : TimeRange.Of(window, now);
            var tenantValue = Sql.Param("String", tenant);
            var propertyValue = Sql.Param("String", property);
            var value = metric is null ? Sql.Of($"value") : Sql.Of($"properties[{propertyValue}]");
            var shaped = new TaggedValueSql(value).HasShape(kind);
            var source = metric is null
                ? Sql.Of($"{traits} WHERE tenant = {tenantValue} AND property = {propertyValue}")
                : Sql.Of($"{events} WHERE tenant = {tenantValue} AND metric = {Sql.Param("String", metric)}{EventTimes(range, now)}");
            if (await HoldsKindAsync(source, value, shaped, cancellationToken).ConfigureAwait(false) is not false)
            {
                // A value of the kind can match; no values at all is an empty time or property, not a wrong kind.
                continue;
            }

            var common = await ClosestAsync(tenant, metric, property, value: null, range, now, cancellationToken).ConfigureAwait(false);
            wrong.AddRange(group.Select(p => new WrongKind(p.Path, metric, property, kind, p.Operator, p.Value, common, range.From, range.Until)));
        }

        return wrong.Count > MaxAbsentValuesReported ? wrong[..MaxAbsentValuesReported] : wrong;
    }

    /// <summary>True when some value of <paramref name="source"/> has the kind's shape, false when values exist and none has, null when there are none.</summary>
    /// <remarks>
    /// On one server an existence query ends at the first match, which is the usual answer (20–30 ms for a 2M-profile
    /// property); on a cluster it counts instead, since chDB's server aborts now and then when an early-ending LIMIT
    /// cancels the shards' reads (see <see cref="AbsentValuesAsync"/>).
    /// </remarks>
    private async Task<bool?> HoldsKindAsync(SqlFragment source, SqlFragment value, SqlFragment shaped, CancellationToken cancellationToken)
    {
        if (schema.Cluster is not null)
        {
            var counts = await engine.QueryAsync(
                Sql.Of($"SELECT countIf({value} != ''), countIf({shaped}) FROM {source}"),
                row => (Values: row.GetInt64(0), OfKind: row.GetInt64(1)),
                cancellationToken).ConfigureAwait(false);
            return counts.Count == 0 || counts[0].Values == 0 ? null : counts[0].OfKind > 0;
        }

        if ((await engine.QueryAsync(Sql.Of($"SELECT 1 FROM {source} AND {shaped} LIMIT 1"), _ => 1, cancellationToken).ConfigureAwait(false)).Count > 0)
        {
            return true;
        }

        return (await engine.QueryAsync(Sql.Of($"SELECT 1 FROM {source} AND {value} != '' LIMIT 1"), _ => 1, cancellationToken).ConfigureAwait(false)).Count > 0
            ? false
            : null;
    }
}
