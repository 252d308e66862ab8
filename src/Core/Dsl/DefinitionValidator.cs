namespace SegmentMcp.Core.Dsl;

/// <summary>Where saved segment definitions come from when a definition references one.</summary>
public interface ISegmentDefinitionSource
{
    /// <summary>The current definition of a tenant's saved segment, or null when there is none.</summary>
    Task<SegmentDefinition?> FindAsync(string tenant, string segmentId, CancellationToken cancellationToken);

    /// <summary>Every saved segment's id and name, to suggest the one an unknown reference meant (none by default).</summary>
    Task<IReadOnlyList<(string Id, string Name)>> ListAsync(string tenant, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<(string Id, string Name)>>([]);
}

/// <summary>A source with no saved segments (every reference is unknown).</summary>
public sealed class NoSegments : ISegmentDefinitionSource
{
    public static NoSegments Instance { get; } = new();

    public Task<SegmentDefinition?> FindAsync(string tenant, string segmentId, CancellationToken cancellationToken) =>
        Task.FromResult<SegmentDefinition?>(null);
}

/// <summary>
/// A definition that passed every check, with the definitions of all segments it references (transitively), so
/// the compiler can inline them. Only <see cref="DefinitionValidator"/> creates one.
/// </summary>
public sealed class ValidatedDefinition
{
    internal ValidatedDefinition(string tenant, SegmentDefinition definition, IReadOnlyDictionary<string, SegmentDefinition> references)
    {
        Tenant = tenant;
        Definition = definition;
        References = references;
    }

    public string Tenant { get; }

    public SegmentDefinition Definition { get; }

    /// <summary>Every segment reached through references, by id.</summary>
    public IReadOnlyDictionary<string, SegmentDefinition> References { get; }

    /// <summary>
    /// Trusts a definition without a catalog or reference check: for tests and tools that build definitions in code
    /// and accept that unknown names simply match nothing.
    /// </summary>
    public static ValidatedDefinition Unchecked(string tenant, SegmentDefinition definition, IReadOnlyDictionary<string, SegmentDefinition>? references = null) =>
        new(tenant, definition, references ?? new Dictionary<string, SegmentDefinition>());
}

/// <summary>The outcome of validation: the validated definition, or every error with its JSON path.</summary>
public sealed record DslValidationResult(ValidatedDefinition? Definition, IReadOnlyList<DslError> Errors)
{
    public bool IsValid => Definition is not null && Errors.Count == 0;
}

/// <summary>
/// Checks a parsed definition against a tenant's catalog (metrics, event and profile property names, with
/// suggestions) and resolves its segment references, rejecting cycles.
/// </summary>
public sealed partial class DefinitionValidator(ISegmentDefinitionSource segments)
{
    /// <summary>Parses and validates JSON text.</summary>
    public async Task<DslValidationResult> ValidateAsync(
        string tenant, string json, TenantCatalog catalog, string? ownSegmentId = null, CancellationToken cancellationToken = default)
    {
        var parsed = SegmentDefinitionJson.Parse(json);
        return parsed.Definition is null
            ? new DslValidationResult(null, WithUnknownNames(parsed.Errors, json, catalog))
            : await ValidateAsync(tenant, parsed.Definition, catalog, ownSegmentId, cancellationToken).ConfigureAwait(false);
    }

    /// <param name="ownSegmentId">The id the definition is saved under, if any: a reference back to it is a cycle.</param>
    public async Task<DslValidationResult> ValidateAsync(
        string tenant, SegmentDefinition definition, TenantCatalog catalog, string? ownSegmentId = null, CancellationToken cancellationToken = default)
    {
        var walk = new Walk(segments, tenant, catalog, cancellationToken);
        if (ownSegmentId is not null)
        {
            walk.Stack.Add(ownSegmentId);
        }

        await walk.CheckAsync(definition.Condition, "condition", walk.Errors).ConfigureAwait(false);
        if (walk.Errors.Count == 0)
        {
            // Every reference is resolved now; what the compiler will inline must stay within bounds.
            walk.Errors.AddRange(ReferenceExpansion.Check(definition.Condition, id => walk.References.GetValueOrDefault(id)));
        }

        return walk.Errors.Count == 0
            ? new DslValidationResult(new ValidatedDefinition(tenant, definition, walk.References), [])
            : new DslValidationResult(null, walk.Errors);
    }

