using System.Text.Json;

namespace SegmentMcp.Core.Dsl;

/// <summary>
/// The names a tenant's data has: its metrics with the event property names seen on each, and its profile property
/// names. Definitions are validated against it so that a typo becomes an error with suggestions, not an empty segment.
/// </summary>
public sealed class TenantCatalog
{
    private readonly Dictionary<string, IReadOnlySet<string>> metricProperties;

    public TenantCatalog(IReadOnlyDictionary<string, IReadOnlyCollection<string>> metricProperties, IEnumerable<string> profileProperties)
    {
        this.metricProperties = metricProperties.ToDictionary(
            pair => pair.Key,
            pair => (IReadOnlySet<string>)pair.Value.ToHashSet(StringComparer.Ordinal),
            StringComparer.Ordinal);
        ProfileProperties = profileProperties.ToHashSet(StringComparer.Ordinal);
    }

    public static TenantCatalog Empty { get; } = new(new Dictionary<string, IReadOnlyCollection<string>>(), []);

    public IReadOnlyCollection<string> Metrics => metricProperties.Keys;

    public IReadOnlySet<string> ProfileProperties { get; }

    public bool HasMetric(string metric) => metricProperties.ContainsKey(metric);

    /// <summary>The event property names seen on <paramref name="metric"/> (empty for an unknown metric).</summary>
    public IReadOnlySet<string> EventProperties(string metric) =>
        metricProperties.TryGetValue(metric, out var properties) ? properties : new HashSet<string>();

    /// <summary>
    /// For a name given as a profile property that is none: what it is instead (a metric, or a property of some
    /// metrics' events) and the condition that tests it, as a sentence to append; null when it is nothing known.
    /// </summary>
    /// <param name="name">The name given.</param>
    /// <param name="condition">Whether the name was given in a condition (the sentence then shows the condition that tests it) or where only profile properties are listed.</param>
    public string? ProfilePropertyElsewhere(string name, bool condition = true)
    {
        if (HasMetric(name))
        {
            return !condition ? $" '{name}' is a metric, not a profile property." : $" '{name}' is a metric, not a profile property: an event condition tests it, e.g. {{\"event\": {{\"metric\": {Json(name)}, \"window\": {{\"last_days\": 30}}, \"op\": \"gte\", \"value\": 1}}}}.";
        }

        var metrics = MetricsWithProperty(name);
        return metrics.Count == 0 ? null
            : !condition ? $" '{name}' is a property of {EventsOf(metrics)}, not of profiles."
            : $" '{name}' is a property of {EventsOf(metrics)}, not of profiles: an event condition's where filter tests it, e.g. {{\"event\": {{\"metric\": {Json(metrics[0])}, \"where\": [{{\"name\": {Json(name)}, \"op\": \"eq\", \"value\": \"…\"}}], \"op\": \"gte\", \"value\": 1}}}}.";
    }

    /// <summary>
    /// For a name given as a property of <paramref name="metric"/>'s events that is none: the other metrics whose
    /// events have it, or that it is a profile property (tested by a property condition); null when neither.
    /// </summary>
    public string? EventPropertyElsewhere(string name, string metric, bool condition = true)
    {
        var metrics = MetricsWithProperty(name);
        if (metrics.Count > 0)
        {
            return $" '{name}' is a property of {EventsOf(metrics)}, not of '{metric}' events.";
        }

        if (condition && name.Trim().TrimStart('$', '_').ToLowerInvariant() is "value" or "event_value" or "numeric_value")
        {
            return $" Did you mean \"{PropertyFilter.ValueProperty}\", each event's numeric value (with the dollar sign)?";
        }

        return !ProfileProperties.Contains(name) ? null
            : !condition ? $" '{name}' is a profile property, not a property of '{metric}' events."
            : $" '{name}' is a profile property, not a property of '{metric}' events: a property condition tests it, e.g. {{\"property\": {{\"name\": {Json(name)}, \"op\": \"eq\", \"value\": \"…\"}}}} beside this one in an all.";
    }

    /// <summary>For a name given as a metric that is none: that it is a profile property or an event property; null when neither.</summary>
    /// <param name="name">The name given.</param>
    /// <param name="condition">Whether the name was given in a condition (the sentence then says what tests it).</param>
    public string? MetricElsewhere(string name, bool condition = true)
    {
        if (ProfileProperties.Contains(name))
        {
            return !condition ? $" '{name}' is a profile property, not a metric." : $" '{name}' is a profile property, not a metric: a property condition tests it, e.g. {{\"property\": {{\"name\": {Json(name)}, \"op\": \"is_set\"}}}}.";
        }

        var metrics = MetricsWithProperty(name);
        return metrics.Count == 0 ? null
            : !condition ? $" '{name}' is a property of {EventsOf(metrics)}, not a metric."
            : $" '{name}' is a property of {EventsOf(metrics)}, not a metric: a where filter of an event condition on one of those tests it.";
    }

    private List<string> MetricsWithProperty(string name) =>
        [.. metricProperties.Where(pair => pair.Value.Contains(name)).Select(pair => pair.Key).Order(StringComparer.Ordinal)];

    /// <summary>"'A' events", "'A' and 'B' events", "4 metrics' events ('A', 'B', 'C', …)".</summary>
    private static string EventsOf(IReadOnlyList<string> metrics) =>
        metrics.Count switch
        {
            1 => $"'{metrics[0]}' events",
            2 => $"'{metrics[0]}' and '{metrics[1]}' events",
            3 => $"'{metrics[0]}', '{metrics[1]}' and '{metrics[2]}' events",
            _ => $"{metrics.Count} metrics' events ('{metrics[0]}', '{metrics[1]}', '{metrics[2]}', …)",
        };

    /// <summary>A name as a JSON string, as a suggestion shows it (non-ASCII letters kept as they are).</summary>
    public static string Json(string text) => JsonSerializer.Serialize(text, SuggestionJson);

    private static readonly JsonSerializerOptions SuggestionJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}

/// <summary>Where a tenant's catalog comes from (the engine's data, in Storage): the language reads it only through this.</summary>
public interface ITenantCatalogSource
{
    Task<TenantCatalog> ReadAsync(string tenant, CancellationToken cancellationToken);
}
