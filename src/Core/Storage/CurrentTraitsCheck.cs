using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

/// <summary>
/// Runs <see cref="SegmentCompiler.CompileCurrentTraitsCheck"/> before a query over every profile: when the
/// current-value table answers the definition's property tests alone, the query is compiled without the history
/// fallback, whose extra branch costs more than the check's round trip (on the 2M-profile demo, signed up 30d: check
/// 6 ms and query 12 ms against 27–29 ms with the fallback). Reads run that form beside the check (<see cref="QueryAsync{T}"/>).
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

    /// <summary>
    /// Reads <paramref name="query"/>'s answer at <paramref name="options"/>: when the definition reads properties, the
    /// form without the history fallback runs beside the check and is kept when the check passes (the usual case);
    /// otherwise its answer is dropped and the exact form runs after it. For reads only (a write cannot be taken back):
    /// a one-off query's wall time is then the longer of the two, not their sum (signed up 30d on the 2M-profile demo:
    /// the check about 7 ms beside a 15–20 ms query).
    /// </summary>
    public static async Task<T> QueryAsync<T>(
        IClickHouseEngine engine, ValidatedDefinition definition, TableNames schema, CompileOptions options,
        Func<CompileOptions, CancellationToken, Task<T>> query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(query);
        if (options.CurrentTraitsComplete || options.Mode == CompileMode.Restricted
            || SegmentCompiler.CompileCurrentTraitsCheck(definition, schema, options.Now) is not { } check)
        {
            return await query(options, cancellationToken).ConfigureAwait(false);
        }

        return await SpeculateAsync(
            engine, check, ct => query(options with { CurrentTraitsComplete = true }, ct), ct => query(options, ct), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="complete"/> beside <paramref name="check"/>; its answer when the check answers true, else
    /// <paramref name="exact"/>'s, run once the speculative read has stopped.
    /// </summary>
    public static async Task<T> SpeculateAsync<T>(
        IClickHouseEngine engine, SqlStatement check, Func<CancellationToken, Task<T>> complete, Func<CancellationToken, Task<T>> exact,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(complete);
        ArgumentNullException.ThrowIfNull(exact);
        using var speculation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var checking = engine.QueryAsync(check, cancellationToken);
        var speculative = complete(speculation.Token);
        bool passed;
        try
        {
            passed = (await checking.ConfigureAwait(false)).ReadSingle(row => row.GetBoolean(0));
        }
        catch
        {
            await speculation.CancelAsync().ConfigureAwait(false);
            await DropAsync(speculative).ConfigureAwait(false);
            throw;
        }

        if (passed)
        {
            return await speculative.ConfigureAwait(false);
        }

        await speculation.CancelAsync().ConfigureAwait(false);
        await DropAsync(speculative).ConfigureAwait(false);
        return await exact(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits for a read whose answer is not used; how it ended does not matter.</summary>
    private static async Task DropAsync(Task speculative)
    {
        try
        {
            await speculative.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The answer is dropped: a failure or cancellation of this read changes nothing.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