    /// <summary>One validation: the references resolved so far and the chain of segments being checked.</summary>
    private sealed class Walk(ISegmentDefinitionSource segments, string tenant, TenantCatalog catalog, CancellationToken cancellationToken)
    {
        public List<string> Stack { get; } = [];

        public Dictionary<string, SegmentDefinition> References { get; } = new(StringComparer.Ordinal);

        public List<DslError> Errors { get; } = [];

        public async Task CheckAsync(Condition condition, string path, List<DslError> errors)
        {
            switch (condition)
            {
                case AllCondition all:
                    for (var i = 0; i < all.Items.Count; i++)
                    {
                        await CheckAsync(all.Items[i], $"{path}.all[{i}]", errors).ConfigureAwait(false);
                    }

                    break;
                case AnyCondition any:
                    for (var i = 0; i < any.Items.Count; i++)
                    {
                        await CheckAsync(any.Items[i], $"{path}.any[{i}]", errors).ConfigureAwait(false);
                    }

                    break;
                case NotCondition not:
                    await CheckAsync(not.Inner, $"{path}.not", errors).ConfigureAwait(false);
                    break;
                case PropertyCondition property:
                    CheckName(property.Filter.Name, catalog.ProfileProperties, $"{path}.property.name", "profile property", errors, Elsewhere(property.Filter.Name, catalog));
                    break;
                case EventCondition e:
                    CheckEvent(e, $"{path}.event", catalog, errors);
                    break;
                case SegmentReferenceCondition reference:
                    await CheckReferenceAsync(reference, $"{path}.segment.id", errors).ConfigureAwait(false);
                    break;
                default:
                    CheckBehavioural(condition, path, catalog, errors);
                    break;
            }
        }

        private async Task CheckReferenceAsync(SegmentReferenceCondition reference, string path, List<DslError> errors)
        {
            var id = reference.SegmentId;
            if (Stack.Contains(id, StringComparer.Ordinal))
            {
                var cycle = string.Join(" → ", Stack.SkipWhile(s => s != id).Append(id).Select(s => $"'{s}'"));
                errors.Add(new DslError(path, $"Segment references form a cycle: {cycle}.", DslErrorCode.ReferenceCycle));
                return;
            }

            if (References.ContainsKey(id))
            {
                return;
            }

            var referenced = await segments.FindAsync(tenant, id, cancellationToken).ConfigureAwait(false);
            if (referenced is null)
            {
                var known = await segments.ListAsync(tenant, cancellationToken).ConfigureAwait(false);
                errors.Add(new DslError(path, $"Unknown segment '{id}' for this tenant.{Suggestions.DidYouMeanNamed(id, known)} A reference names a saved segment by its id, not its name.", DslErrorCode.UnknownSegment));
                return;
            }

            var inner = new List<DslError>();
            Stack.Add(id);
            await CheckAsync(referenced.Condition, "condition", inner).ConfigureAwait(false);
            Stack.RemoveAt(Stack.Count - 1);
            foreach (var error in inner)
            {
                // A cycle found deeper is already phrased as a cycle; anything else is the referenced segment's own problem.
                errors.Add(error.Code == DslErrorCode.ReferenceCycle
                    ? new DslError(path, error.Message, DslErrorCode.ReferenceCycle)
                    : new DslError(path, $"Segment '{id}' is not valid any more at {error.Path}: {error.Message}", DslErrorCode.InvalidReference));
            }

            References[id] = referenced;
        }
    }

    private static void CheckEvent(EventCondition e, string path, TenantCatalog catalog, List<DslError> errors)
    {
        if (!CheckMetric(e.Metric, e.Where, path, catalog, errors))
        {
            return;
        }

        var properties = catalog.EventProperties(e.Metric);

        if (e.Measure.Property is { } measured && measured != PropertyFilter.ValueProperty)
        {
            CheckName(measured, properties, $"{path}.measure", $"property of '{e.Metric}' events", errors, Elsewhere(measured, e.Metric, catalog));
        }
    }

