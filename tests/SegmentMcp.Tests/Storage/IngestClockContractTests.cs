using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Storage;

/// <summary>
/// The ingestion watermark: an insert still running when the clock is read holds it back, so the rows that insert
/// stamps are all after it and the next evaluation (which reads rows ingested after the watermark) finds them.
/// </summary>
public abstract partial class EngineContractTests
{
    /// <summary>
    /// Statement texts as the process list may show them, and whether they insert into a stamped table: as the adapters
    /// write them, after a comment (the embedded adapter once put a marker first, and the clock missed those inserts),
    /// and as other clients of a server may write them. The clock reads them for database <c>db</c>: another database's
    /// inserts do not count, and a name without a database counts for the session's current database (here <c>db</c>).
    /// </summary>
    public static TheoryData<string, bool> InsertTexts() => new()
    {
        { "INSERT INTO db.events (tenant, metric) FORMAT JSONEachRow", true },
        { "INSERT INTO db.profile_updates FORMAT RowBinary", true },
        { "INSERT INTO db.list_members_local(tenant) VALUES", true },
        { "/* segmentmcp:0f3c */ INSERT INTO db.events (tenant)", true },
        { "-- a loader's comment\n/* and another */ insert into table `db`.`events` FORMAT CSV", true },
        { "INSERT INTO \"db\" . \"profile_updates\" (tenant)", true },
        { "INSERT INTO events\nSELECT 1", true },
        { "INSERT INTO db.membership_log (tenant) SELECT 1", false },
        { "INSERT INTO db.events_archive SELECT 1", false },
        { "INSERT INTO other.events (tenant) SELECT 1", false },
        { "INSERT INTO dbx.profile_updates FORMAT RowBinary", false },
        { "INSERT INTO `other db`.events FORMAT CSV", false },
        { "INSERT INTO db.current_traits (tenant) SELECT * FROM db.events", false },
        { "SELECT * FROM db.events", false },
    };

    [Theory]
    [MemberData(nameof(InsertTexts))]
    public async Task The_ingest_clock_knows_an_insert_into_a_stamped_table_by_its_text(string text, bool stamped)
    {
        var result = await Engine.QueryAsync(new SqlStatement(
            "SELECT match({text:String}, {qualified:String}) OR match({text:String}, {unqualified:String})",
            [
                new SqlParameter("text", "String", text),
                new SqlParameter("qualified", "String", IngestClock.QualifiedInsertPattern("db")),
                new SqlParameter("unqualified", "String", IngestClock.UnqualifiedInsertPattern),
            ]));
        Assert.Equal(stamped ? 1L : 0L, Convert.ToInt64(result.Rows[0][0], System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task An_insert_still_running_holds_the_ingest_watermark_before_its_rows_in_its_own_database()
    {
        // The clock's read waits for a connection other tests share: once it ran only after the insert had ended (and
        // then the watermark rightly is "now"). A read counts only if the insert still ran after it; otherwise the
        // insert runs again, so the assertion is always about a clock read mid-insert.
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            if (await ReadTheClockWhileAnInsertRunsAsync())
            {
                return;
            }
        }

        Assert.Fail("in three attempts the ingest clock was never read while the insert was still running");
    }

    /// <summary>
    /// Runs one slow insert and reads the clock while it runs; false when the read came too late to tell anything.
    /// </summary>
    private async Task<bool> ReadTheClockWhileAnInsertRunsAsync()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var elsewhere = await TestEngines.NewSchemaAsync(Engine);
        var tag = $"clock_{Guid.NewGuid():N}";

        // One row per block and a pause per row: the insert stays in the process list for about fifteen seconds, long
        // enough for the reads below to get a connection while other tests share the engine (the embedded engine has
        // two connections on two cores, the insert holds one, and another test's statements queue for the other). No
        // parameters and a comment first, like a streamed insert of the embedded adapter before: the engine lists such
        // text as sent (a statement with parameters is listed reformatted, comments dropped).
        var insert = Engine.ExecuteAsync(new SqlStatement(
            $"""
            /* a loader */ INSERT INTO {schema.Events} (tenant, metric, profile_id, ts)
            SELECT '{tag}', 'slow', toString(number), now64(3) FROM numbers(30) WHERE sleepEachRow(0.5) = 0
            SETTINGS max_block_size = 1, min_insert_block_size_rows = 1, max_threads = 1
            """));

        IngestInstant? during = null;
        IngestInstant? otherDatabase = null;
        var database = schema.Events[..schema.Events.IndexOf('.', StringComparison.Ordinal)];
        var giveUp = DateTime.UtcNow.AddMinutes(1);
        var stillRunningAfterTheRead = false;
        while (!insert.IsCompleted && DateTime.UtcNow < giveUp)
        {
            if (await InsertIsRunningAsync(database))
            {
                // Let it run a little, so a clock that ignored it would be visibly later than its rows.
                await Task.Delay(300);
                during = await IngestClock.ReadAsync(Engine, schema, CancellationToken.None);
                otherDatabase = await IngestClock.ReadAsync(Engine, elsewhere, CancellationToken.None);
                stillRunningAfterTheRead = await InsertIsRunningAsync(database);
                break;
            }

            await Task.Delay(10);
        }

        await insert;
        Assert.True(during is not null, "the insert never showed in system.processes while it ran");

        var stamped = await Engine.QueryAsync(new SqlStatement(
            $"SELECT count(), min(ingested_at) FROM {schema.Events} WHERE tenant = {{tag:String}}",
            [new SqlParameter("tag", "String", tag)]));
        Assert.Equal(30L, stamped.Rows[0][0]);
        var earliest = (DateTime)stamped.Rows[0][1]!;
        if (!stillRunningAfterTheRead)
        {
            return false;
        }

        Assert.True(during.Value.Watermark < earliest, $"watermark {during.Value.Watermark:O} read while the insert ran is not before its rows, stamped {earliest:O}");
        Assert.True(during.Value.Watermark < during.Value.Now, "the running insert did not hold the watermark back");

        // Nothing inserts into the other database: its clock is not held back by this insert.
        Assert.Equal(otherDatabase!.Value.Now, otherDatabase.Value.Watermark);
        return true;
    }

    private async Task<bool> InsertIsRunningAsync(string database)
    {
        var running = await Engine.QueryAsync(new SqlStatement(
            "SELECT count() FROM system.processes WHERE query_kind = 'Insert' AND query LIKE {database:String}",
            [new SqlParameter("database", "String", $"%{database}%")]));
        return Convert.ToInt64(running.Rows[0][0], System.Globalization.CultureInfo.InvariantCulture) > 0;
    }
}
