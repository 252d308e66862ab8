using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Storage.Server;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// Events and profile updates keep arriving while ticks run; once ingestion stops, one more tick is exact. On both
/// adapters: the ticks' watermark must hold back to inserts still running however the adapter sends them.
/// </summary>
[Trait("Category", "Engine")]
public sealed class EvaluatorConcurrencyTests
{
    [Fact]
    public Task Ingesting_while_ticks_run_loses_nothing() => IngestWhileTicksRunAsync(TestEngines.Embedded);

    /// <summary>The same through ClickHouse.Driver against chDB serving as a ClickHouse server in a process of its own.</summary>
    [Fact]
    public async Task Ingesting_while_ticks_run_loses_nothing_on_the_server_adapter()
    {
        await using var server = await ServerProcess.StartAsync();
        await using var engine = new ClickHouseServerEngine(server.ConnectionString);
        await IngestWhileTicksRunAsync(engine);
    }

    private static async Task IngestWhileTicksRunAsync(IClickHouseEngine engine)
    {
        var schema = await TestEngines.NewSchemaAsync(engine);
        var world = new EvaluationWorld(engine, schema, 31);
        var start = new DateTime(2026, 7, 1, 8, 0, 0, DateTimeKind.Utc);
        await world.IngestHistoryAsync(start, 15, 15, 5);

        await world.SaveRandomSegmentsAsync(6, start);
        var evaluator = new SegmentEvaluator(engine, schema, new EvaluatorOptions { Workers = 2, ChunkSize = 10, IngestLag = TimeSpan.Zero });

        // The ingester writes data stamped around the simulated clock, which the ticking loop advances.
        var simulated = start.Ticks;
        using var stop = new CancellationTokenSource();
        var batches = 0;
        var ingester = Task.Run(async () =>
        {
            var ingest = new EvaluationWorld(engine, schema, 32);
            while (!stop.IsCancellationRequested)
            {
                await ingest.IngestAsync(new DateTime(Interlocked.Read(ref simulated), DateTimeKind.Utc), 8, 3);
                Interlocked.Increment(ref batches);
                await Task.Delay(15);
            }
        });

        var now = start;
        for (var tick = 0; tick < 8; tick++)
        {
            now = now.AddMinutes(37 + (tick * 11));
            Interlocked.Exchange(ref simulated, now.Ticks);
            await evaluator.TickAsync(EvaluationWorld.Tenant, now, null, CancellationToken.None);
        }

        await stop.CancelAsync();
        await ingester;
        Assert.True(batches >= 8, $"only {batches} batches were ingested during the ticks");

        now = now.AddMinutes(5);
        await evaluator.TickAsync(EvaluationWorld.Tenant, now, null, CancellationToken.None);
        foreach (var id in world.SegmentIds)
        {
            var expected = await world.RecomputeAsync(id, now);
            var stored = await world.StoredMembersAsync(id);
            var replayed = await world.ReplayedLogAsync(id);
            Assert.True(expected.SetEquals(stored) && expected.SetEquals(replayed), await DescribeAsync(world, id, now, expected, stored, replayed));
        }
    }

    /// <summary>What a failure needs to be understood: the definition and, for each differing profile, its data.</summary>
    private static async Task<string> DescribeAsync(EvaluationWorld world, string id, DateTime now, SortedSet<string> expected, SortedSet<string> stored, SortedSet<string> replayed)
    {
        var definition = ReadBack.Describe((await world.ValidatedAsync(id)).Definition);
        var onlyExpected = expected.Except(stored).Concat(expected.Except(replayed)).Distinct().ToList();
        var onlyStored = stored.Except(expected).Concat(replayed.Except(expected)).Distinct().ToList();
        return $"segment {id} ({definition}) at {now:O}: members the full query finds but membership or the log lacks: [{string.Join(", ", onlyExpected)}]; "
            + $"members stored or logged that the full query does not find: [{string.Join(", ", onlyStored)}]; stored {stored.Count}, logged {replayed.Count}, expected {expected.Count}";
    }
}
