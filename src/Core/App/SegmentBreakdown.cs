using System.Text.Json.Serialization;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.App;

/// <summary>One of a property's most common values among a segment's members: count and share (a fraction of all members).</summary>
public sealed record BreakdownValue(object? Value, long Count, double Share);

/// <summary>One property among a segment's members: who has a value, its most common values, the rest, number spread.</summary>
public sealed record PropertyBreakdownView(
    string Property,
    long WithValue,
    long WithoutValue,
    long DistinctValues,
    IReadOnlyList<BreakdownValue> TopValues,
    long Other,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] NumberSummary? Numbers);

/// <summary>
/// A segment's members broken down by profile properties: a saved one's as of its last evaluation, a draft's (no
/// segment id) as of the time it was evaluated at.
/// </summary>
public sealed record SegmentBreakdown(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SegmentId,
    long Members,
    IReadOnlyList<PropertyBreakdownView> Properties,
    DateTime? EvaluatedAt)
{
    /// <summary>Properties one breakdown reads: each is a read of its trait history for the members.</summary>
    public const int MaxProperties = 10;

    public const int DefaultTop = 10;

    public const int MaxTop = 50;

    /// <summary>
    /// The breakdown of <paramref name="saved"/> by <paramref name="properties"/> (known names, checked by the caller),
    /// each member's values as of the segment's last evaluation, the same time its members are from.
    /// </summary>
    public static async Task<SegmentBreakdown> ReadAsync(
        IMembershipReader membership, string tenant, SavedSegment saved, IReadOnlyList<string> properties, int top, CancellationToken cancellationToken)
    {
        var members = await membership.CountAsync(tenant, saved.Id, cancellationToken).ConfigureAwait(false);
        var breakdowns = await membership.BreakdownAsync(tenant, saved.Id, properties, saved.EvaluatedAt ?? DateTime.UtcNow, top, cancellationToken).ConfigureAwait(false);
        return Of(saved.Id, members, breakdowns, saved.EvaluatedAt);
    }

    /// <summary>A draft definition's members at <paramref name="now"/> broken down the same way (no segment id).</summary>
    public static async Task<SegmentBreakdown> ReadAsync(
        DefinitionService definitions, ValidatedDefinition definition, IReadOnlyList<string> properties, DateTime now, int top, CancellationToken cancellationToken)
    {
        var (members, breakdowns) = await definitions.BreakdownAsync(definition, now, properties, top, cancellationToken).ConfigureAwait(false);
        return Of(null, members, breakdowns, now);
    }

    private static SegmentBreakdown Of(string? segmentId, long members, IReadOnlyList<PropertyBreakdown> breakdowns, DateTime? evaluatedAt) =>
        new(
            segmentId,
            members,
            [.. breakdowns.Select(b => new PropertyBreakdownView(
                b.Property,
                b.WithValue,
                Math.Max(0, members - b.WithValue),
                b.DistinctValues,
                [.. b.TopValues.Select(v => new BreakdownValue(v.Value, v.Count, Share(v.Count, members)))],
                b.WithValue - b.TopValues.Sum(v => v.Count),
                b.Numbers))],
            evaluatedAt);

    private static double Share(long count, long members) => members == 0 ? 0 : Math.Round((double)count / members, 4);
}
