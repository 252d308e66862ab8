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

/// <summary>One value of an event property among members' events: the events, the members who had one, their share of all members.</summary>
public sealed record EventBreakdownValue(object? Value, long Events, long Profiles, double Share);

/// <summary>
/// One event property among the members' events of a metric in the last days: the events, the members who had any and
/// those who had none, the values carried by the most members and, for number values ($value, an amount), their sum
/// and spread.
/// </summary>
public sealed record EventBreakdownView(
    string Metric,
    string Property,
    int LastDays,
    long Events,
    long Profiles,
    long WithoutEvents,
    long DistinctValues,
    IReadOnlyList<EventBreakdownValue> TopValues,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] EventNumberSummary? Numbers);

/// <summary>
/// A segment's members broken down by profile properties and event properties: a saved one's as of its last
/// evaluation, a draft's (no segment id) as of the time it was evaluated at.
/// </summary>
public sealed record SegmentBreakdown(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SegmentId,
    long Members,
    IReadOnlyList<PropertyBreakdownView> Properties,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<EventBreakdownView>? Events,
    DateTime? EvaluatedAt)
{
    /// <summary>Properties one breakdown reads: each is a read of its trait history for the members.</summary>
    public const int MaxProperties = 10;

    /// <summary>Event properties one breakdown reads: each is a statement over its metric's events in its days.</summary>
    public const int MaxEvents = 5;

    public const int DefaultTop = 10;

    public const int MaxTop = 50;

    public const int DefaultLastDays = 30;

    public const int MaxLastDays = 3_650;

    /// <summary>
    /// The breakdown of <paramref name="saved"/> as <paramref name="request"/> asks (known names, checked by the
    /// caller), each member's values and events as of the segment's last evaluation, the same time its members are from.
    /// </summary>
    public static async Task<SegmentBreakdown> ReadAsync(
        IMembershipReader membership, string tenant, SavedSegment saved, BreakdownRequest request, CancellationToken cancellationToken)
    {
        var members = await membership.CountAsync(tenant, saved.Id, cancellationToken).ConfigureAwait(false);
        var breakdown = await membership.BreakdownAsync(tenant, saved.Id, request, saved.EvaluatedAt ?? DateTime.UtcNow, cancellationToken).ConfigureAwait(false);
        return Of(saved.Id, members, breakdown, request, saved.EvaluatedAt);
    }

    /// <summary>A draft definition's members at <paramref name="now"/> broken down the same way (no segment id).</summary>
    public static async Task<SegmentBreakdown> ReadAsync(
        DefinitionService definitions, ValidatedDefinition definition, BreakdownRequest request, DateTime now, CancellationToken cancellationToken)
    {
        var (members, breakdown) = await definitions.BreakdownAsync(definition, now, request, cancellationToken).ConfigureAwait(false);
        return Of(null, members, breakdown, request, now);
    }

    private static SegmentBreakdown Of(string? segmentId, long members, BreakdownResult breakdown, BreakdownRequest request, DateTime? evaluatedAt) =>
        new(
            segmentId,
            members,
            [.. breakdown.Properties.Select(b => new PropertyBreakdownView(
                b.Property,
                b.WithValue,
                Math.Max(0, members - b.WithValue),
                b.DistinctValues,
                [.. b.TopValues.Select(v => new BreakdownValue(v.Value, v.Count, Share(v.Count, members)))],
                b.WithValue - b.TopValues.Sum(v => v.Count),
                b.Numbers))],
            request.Events.Count == 0
                ? null
                : [.. breakdown.Events.Select(e => new EventBreakdownView(
                    e.Metric,
                    e.Property,
                    e.LastDays,
                    e.Events,
                    e.Profiles,
                    Math.Max(0, members - e.Profiles),
                    e.DistinctValues,
                    [.. e.TopValues.Select(v => new EventBreakdownValue(v.Value, v.Events, v.Profiles, Share(v.Profiles, members)))],
                    e.Numbers))],
            evaluatedAt);

    /// <summary>
    /// Why <paramref name="asked"/> names no metric's event property of this tenant ("metric: …" or "property: …",
    /// saying what the name is instead or the closest names); null when it does.
    /// </summary>
    public static string? UnknownName(EventBreakdownRequest asked, TenantCatalog catalog)
    {
        if (!catalog.HasMetric(asked.Metric))
        {
            return $"metric: no metric '{asked.Metric}' in this workspace.{catalog.MetricElsewhere(asked.Metric, condition: false) ?? Suggestions.DidYouMean(asked.Metric, catalog.Metrics)}";
        }

        // $value is every event's own number: any metric has it (events without one are left out of the numbers).
        var properties = catalog.EventProperties(asked.Metric);
        return properties.Contains(asked.Property) || asked.Property == PropertyFilter.ValueProperty
            ? null
            : $"property: '{asked.Metric}' events have no property '{asked.Property}'.{catalog.EventPropertyElsewhere(asked.Property, asked.Metric, condition: false) ?? (properties.Count == 0 ? " They carry no properties." : Suggestions.DidYouMean(asked.Property, properties))}";
    }

    private static double Share(long count, long members) => members == 0 ? 0 : Math.Round((double)count / members, 4);
}
