using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Core.Sql;

/// <summary>
/// What a candidate's change can do to the condition, as flags phase 1 returns per profile (OR-ed over the branches
/// it came from). A window edge moving across an event changes one count in one known direction, and a condition that
/// is monotone in that count can then move only one way: an event leaving the window of <c>count ≥ 1</c> can make a
/// member leave but never a non-member enter. So such a profile is a candidate only if it is a member now
/// (<see cref="IfMember"/>), or only if it is not (<see cref="IfNotMember"/>); most window-edge profiles are then
/// dropped by a look at stored membership instead of re-evaluated from their whole history.
/// </summary>
[Flags]
public enum ChangeDirection
{
    /// <summary>The condition can move either way: always a candidate.</summary>
    Any = 1,

    /// <summary>The condition can only turn false: a candidate only if a stored member.</summary>
    IfMember = 2,

    /// <summary>The condition can only turn true: a candidate only if not a stored member.</summary>
    IfNotMember = 4,
}

internal static partial class CandidateQuery
{
    /// <summary>
    /// The direction a change of one leaf's count (an event <paramref name="entering"/> its window or leaving it) can
    /// move the whole condition, from the leaf's polarity in it (+1: the condition never falls as the count rises, −1:
    /// never rises, 0: unknown).
    /// </summary>
    private static ChangeDirection EdgeEffect(int polarity, bool entering) =>
        (polarity * (entering ? 1 : -1)) switch
        {
            > 0 => ChangeDirection.IfNotMember,
            < 0 => ChangeDirection.IfMember,
            _ => ChangeDirection.Any,
        };

    /// <summary>
    /// Each event leaf's polarity in the condition: how the condition moves as the leaf's count of events rises (see
    /// <see cref="EdgeEffect"/>). AND and OR keep a polarity, NOT flips it. Leaves absent from the result (those that
    /// behavioural conditions derive) count as 0.
    /// </summary>
    internal static IReadOnlyDictionary<EventCondition, int> Polarities(Condition condition)
    {
        // By reference: two equal leaves in different places of the tree can have opposite polarities.
        var polarities = new Dictionary<EventCondition, int>(ReferenceEqualityComparer.Instance);
        Walk(condition, 1);
        return polarities;

        void Walk(Condition c, int sign)
        {
            switch (c)
            {
                case AllCondition all:
                    foreach (var item in all.Items)
                    {
                        Walk(item, sign);
                    }

                    break;
                case AnyCondition any:
                    foreach (var item in any.Items)
                    {
                        Walk(item, sign);
                    }

                    break;
                case NotCondition not:
                    Walk(not.Inner, -sign);
                    break;
                case EventCondition leaf:
                    polarities[leaf] = sign * LeafPolarity(leaf);
                    break;
                default:
                    // Properties, references, lists, buckets: not counts of events. Behavioural conditions keep their
                    // own reasoning (their derived leaves are not in this tree).
                    break;
            }
        }
    }

    /// <summary>
    /// How the leaf's truth moves as its set of events grows: a count or a distinct count never falls when events are
    /// added, so a lower bound (≥, &gt;, ≠ 0) is +1 and an upper bound (≤, &lt;, = 0) −1. Sums, averages, minima and
    /// maxima can move either way (values may be negative, an average of more events may fall): 0.
    /// </summary>
    private static int LeafPolarity(EventCondition leaf)
    {
        if (leaf.Measure.Kind is not (MeasureKind.Count or MeasureKind.Distinct))
        {
            return 0;
        }

        return leaf.Op switch
        {
            Comparison.Gt or Comparison.Gte => 1,
            Comparison.Lt or Comparison.Lte => -1,
            Comparison.Eq when leaf.Value <= 0 => -1,
            Comparison.Neq when leaf.Value == 0 => 1,
            _ => 0,
        };
    }
}
