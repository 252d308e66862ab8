namespace SegmentMcp.Core.Dsl;

/// <summary>
/// The text values one filter of a definition compares a property with for equality (<c>eq</c>, <c>neq</c>,
/// <c>in</c>, <c>not_in</c>). Names are checked against the catalog when a definition is validated; values cannot be,
/// and a value no data holds ("Bostn", "boston", "Premium") makes a condition match no one (or everyone, negated)
/// without an error. <paramref name="Metric"/> is null for a profile property, else the metric whose events carry it;
/// <paramref name="Window"/> is then the time the condition reads those events in (null: all time), a superset for the
/// conditions that read several ranges.
/// </summary>
public sealed record ValueProbe(string Path, string? Metric, string Property, IReadOnlyList<string> Values, Window? Window = null);

/// <summary>Finds every <see cref="ValueProbe"/> of a definition, with the JSON path of the filter's value.</summary>
public static class ValueProbes
{
    public static IReadOnlyList<ValueProbe> Collect(SegmentDefinition definition) => [.. Probes(definition.Condition, "condition")];

    private static IEnumerable<ValueProbe> Probes(Condition condition, string path) => condition switch
    {
        AllCondition all => all.Items.SelectMany((item, i) => Probes(item, $"{path}.all[{i}]")),
        AnyCondition any => any.Items.SelectMany((item, i) => Probes(item, $"{path}.any[{i}]")),
        NotCondition not => Probes(not.Inner, $"{path}.not"),
        PropertyCondition property => Probe(property.Filter, null, null, $"{path}.property.value"),
        EventCondition e => Where(e.Where, e.Metric, e.Window, $"{path}.event"),

        // The first event passing the filters is looked for over all time.
        FirstTimeCondition c => Where(c.Where, c.Metric, null, $"{path}.first_time"),
        SequenceCondition c => c.Steps.SelectMany((step, i) => Where(step.Where, step.Metric, c.Window, $"{path}.sequence.steps[{i}]")),
        StoppedCondition c => Where(c.Where, c.Metric, new LastDaysWindow(Math.Max(c.ToDaysAgo, c.RecentDays)), $"{path}.stopped"),
        RegularlyCondition c => Where(c.Where, c.Metric, new LastDaysWindow(PeriodDays(c.Period) * (c.Periods + 1)), $"{path}.regularly"),
        LastEventCondition c => Probe(c.Filter, c.Metric, null, $"{path}.last_event.value"),
        _ => [],
    };

    /// <summary>The most days one calendar period spans.</summary>
    private static int PeriodDays(Period period) => period switch
    {
        Period.Day => 1,
        Period.Week => 7,
        _ => 31,
    };

    private static IEnumerable<ValueProbe> Where(IReadOnlyList<PropertyFilter> where, string metric, Window? window, string path) =>
        where.SelectMany((filter, i) => Probe(filter, metric, window, $"{path}.where[{i}].value"));

    private static IEnumerable<ValueProbe> Probe(PropertyFilter filter, string? metric, Window? window, string path)
    {
        if (filter.IsEventValue || filter.Op is not (FilterOperator.Eq or FilterOperator.Neq or FilterOperator.In or FilterOperator.NotIn))
        {
            return [];
        }

        // Numbers and booleans are compared by their reading, not their text: a value no one has is no slip there.
        var texts = filter.Values.OfType<StringScalar>().Select(s => s.Value).Distinct(StringComparer.Ordinal).ToList();
        return texts.Count == 0 ? [] : [new ValueProbe(path, metric, filter.Name, texts, window)];
    }
}