    /// <summary>The names a behavioural condition reads: its metrics and their where filters' properties.</summary>
    private static void CheckBehavioural(Condition condition, string path, TenantCatalog catalog, List<DslError> errors)
    {
        switch (condition)
        {
            case FirstTimeCondition c:
                CheckMetric(c.Metric, c.Where, $"{path}.first_time", catalog, errors);
                break;
            case SequenceCondition c:
                for (var i = 0; i < c.Steps.Count; i++)
                {
                    var step = $"{path}.sequence.steps[{i}]";
                    CheckMetric(c.Steps[i].Metric, c.Steps[i].Where, step, catalog, errors);
                    if (c.Steps[i].ThenNot is { } thenNot)
                    {
                        CheckName(thenNot.Metric, catalog.Metrics, $"{step}.then_not.metric", "metric", errors, Elsewhere(thenNot.Metric, null, catalog));
                    }
                }

                break;
            case StoppedCondition c:
                CheckMetric(c.Metric, c.Where, $"{path}.stopped", catalog, errors);
                break;
            case RestartedCondition c:
                CheckName(c.Metric, catalog.Metrics, $"{path}.restarted.metric", "metric", errors, Elsewhere(c.Metric, null, catalog));
                break;
            case RegularlyCondition c:
                CheckMetric(c.Metric, c.Where, $"{path}.regularly", catalog, errors);
                break;
            case LastEventCondition c:
                if (CheckName(c.Metric, catalog.Metrics, $"{path}.last_event.metric", "metric", errors, Elsewhere(c.Metric, null, catalog)) && !c.Filter.IsEventValue)
                {
                    CheckName(c.Filter.Name, catalog.EventProperties(c.Metric), $"{path}.last_event.property", $"property of '{c.Metric}' events", errors, Elsewhere(c.Filter.Name, c.Metric, catalog));
                }

                break;
        }
    }

    /// <summary>A metric and its where filters' property names; false when the metric is unknown.</summary>
    private static bool CheckMetric(string metric, IReadOnlyList<PropertyFilter> where, string path, TenantCatalog catalog, List<DslError> errors)
    {
        if (!CheckName(metric, catalog.Metrics, $"{path}.metric", "metric", errors, Elsewhere(metric, null, catalog)))
        {
            return false;
        }

        var properties = catalog.EventProperties(metric);
        for (var i = 0; i < where.Count; i++)
        {
            if (!where[i].IsEventValue)
            {
                CheckName(where[i].Name, properties, $"{path}.where[{i}].name", $"property of '{metric}' events", errors, Elsewhere(where[i].Name, metric, catalog));
            }
        }

        return true;
    }

    /// <summary>What a name is instead of a profile property (<paramref name="name"/> alone), an event property of <paramref name="metric"/>, or a metric (metric null with a metric's place).</summary>
    private static string? Elsewhere(string name, TenantCatalog catalog) => catalog.ProfilePropertyElsewhere(name);

    private static string? Elsewhere(string name, string? metric, TenantCatalog catalog) =>
        metric is null ? catalog.MetricElsewhere(name) : catalog.EventPropertyElsewhere(name, metric);

    /// <summary>
    /// Whether <paramref name="name"/> is one of <paramref name="known"/>; else an error naming what it is instead
    /// (<paramref name="elsewhere"/>: a metric given as a property, say) or the known names it is closest to.
    /// </summary>
    private static bool CheckName(string name, IReadOnlyCollection<string> known, string path, string what, List<DslError> errors, string? elsewhere = null)
    {
        if (known.Contains(name))
        {
            return true;
        }

        var hint = elsewhere ?? (known.Count == 0
            ? $" No {what} is known for this tenant yet."
            : Suggestions.DidYouMean(name, known));
        errors.Add(new DslError(path, $"Unknown {what} '{name}'.{hint}", DslErrorCode.UnknownName));
        return false;
    }
}
