using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Tests.Dsl;

public sealed class SuggestionsTests
{
    private static readonly string[] SegmentIds =
    [
        "abandoned-carts-this-week-2102", "big-spenders-this-quarter-1caa", "boston-buyers-2dfc", "lapsed-premium-customers-ec7a",
    ];

    [Theory]
    [InlineData("big-spenders", " Did you mean 'big-spenders-this-quarter-1caa'?")]
    [InlineData("big-spenders-this-quartr-1caa", " Did you mean 'big-spenders-this-quarter-1caa'?")]
    [InlineData("BOSTON-BUYERS-2DFC", " Did you mean 'boston-buyers-2dfc'?")]
    [InlineData("boston-buyers-xxxx", " Did you mean 'boston-buyers-2dfc'?")]
    [InlineData("nope", "")]
    [InlineData("winter-sale-2025", "")]
    public void Ids_are_suggested_only_when_they_resemble_the_one_asked_for(string asked, string expected) =>
        Assert.Equal(expected, Suggestions.DidYouMeanId(asked, SegmentIds));

    [Theory]
    [InlineData("Big spenders this quarter", " Did you mean 'big-spenders-this-quarter-1caa' (named \"Big spenders this quarter\")?")]
    [InlineData("big spenders", " Did you mean 'big-spenders-this-quarter-1caa' (named \"Big spenders this quarter\")?")]
    [InlineData("boston-buyers-xxxx", " Did you mean 'boston-buyers-2dfc' (named \"Boston buyers\")?")]
    [InlineData("customers", " Did you mean 'lapsed-premium-customers-ec7a' (named \"Lapsed premium customers\") or 'vip-customers-77aa' (named \"VIP customers\")?")]
    [InlineData("The VIP customers segment", " Did you mean 'vip-customers-77aa' (named \"VIP customers\")?")]
    [InlineData("zz", "")]
    [InlineData("winter sale", "")]
    public void Segments_are_suggested_by_a_resembling_id_or_by_their_name(string asked, string expected)
    {
        (string, string)[] segments =
        [
            ("abandoned-carts-this-week-2102", "Abandoned carts this week"), ("big-spenders-this-quarter-1caa", "Big spenders this quarter"),
            ("boston-buyers-2dfc", "Boston buyers"), ("lapsed-premium-customers-ec7a", "Lapsed premium customers"), ("vip-customers-77aa", "VIP customers"),
        ];
        Assert.Equal(expected, Suggestions.DidYouMeanNamed(asked, segments));
    }

    [Fact]
    public void Names_get_the_closest_three_whatever_their_distance()
    {
        // DSL names (metrics, operators, fields) are few and short: the three closest always help.
        var hint = Suggestions.DidYouMean("nope", SegmentIds);
        Assert.StartsWith(" Did you mean 'boston-buyers-2dfc', ", hint, StringComparison.Ordinal);
        Assert.Equal(3, SegmentIds.Count(id => hint.Contains($"'{id}'", StringComparison.Ordinal)));
    }
}
