namespace SegmentMcp.Core.Dsl;

/// <summary>What a segment's own condition reads (referenced segments are read through their stored membership).</summary>
public sealed class SegmentReads
{
    private SegmentReads(IReadOnlyList<EventCondition> events, IReadOnlyList<PropertyFilter> properties, IReadOnlyList<string> references)
    {
        Events = events;
        Properties = properties;
        References = references;
    }

    public IReadOnlyList<EventCondition> Events { get; }

    public IReadOnlyList<PropertyFilter> Properties { get; }

    /// <summary>Ids of the segments referenced directly.</summary>
    public IReadOnlyList<string> References { get; }

    public static SegmentReads Of(Condition condition)
    {
        var events = new List<EventCondition>();
        var properties = new List<PropertyFilter>();
        var references = new SortedSet<string>(StringComparer.Ordinal);
        Walk(condition);
        return new SegmentReads(events, properties, [.. references]);

        void Walk(Condition c)
        {
            switch (c)
            {
                case AllCondition all:
                    all.Items.ToList().ForEach(Walk);
                    break;
                case AnyCondition any:
                    any.Items.ToList().ForEach(Walk);
                    break;
                case NotCondition not:
                    Walk(not.Inner);
                    break;
                case EventCondition e:
                    events.Add(e);
                    break;
                case PropertyCondition p:
                    properties.Add(p.Filter);
                    break;
                case SegmentReferenceCondition r:
                    references.Add(r.SegmentId);
                    break;
            }
        }
    }

    /// <summary>
    /// Whether the condition holds for a profile with no events and no properties (then merely entering the universe
    /// can make a profile a member). Referenced segments are looked up in <paramref name="references"/>.
    /// </summary>
    public static bool HoldsForEmptyProfile(Condition condition, IReadOnlyDictionary<string, SegmentDefinition> references) => condition switch
    {
        AllCondition all => all.Items.All(c => HoldsForEmptyProfile(c, references)),
        AnyCondition any => any.Items.Any(c => HoldsForEmptyProfile(c, references)),
        NotCondition not => !HoldsForEmptyProfile(not.Inner, references),
        EventCondition e => HoldsForNoEvents(e),
        PropertyCondition p => p.Filter.Op == FilterOperator.IsNotSet,
        SegmentReferenceCondition r => references.TryGetValue(r.SegmentId, out var referenced)
            ? HoldsForEmptyProfile(referenced.Condition, references) == r.Member
            : throw new InvalidOperationException($"Segment '{r.SegmentId}' is not resolved."),
        _ => throw new InvalidOperationException($"Unknown condition {condition.GetType().Name}."),
    };

    /// <summary>The value of an event leaf for a profile with no matching events.</summary>
    public static bool HoldsForNoEvents(EventCondition e) =>
        e.Measure.Kind is MeasureKind.Count or MeasureKind.Sum or MeasureKind.Distinct && Compare(0, e.Op, e.Value);

    private static bool Compare(double measured, Comparison op, double value) => op switch
    {
        Comparison.Eq => measured == value,
        Comparison.Neq => measured != value,
        Comparison.Gt => measured > value,
        Comparison.Gte => measured >= value,
        Comparison.Lt => measured < value,
        _ => measured <= value,
    };
}
