using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

/// <summary>The engine's clock and the ingestion watermark at one moment.</summary>
/// <param name="Now">The engine's current time.</param>
/// <param name="Watermark">
/// Every row whose <c>ingested_at</c> is at or before this is visible to queries started from now on: the engine's
/// time, held back to the start of the oldest insert still running (its rows are stamped no earlier than its start,
/// and become visible only when it ends) and to the oldest pending asynchronous insert.
/// </param>
public readonly record struct IngestInstant(DateTime Now, DateTime Watermark);

/// <summary>
/// Reads <see cref="IngestInstant"/> from the engine's own process list, so the watermark is exact instead of "now
/// minus a safety lag": rows loaded moments before an evaluation are not mistaken for new ones afterwards. Only inserts
/// into the tables whose rows are stamped with <c>ingested_at</c> (events, profile updates and the traits their view
/// writes, list changes) hold it back: the evaluator's own writes (membership, current values, timelines) stamp
/// nothing, and a long one would stall every refresh behind it.
/// </summary>
public static class IngestClock
{
    private const string LeadingComments = """(?is)^\s*(/\*.*?\*/\s*|--[^\n]*\n\s*)*INSERT\s+INTO\s+(TABLE\s+)?""";

    private const string StampedTable = """[`"]?(events|profile_updates|list_members)(_local)?[`"]?[\s(]""";

    /// <summary>
    /// An INSERT into one of <paramref name="database"/>'s stamped tables, named with its database, as the process list
    /// shows it. The engine lists a statement without parameters (a streamed insert) as sent, so the pattern skips
    /// leading comments and takes the quoted names and TABLE keyword other clients of a server may send.
    /// </summary>
    internal static string QualifiedInsertPattern(string database) =>
        LeadingComments + "[`\"]?" + Identifiers.RequireName(database, "database name") + "[`\"]?\\s*\\.\\s*" + StampedTable;

    /// <summary>An INSERT into a stamped table named without a database (the session's current database).</summary>
    internal const string UnqualifiedInsertPattern = LeadingComments + StampedTable;

    /// <summary>
    /// The instant for the tables of <paramref name="tables"/>' database. Inserts into other databases (other SegmentMcp
    /// databases on a shared server, each test's own database) stamp rows no reader here sees, so they do not hold
    /// it back.
    /// </summary>
    public static async Task<IngestInstant> ReadAsync(IClickHouseEngine engine, TableNames tables, CancellationToken cancellationToken)
    {
        // An insert's start is taken a millisecond early: elapsed runs on a monotonic clock, now64 on the wall clock.
        var database = Sql.Sql.Param("String", tables.Database);
        return await engine.QuerySingleAsync(
            Sql.Sql.Of(
                $"""
                SELECT
                    now64(6, 'UTC') AS now,
                    least(
                        now,
                        ifNull((
                            SELECT minOrNull(now64(6, 'UTC') - toIntervalMicrosecond(toInt64(elapsed * 1000000) + 1000)) FROM system.processes
                            WHERE query_kind = 'Insert'
                              AND (match(query, {Sql.Sql.Param("String", QualifiedInsertPattern(tables.Database))})
                                   OR (current_database = {database} AND match(query, {Sql.Sql.Param("String", UnqualifiedInsertPattern)})))), now),
                        ifNull((SELECT minOrNull(toDateTime64(first_update, 6, 'UTC')) FROM system.asynchronous_inserts WHERE database = {database}), now)) AS watermark
                """),
            row => new IngestInstant(row.GetDateTime(0), row.GetDateTime(1)),
            cancellationToken).ConfigureAwait(false);
    }
}
