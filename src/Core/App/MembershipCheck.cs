using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.App;

/// <summary>One condition of a definition checked for one profile: its JSON path, read-back, result and evidence.</summary>
public sealed record ConditionCheck(string Path, string ReadBack, bool Matched, IReadOnlyDictionary<string, object?> Evidence);

/// <summary>
/// Whether one profile is in a segment at a time, and why: every condition of the definition, each leaf decided by
/// the compiled query restricted to the profile, with the evidence it read (a property's value, the events in a
/// window and those passing the where filters, the measure compared). check_membership and <c>segments check</c>.
/// </summary>
public sealed partial class MembershipCheck(DefinitionService definitions, ProfileReader profiles, IMembershipReader membership)
{
    /// <summary>The profile's membership at <paramref name="now"/> and the conditions in document order (the root first).</summary>
    public async Task<(bool Member, IReadOnlyList<ConditionCheck> Conditions)> CheckAsync(
        ValidatedDefinition definition, string profileId, DateTime now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var checks = new List<ConditionCheck>();
        var member = await CheckAsync(definition, definition.Definition.Condition, "condition", profileId, now, checks, cancellationToken).ConfigureAwait(false);
        return (member, checks);
    }

    /// <summary>
    /// Whether a saved segment's stored members (as of its last evaluation) include the profile, with that evaluation's
    /// time; null before its first evaluation. Beside <see cref="CheckAsync(ValidatedDefinition, string, DateTime, CancellationToken)"/>
    /// it tells an answer that changed since the evaluation from one the evaluation holds.
    /// </summary>
    public async Task<(bool Member, DateTime EvaluatedAt)?> StoredAsync(string tenant, SavedSegment saved, string profileId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(saved);
        return saved.EvaluatedAt is { } evaluatedAt
            ? (await membership.IsMemberAsync(tenant, saved.Id, profileId, cancellationToken).ConfigureAwait(false), evaluatedAt)
            : null;
    }

    /// <summary>What to say when the stored membership and the answer now differ (null when they agree).</summary>
    public static string? StoredDiffers(bool memberNow, (bool Member, DateTime EvaluatedAt) stored, string refresh) =>
        stored.Member == memberNow
            ? null
            : stored.Member
                ? $"The segment's stored members (its last evaluation, {IsoTime.Format(stored.EvaluatedAt)}) include this profile, but evaluated now it no longer matches: the next evaluation ({refresh}) records its exit."
                : $"The segment's stored members (its last evaluation, {IsoTime.Format(stored.EvaluatedAt)}) do not include this profile, but evaluated now it matches: the next evaluation ({refresh}) records its entry.";

    private async Task<bool> CheckAsync(
        ValidatedDefinition root, Condition condition, string path, string profileId, DateTime now, List<ConditionCheck> checks, CancellationToken cancellationToken)
    {
        var index = checks.Count;
        checks.Add(null!);
        var evidence = new Dictionary<string, object?>(StringComparer.Ordinal);
        bool matched;
        switch (condition)
        {
            case AllCondition or AnyCondition:
                {
                    var items = condition is AllCondition all ? all.Items : ((AnyCondition)condition).Items;
                    var key = condition is AllCondition ? "all" : "any";
                    var results = new List<bool>();
                    for (var i = 0; i < items.Count; i++)
                    {
                        results.Add(await CheckAsync(root, items[i], $"{path}.{key}[{i}]", profileId, now, checks, cancellationToken).ConfigureAwait(false));
                    }

                    matched = key == "all" ? results.All(r => r) : results.Any(r => r);
                    evidence["items_matched"] = results.Count(r => r);
                    evidence["items"] = results.Count;
                    break;
                }

            case NotCondition not:
                matched = !await CheckAsync(root, not.Inner, $"{path}.not", profileId, now, checks, cancellationToken).ConfigureAwait(false);
                break;
            default:
                matched = await definitions.HoldsForAsync(
                    ValidatedDefinition.Unchecked(root.Tenant, root.Definition with { Condition = condition }, root.References),
                    profileId,
                    now,
                    cancellationToken).ConfigureAwait(false);
                await AddEvidenceAsync(root.Tenant, condition, profileId, now, evidence, cancellationToken).ConfigureAwait(false);
                break;
        }

        checks[index] = new ConditionCheck(path, DefinitionService.ReadBack(root.Definition with { Condition = condition }, root.References), matched, evidence);
        return matched;
    }

    private async Task AddEvidenceAsync(string tenant, Condition condition, string profileId, DateTime now, Dictionary<string, object?> evidence, CancellationToken cancellationToken)
    {
        switch (condition)
        {
            case PropertyCondition property:
                {
                    var values = await profiles.PropertiesAsync(tenant, profileId, now, cancellationToken).ConfigureAwait(false);
                    evidence["property"] = property.Filter.Name;
                    evidence["value"] = values.GetValueOrDefault(property.Filter.Name);
                    evidence["is_set"] = values.ContainsKey(property.Filter.Name);
                    break;
                }

            case EventCondition e:
                {
                    var range = TimeRange.Of(e.Window, now);
                    var seen = await profiles.EventsAsync(tenant, profileId, new EventSelection(e.Metric, e.Where, range.From, range.Until), now, cancellationToken, e.Measure).ConfigureAwait(false);
                    evidence["metric"] = e.Metric;
                    evidence["from"] = range.From;
                    evidence["until"] = range.Until ?? now;
                    evidence["events_in_window"] = seen.Events;
                    evidence["first"] = seen.First;
                    evidence["last"] = seen.Last;
                    evidence["sum_of_values"] = seen.SumOfValues;
                    if (e.Where.Count > 0)
                    {
                        evidence["matching_events"] = seen.Matching;
                        evidence["first_matching"] = seen.FirstMatching;
                        evidence["last_matching"] = seen.LastMatching;
                        evidence["note"] = "events_in_window, first, last and sum_of_values are of every event of the metric in the window; matching_events, first_matching and last_matching of those passing the where filters.";
                    }

                    // The number the condition compares (op, value): the measure over the matching events.
                    evidence["measured_value"] = seen.Measured;
                    break;
                }

            case SegmentReferenceCondition reference:
                evidence["segment_id"] = reference.SegmentId;
                evidence["stored_member"] = await membership.IsMemberAsync(tenant, reference.SegmentId, profileId, cancellationToken).ConfigureAwait(false);
                break;
            default:
                await AddBehaviouralEvidenceAsync(tenant, condition, profileId, now, evidence, cancellationToken).ConfigureAwait(false);
                break;
        }
    }
}
