namespace SegmentMcp.Core.Dsl;

/// <summary>What a segment's own condition reads (referenced segments are read through their stored membership).</summary>
public sealed class SegmentReads
{
    private SegmentReads(
        IReadOnlyList<EventCondition> events,
        IReadOnlyList<PropertyFilter> properties,
        IReadOnlyList<string> references,
        IReadOnlyList<Condition> behavioural,
        IReadOnlyList<string> lists)
    {
        Events = events;
        Properties = properties;
        References = references;
        Behavioural = behavioural;
        Lists = lists;
    }

    public IReadOnlyList<EventCondition> Events { get; }

    public IReadOnlyList<PropertyFilter> Properties { get; }

    /// <summary>Ids of the segments referenced directly.</summary>
    public IReadOnlyList<string> References { get; }

    /// <summary>The behavioural leaves (first_time, sequence, stopped, restarted, regularly, last_event), in order.</summary>
    public IReadOnlyList<Condition> Behavioural { get; }

    /// <summary>Ids of the static lists read by in_list.</summary>
    public IReadOnlyList<string> Lists { get; }

    public static SegmentReads Of(Condition condition)
    {
        var events = new List<EventCondition>();
        var properties = new List<PropertyFilter>();
        var references = new SortedSet<string>(StringComparer.Ordinal);
        var behavioural = new List<Condition>();
        var lists = new SortedSet<string>(StringComparer.Ordinal);
        Walk(condition);
        return new SegmentReads(events, properties, [.. references], behavioural, [.. lists]);

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
                case InListCondition l:
                    lists.Add(l.ListId);
                    break;
                case RandomBucketCondition:
                    break;
                default:
                    behavioural.Add(c);
                    break;
            }
        }
    }

    /// <summary>
    /// Whether the condition can hold for a profile with no events and no properties (then merely entering the universe
    /// can make a profile a member). Referenced segments are looked up in <paramref name="references"/>.
    /// </summary>
    public static bool HoldsForEmptyProfile(Condition condition, IReadOnlyDictionary<string, SegmentDefinition> references) =>
        EmptyProfileValue(condition, references) != false;

    /// <summary>
    /// Whether a profile that appears in the universe can be a member though nothing the condition reads itself, nor
    /// the log of a segment it references, says so. A referenced segment that holds for an empty profile may exclude
    /// the new profile for data only that segment reads, and its log then has no entry for it (the profile was no
    /// member before it existed and is none now): such a reference is taken as either value. One that is false for an
    /// empty profile takes the new profile in only with an entry in its log, so it counts as false here.
    /// </summary>
    public static bool MayHoldForNewProfile(Condition condition, IReadOnlyDictionary<string, SegmentDefinition> references) =>
        EmptyProfileValue(condition, references, new Dictionary<string, bool?>(StringComparer.Ordinal), referencesByLog: true) != false;

    /// <summary>
    /// The condition's value for a profile with no events and no properties: true, false, or null when it depends on
    /// the profile itself (its id's random bucket, its being on a list).
    /// </summary>
    public static bool? EmptyProfileValue(Condition condition, IReadOnlyDictionary<string, SegmentDefinition> references) =>
        EmptyProfileValue(condition, references, new Dictionary<string, bool?>(StringComparer.Ordinal));

    /// <param name="known">Each referenced segment's value, computed once (references can fan out geometrically).</param>
    /// <param name="referencesByLog">The condition's own references as <see cref="MayHoldForNewProfile"/> takes them (theirs stay exact).</param>
    private static bool? EmptyProfileValue(Condition condition, IReadOnlyDictionary<string, SegmentDefinition> references, Dictionary<string, bool?> known, bool referencesByLog = false)
    {
        switch (condition)
        {
            case AllCondition or AnyCondition:
                {
                    // ALL is false at the first false item, ANY true at the first true one; otherwise an unknown item
                    // leaves it unknown.
                    var isAll = condition is AllCondition;
                    var decisive = !isAll;
                    var unknown = false;
                    foreach (var item in isAll ? ((AllCondition)condition).Items : ((AnyCondition)condition).Items)
                    {
                        var value = EmptyProfileValue(item, references, known, referencesByLog);
                        if (value == decisive)
                        {
                            return decisive;
                        }

                        unknown |= value is null;
                    }

                    return unknown ? null : !decisive;
                }

            case NotCondition not:
                return !EmptyProfileValue(not.Inner, references, known, referencesByLog);
            case EventCondition e:
                return HoldsForNoEvents(e);
            case PropertyCondition p:
                return p.Filter.Op == FilterOperator.IsNotSet;
            case SegmentReferenceCondition r:
                if (!known.TryGetValue(r.SegmentId, out var inner))
                {
                    inner = known[r.SegmentId] = references.TryGetValue(r.SegmentId, out var referenced)
                        ? EmptyProfileValue(referenced.Condition, references, known)
                        : throw new InvalidOperationException($"Segment '{r.SegmentId}' is not resolved.");
                }

                return inner is null || (referencesByLog && inner == true) ? null : inner == r.Member;
            case RandomBucketCondition or InListCondition:
                return null;
            default:
                return HoldsForNoEvents(condition);
        }
    }

    /// <summary>The value of a behavioural leaf for a profile with none of the events it reads.</summary>
    public static bool HoldsForNoEvents(Condition condition) => condition switch
    {
        EventCondition e => HoldsForNoEvents(e),
        RegularlyCondition r => Compare(0, r.Op, r.Value),
        LastEventCondition l => l.Filter.Op == FilterOperator.IsNotSet,
        FirstTimeCondition or SequenceCondition or StoppedCondition or RestartedCondition => false,
        _ => throw new InvalidOperationException($"Unknown condition {condition.GetType().Name}."),
    };

    /// <summary>The value of an event leaf for a profile with no matching events.</summary>
    public static bool HoldsForNoEvents(EventCondition e) =>
        e.Measure.Kind is MeasureKind.Count or MeasureKind.Sum or MeasureKind.Distinct && CompareMeasure(e.Measure.Kind, 0, e.Op, e.Value);

    /// <summary>
    /// How far a sum or an average may lie from the compared value and still equal it: 10⁻⁹ of the value, at least
    /// 10⁻⁹. Floating-point addition depends on the order of the rows (0.1 + 0.2 + 0.3 is 0.6000000000000001 one way
    /// and 0.6 another), and the engine's order differs between evaluations of the same data; 33.33 + 33.33 + 33.34
    /// must equal 100 in all of them, or a profile would enter and exit on its own.
    /// </summary>
    public static double MeasureTolerance(double value) => 1e-9 * Math.Max(1, Math.Abs(value));

    /// <summary>Whether a measure's kind is compared with <see cref="MeasureTolerance"/>: the ones that add values.</summary>
    public static bool ComparedWithTolerance(MeasureKind kind) => kind is MeasureKind.Sum or MeasureKind.Avg;

    /// <summary>An event condition's measure against its comparison, sums and averages within <see cref="MeasureTolerance"/>.</summary>
    public static bool CompareMeasure(MeasureKind kind, double measured, Comparison op, double value)
    {
        if (!ComparedWithTolerance(kind))
        {
            return Compare(measured, op, value);
        }

        var tolerance = MeasureTolerance(value);
        var (below, above) = (value - tolerance, value + tolerance);
        return op switch
        {
            Comparison.Eq => measured >= below && measured <= above,
            Comparison.Neq => measured < below || measured > above,
            Comparison.Gt => measured > above,
            Comparison.Gte => measured >= below,
            Comparison.Lt => measured < below,
            _ => measured <= above,
        };
    }

    /// <summary>A measure against a condition's comparison.</summary>
    public static bool Compare(double measured, Comparison op, double value) => op switch
    {
        Comparison.Eq => measured == value,
        Comparison.Neq => measured != value,
        Comparison.Gt => measured > value,
        Comparison.Gte => measured >= value,
        Comparison.Lt => measured < value,
        _ => measured <= value,
    };
}
