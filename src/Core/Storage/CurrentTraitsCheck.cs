using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

/// <summary>
/// Runs <see cref="SegmentCompiler.CompileCurrentTraitsCheck"/> before a query over every profile: when the
/// current-value table answers the definition's property tests alone, the query is compiled without the history
/// fallback, whose extra branch costs more than the check's round trip (on the 2M-profile demo, signed up 30d: check
/// 6 ms and query 12 ms against 27–29 ms with the fallback).
/// </summary>
public static class CurrentTraitsCheck
{
    /// <summary>
    /// <paramref name="options"/> with <see cref="CompileOptions.CurrentTraitsComplete"/> set when the check passes at
    /// its <see cref="CompileOptions.Now"/>; unchanged when it fails, when nothing needs checking (no property read, a
    /// restricted query that seeks the history) or when the engine offers no check (a cluster).
    /// </summary>
    public static async Task<CompileOptions> ApplyAsync(
        IClickHouseEngine engine, ValidatedDefinition definition, TableNames schema, CompileOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(options);
        if (options.CurrentTraitsComplete || options.Mode == CompileMode.Restricted
            || SegmentCompiler.CompileCurrentTraitsCheck(definition, schema, options.Now) is not { } check)
        {
            return options;
        }

        var result = await engine.QueryAsync(check, cancellationToken).ConfigureAwait(false);
        return result.ReadSingle(row => row.GetBoolean(0)) ? options with { CurrentTraitsComplete = true } : options;
    }
}
