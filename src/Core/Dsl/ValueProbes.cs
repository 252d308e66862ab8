using System.Globalization;

namespace SegmentMcp.Core.Dsl;

/// <summary>
/// The text values one filter of a definition compares a property with for equality (<c>eq</c>, <c>neq</c>,
/// <c>in</c>, <c>not_in</c>). Names are checked against the catalog when a definition is validated; values cannot be,
/// and a value no data holds ("Bostn", "boston", "Premium") makes a condition match no one (or everyone, negated)
/// without an error. <paramref name="Metric"/> is null for a profile property, else the metric whose events carry it;
/// <paramref name="Window"/> is then the time the condition reads those events in (null: all time), a superset for the
/// conditions that read several ranges. <paramref name="IgnoreCase"/>: the filter compares without case, so a value the
/// data holds in any case is no slip.
/// </summary>
public sealed record ValueProbe(string Path, string? Metric, string Property, IReadOnlyList<string> Values, Window? Window = null, bool IgnoreCase = false);

/// <summary>What a comparison reads a property's values as; a value of another kind never passes it.</summary>
public enum ValueKind
{
    Number,
    Date,
}

/// <summary>
/// A comparison that reads a property's values as numbers (<c>gt</c>, <c>between</c>, a <c>sum</c> measure, …) or as
/// dates (<c>before</c>, <c>in_last_days</c>, …). On a property whose values are all of another kind ("premium",
/// epoch seconds) it holds for no one, again without an error. <paramref name="Operator"/> is the operator or measure
/// as written, <paramref name="Value"/> what it compares with; the rest as in <see cref="ValueProbe"/>.
/// </summary>
public sealed record KindProbe(string Path, string? Metric, string Property, ValueKind Kind, string Operator, string Value, Window? Window = null);

/// <summary>Finds every <see cref="ValueProbe"/> and <see cref="KindProbe"/> of a definition, with its JSON path.</summary>
public static class ValueProbes
{
    public static IReadOnlyList<ValueProbe> Collect(SegmentDefinition definition) => [.. Filters(definition.Condition, "condition").SelectMany(Probe)];

    public static IReadOnlyList<KindProbe> CollectKinds(SegmentDefinition definition) =>
        [.. Filters(definition.Condition, "condition").SelectMany(KindOf), .. Measures(definition.Condition, "condition")];

    /// <summary>Every <c>in_list</c> condition's list id, with the JSON path of the id.</summary>
    public static IReadOnlyList<(string Path, string ListId)> ListReferences(SegmentDefinition definition) => [.. Lists(definition.Condition, "condition")];

    private static IEnumerable<(string Path, string ListId)> Lists(Condition condition, string path) => condition switch
    {
        AllCondition all => all.Items.SelectMany((item, i) => Lists(item, $"{path}.all[{i}]")),
        AnyCondition any => any.Items.SelectMany((item, i) => Lists(item, $"{path}.any[{i}]")),
        NotCondition not => Lists(not.Inner, $"{path}.not"),
        InListCondition list => [($"{path}.in_list.id", list.ListId)],
        _ => [],
    };

    /// <summary>A filter on a property, where it stands (the JSON path of its object) and the events it reads.</summary>
    private sealed record Located(PropertyFilter Filter, string? Metric, Window? Window, string Path);

    private static IEnumerable<Located> Filters(Condition condition, string path) => condition switch
    {
        AllCondition all => all.Items.SelectMany((item, i) => Filters(item, $"{path}.all[{i}]")),
        AnyCondition any => any.Items.SelectMany((item, i) => Filters(item, $"{path}.any[{i}]")),
        NotCondition not => Filters(not.Inner, $"{path}.not"),
        PropertyCondition property => [new Located(property.Filter, null, null, $"{path}.property")],
        EventCondition e => Where(e.Where, e.Metric, e.Window, $"{path}.event"),

        // The first event passing the filters is looked for over all time.
        FirstTimeCondition c => Where(c.Where, c.Metric, null, $"{path}.first_time"),
        SequenceCondition c => c.Steps.SelectMany((step, i) => Where(step.Where, step.Metric, c.Window, $"{path}.sequence.steps[{i}]")),
        StoppedCondition c => Where(c.Where, c.Metric, new LastDaysWindow(Math.Max(c.ToDaysAgo, c.RecentDays)), $"{path}.stopped"),
        RegularlyCondition c => Where(c.Where, c.Metric, new LastDaysWindow(PeriodDays(c.Period) * (c.Periods + 1)), $"{path}.regularly"),
        LastEventCondition c => [new Located(c.Filter, c.Metric, null, $"{path}.last_event")],
        _ => [],
    };

    private static IEnumerable<KindProbe> Measures(Condition condition, string path) => condition switch
    {
        AllCondition all => all.Items.SelectMany((item, i) => Measures(item, $"{path}.all[{i}]")),
        AnyCondition any => any.Items.SelectMany((item, i) => Measures(item, $"{path}.any[{i}]")),
        NotCondition not => Measures(not.Inner, $"{path}.not"),
        EventCondition { Measure: { Property: { } property, Kind: not (MeasureKind.Count or MeasureKind.Distinct) } measure } e
            when property != PropertyFilter.ValueProperty =>
            [new KindProbe($"{path}.event.measure", e.Metric, property, ValueKind.Number, measure.Kind.Name(), property, e.Window)],
        _ => [],
    };

    /// <summary>The most days one calendar period spans.</summary>
    private static int PeriodDays(Period period) => period switch
    {
        Period.Day => 1,
        Period.Week => 7,
        _ => 31,
    };

    private static IEnumerable<Located> Where(IReadOnlyList<PropertyFilter> where, string metric, Window? window, string path) =>
        where.Select((filter, i) => new Located(filter, metric, window, $"{path}.where[{i}]"));

    private static IEnumerable<ValueProbe> Probe(Located located)
    {
        var filter = located.Filter;
        if (filter.IsEventValue || filter.Op is not (FilterOperator.Eq or FilterOperator.Neq or FilterOperator.In or FilterOperator.NotIn))
        {
            return [];
        }

        // Numbers and booleans are compared by their reading, not their text: a value no one has is no slip there.
        var texts = filter.Values.OfType<StringScalar>().Select(s => s.Value).Distinct(StringComparer.Ordinal).ToList();
        return texts.Count == 0 ? [] : [new ValueProbe($"{located.Path}.value", located.Metric, filter.Name, texts, located.Window, filter.IgnoreCase)];
    }

    private static IEnumerable<KindProbe> KindOf(Located located)
    {
        var filter = located.Filter;
        ValueKind? kind = filter.Op switch
        {
            FilterOperator.Gt or FilterOperator.Gte or FilterOperator.Lt or FilterOperator.Lte or FilterOperator.Between => ValueKind.Number,
            FilterOperator.Before or FilterOperator.After or FilterOperator.InLastDays or FilterOperator.MoreThanDaysAgo
                or FilterOperator.InNextDays or FilterOperator.AnniversaryInNextDays => ValueKind.Date,
            _ => null,
        };

        // $value is a number column: it has no other kind to hold.
        return kind is null || filter.IsEventValue
            ? []
            : [new KindProbe($"{located.Path}.op", located.Metric, filter.Name, kind.Value, filter.Op.Name(), string.Join(", ", filter.Values.Select(Text)), located.Window)];
    }

    private static string Text(Scalar scalar) => scalar switch
    {
        StringScalar s => s.Value,
        NumberScalar n => n.Value.ToString(CultureInfo.InvariantCulture),
        BoolScalar b => b.Value ? "true" : "false",
        _ => string.Empty,
    };
}
