using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Mcp.Tools;

/// <summary>
/// A <see cref="ValueNote"/> as tools return it: a value the definition compares with that no data holds, or a
/// property without a value of the kind its comparison reads. The JSON path, the property (and metric, for an event
/// property), the values the data holds (closest, or most common) and a sentence saying what to do.
/// </summary>
internal sealed record ValueHint(string Path, string Property, string? Metric, string Value, IReadOnlyList<ValueCount> Closest, string Message);

internal static class ValueHints
{
    /// <summary>
    /// The hints for a definition, or null when every compared value exists (the field is then left out) or the
    /// lookup failed.
    /// </summary>
    public static async Task<IReadOnlyList<ValueHint>?> ForAsync(DefinitionService definitions, ValidatedDefinition definition, DateTime now, CancellationToken cancellationToken)
    {
        IReadOnlyList<ValueNote> notes;
        try
        {
            notes = await definitions.ValueNotesAsync(definition, now, cancellationToken).ConfigureAwait(false);
        }
        catch (ClickHouseException)
        {
            // A courtesy beside the answer (a preview, a saved segment): it never turns that answer into an error.
            return null;
        }

        return notes.Count == 0
            ? null
            : [.. notes.Select(n => new ValueHint(n.Path, n.Property, n.Metric, n.Value, n.Closest, n.Message))];
    }
}
