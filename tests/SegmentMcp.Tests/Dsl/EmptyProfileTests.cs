using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Tests.Dsl;

/// <summary>
/// What a condition says about a profile with no data (does entering the universe alone make it a member?), and the
/// evaluator's variant for new profiles, which takes a referenced segment that holds for empty profiles as either value.
/// </summary>
public sealed class EmptyProfileTests
{
    private static readonly SegmentDefinition LightSpenders =
        new("Light spenders", null, new EventCondition("Placed Order", [], new LastDaysWindow(2), new Measure(MeasureKind.Sum, PropertyFilter.ValueProperty), Comparison.Lte, 50));

    private static readonly SegmentDefinition Buyers =
        new("Buyers", null, new EventCondition("Placed Order", [], null, Measure.Count, Comparison.Gte, 1));

    private static readonly Dictionary<string, SegmentDefinition> References = new(StringComparer.Ordinal) { ["light"] = LightSpenders, ["buyers"] = Buyers };

    [Theory]
    // Holds for empty profiles: a new one is a member of it until its data says otherwise, which its log does not record.
    [InlineData("light", false, false, true)]
    [InlineData("light", true, true, true)]
    // False for empty profiles: a new profile joins it only with an entry in its log.
    [InlineData("buyers", false, true, true)]
    [InlineData("buyers", true, false, false)]
    public void A_reference_to_a_segment_true_for_empty_profiles_may_hold_either_way_for_a_new_profile(string segment, bool member, bool holdsForEmpty, bool mayHoldForNew)
    {
        var reference = new SegmentReferenceCondition(segment, member);

        Assert.Equal(holdsForEmpty, SegmentReads.HoldsForEmptyProfile(reference, References));
        Assert.Equal(mayHoldForNew, SegmentReads.MayHoldForNewProfile(reference, References));
    }

    [Fact]
    public void A_condition_of_its_own_that_fails_empty_profiles_still_decides()
    {
        // Not a light spender and a buyer: the buyer part needs an order, which the condition's own rules see.
        var condition = new AllCondition([new SegmentReferenceCondition("light", Member: false), Buyers.Condition]);

        Assert.False(SegmentReads.MayHoldForNewProfile(condition, References));
        Assert.True(SegmentReads.MayHoldForNewProfile(new NotCondition(condition), References));
    }
}
