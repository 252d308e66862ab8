using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Tests.Sql;

/// <summary>How phase 1 reads a leaf's direction in the whole condition (which side of membership an edge can move).</summary>
public sealed class CandidatePolarityTests
{
    private static EventCondition Leaf(Comparison op, double value, MeasureKind measure = MeasureKind.Count) =>
        new("Placed Order", [], new LastDaysWindow(7), new Measure(measure, measure == MeasureKind.Count ? null : PropertyFilter.ValueProperty), op, value);

    [Fact]
    public void Lower_bounds_on_counts_rise_with_the_count_and_upper_bounds_fall()
    {
        var atLeast = Leaf(Comparison.Gte, 3);
        var more = Leaf(Comparison.Gt, 0);
        var notZero = Leaf(Comparison.Neq, 0);
        var atMost = Leaf(Comparison.Lte, 2);
        var zero = Leaf(Comparison.Eq, 0);
        var exactly = Leaf(Comparison.Eq, 2);
        var distinct = Leaf(Comparison.Gte, 2, MeasureKind.Distinct);
        var sum = Leaf(Comparison.Gt, 500, MeasureKind.Sum);

        var polarities = CandidateQuery.Polarities(new AllCondition([atLeast, more, notZero, atMost, zero, exactly, distinct, sum]));

        Assert.Equal(1, polarities[atLeast]);
        Assert.Equal(1, polarities[more]);
        Assert.Equal(1, polarities[notZero]);
        Assert.Equal(-1, polarities[atMost]);
        Assert.Equal(-1, polarities[zero]);
        Assert.Equal(0, polarities[exactly]);
        Assert.Equal(1, polarities[distinct]);
        Assert.Equal(0, polarities[sum]);
    }

    [Fact]
    public void Not_flips_a_leaf_and_equal_leaves_in_different_places_keep_their_own()
    {
        var inside = Leaf(Comparison.Gte, 1);
        var outside = Leaf(Comparison.Gte, 1);
        Assert.Equal(inside, outside);

        var polarities = CandidateQuery.Polarities(new AnyCondition([inside, new NotCondition(new AllCondition([new NotCondition(new NotCondition(outside))]))]));

        Assert.Equal(1, polarities[inside]);
        Assert.Equal(-1, polarities[outside]);
    }
}
