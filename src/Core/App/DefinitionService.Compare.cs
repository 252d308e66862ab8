using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Core.App;

/// <summary>
/// A draft against a saved segment's definition, both evaluated at the same time: how many profiles both match, how
/// many only the draft matches (they would enter if the segment took the draft) and how many only the saved
/// definition matches (they would exit), with the first of each in profile id order.
/// </summary>
public sealed record DefinitionComparison(
    string SegmentId,
    long SavedMatches,
    long InBoth,
    long WouldEnter,
    long WouldExit,
    IReadOnlyList<string> WouldEnterExamples,
    IReadOnlyList<string> WouldExitExamples);

public sealed partial class DefinitionService
{
    /// <summary>How many profiles of each side of a comparison are listed.</summary>
    public const int ComparisonExamples = 5;

    /// <summary>
    /// Compares <paramref name="draft"/> (matching <paramref name="draftCount"/> profiles at <paramref name="now"/>)
    /// with the saved segment's current definition at the same time. Both sides are compiled queries over the same
    /// data, so the difference is the definitions' alone: not the segment's stored members, which may be older.
    /// </summary>
    public async Task<DefinitionComparison> CompareAsync(
        ValidatedDefinition draft, long draftCount, string segmentId, ValidatedDefinition saved, DateTime now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(saved);

        // Both are valid already; their references come from one store, so a segment both reach is the same definition.
        var references = new Dictionary<string, SegmentDefinition>(draft.References, StringComparer.Ordinal);
        foreach (var (id, definition) in saved.References)
        {
            references.TryAdd(id, definition);
        }

        var ours = draft.Definition.Condition;
        var theirs = saved.Definition.Condition;
        var entering = ValidatedDefinition.Unchecked(draft.Tenant, draft.Definition with { Condition = new AllCondition([ours, new NotCondition(theirs)]) }, references);
        var exiting = ValidatedDefinition.Unchecked(draft.Tenant, draft.Definition with { Condition = new AllCondition([theirs, new NotCondition(ours)]) }, references);
        var (enter, enterExamples) = await PreviewAsync(entering, now, null, ComparisonExamples, cancellationToken).ConfigureAwait(false);
        var (exit, exitExamples) = await PreviewAsync(exiting, now, null, ComparisonExamples, cancellationToken).ConfigureAwait(false);
        var both = draftCount - enter;
        return new DefinitionComparison(segmentId, both + exit, both, enter, exit, enterExamples, exitExamples);
    }
}
