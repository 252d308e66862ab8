using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Mcp.Tools;

/// <summary>
/// A value the definition compares with that no data holds (see <see cref="AbsentValue"/>), as tools return it: the
/// JSON path of the value, the property (and metric, for an event property), the closest values the data holds and a
/// sentence saying what to do.
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
        IReadOnlyList<AbsentValue> absent;
        try
        {
            absent = await definitions.AbsentValuesAsync(definition, now, cancellationToken).ConfigureAwait(false);
        }
        catch (ClickHouseException)
        {
            // A courtesy beside the answer (a preview, a saved segment): it never turns that answer into an error.
            return null;
        }

        return absent.Count == 0
            ? null
            : [.. absent.Select(a => new ValueHint(a.Path, a.Property, a.Metric, a.Value, a.Closest, DefinitionService.Describe(a)))];
    }
}
