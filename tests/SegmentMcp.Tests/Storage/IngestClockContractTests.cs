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
    /// How the statement names its table: as the adapters write it, after a comment (the embedded adapter once put a
    /// marker first, and the clock missed those inserts), and as other clients of a server may.
    /// </summary>
    public static TheoryData<string> InsertTargets() =>
    [
        "INSERT INTO {0}.{1}",
        "/* segmentmcp:0f3c */ INSERT INTO {0}.{1}",
        "-- a loader's comment\n/* and another */ insert into table `{0}`.`{1}`",
        "INSERT INTO \"{0}\" . \"{1}\"",
    ];

    [Theory]
    [MemberData(nameof(InsertTargets))]
    public async Task An_insert_still_running_holds_the_ingest_watermark_before_its_rows(string target)
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var tag = $"clock_{Guid.NewGuid():N}";
        var database = schema.Events[..schema.Events.IndexOf('.', StringComparison.Ordinal)];
        var into = string.Format(System.Globalization.CultureInfo.InvariantCulture, target, database, schema.Events[(database.Length + 1)..]);

        // One row per block and a pause per row: the insert stays in the process list for about two seconds. No
        // parameters, like a streamed insert: the engine then lists the text as sent (a statement with parameters is
        // listed reformatted, comments dropped).
        var insert = Engine.ExecuteAsync(new SqlStatement(
            $$"""
            {{into}} (tenant, metric, profile_id, ts)
            SELECT '{{tag}}', 'slow', toString(number), now64(3) FROM numbers(6) WHERE sleepEachRow(0.35) = 0
            SETTINGS max_block_size = 1, min_insert_block_size_rows = 1, max_threads = 1
            """));

        IngestInstant? during = null;
        for (var attempt = 0; attempt < 200 && !insert.IsCompleted; attempt++)
        {
            var running = await Engine.QueryAsync(new SqlStatement(
                "SELECT count() FROM system.processes WHERE query_kind = 'Insert' AND query LIKE {tag:String}",
                [new SqlParameter("tag", "String", $"%{database}%")]));
            if (Convert.ToInt64(running.Rows[0][0], System.Globalization.CultureInfo.InvariantCulture) > 0)
            {
                // Let it run a little, so a clock that ignored it would be visibly later than its rows.
                await Task.Delay(300);
                during = await IngestClock.ReadAsync(Engine, CancellationToken.None);
                break;
            }

            await Task.Delay(10);
        }

        await insert;
        Assert.True(during is not null, "the insert never showed in system.processes while it ran");

        var stamped = await Engine.QueryAsync(new SqlStatement(
            $"SELECT count(), min(ingested_at) FROM {schema.Events} WHERE tenant = {{tag:String}}",
            [new SqlParameter("tag", "String", tag)]));
        Assert.Equal(6L, stamped.Rows[0][0]);
        var earliest = (DateTime)stamped.Rows[0][1]!;
        Assert.True(during.Value.Watermark < earliest, $"watermark {during.Value.Watermark:O} read while the insert ran is not before its rows, stamped {earliest:O}");
        Assert.True(during.Value.Watermark < during.Value.Now, "the running insert did not hold the watermark back");
    }
}
