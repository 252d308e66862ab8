using System.Diagnostics;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Storage.Server;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// A tick that dies part-way (a worker throwing, or the whole process killed) loses nothing: the next tick brings
/// membership to the full recompute, and the log still replays entry by entry to that membership, with an entry for
/// every profile whose membership differs between the last good evaluation and the repaired one.
/// </summary>
[Trait("Category", "Engine")]
public sealed class EvaluatorCrashTests
{
    internal static readonly DateTime Start = new(2026, 5, 10, 12, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task A_worker_that_throws_mid_chunk_is_repaired_by_the_next_tick()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var world = await SeedAsync(engine, schema, 11);
        var evaluator = new SegmentEvaluator(engine, schema, new EvaluatorOptions { Workers = 2, ChunkSize = 5, IngestLag = TimeSpan.Zero });
        await evaluator.TickAsync(EvaluationWorld.Tenant, Start, null, CancellationToken.None);
        var good = await RecomputeAllAsync(world, Start);

        // Tick 2 dies after writing the log of some chunks but before their membership rows.
        var t1 = Start.AddHours(20);
        await world.IngestAsync(t1, 60, 15);
        var failures = 0;
        evaluator.AfterLogWritten = work => work.ChunkIndex % 4 == 1
            ? throw new InvalidOperationException($"injected failure in chunk {work.ChunkIndex} (#{Interlocked.Increment(ref failures)})")
            : ValueTask.CompletedTask;
        var failed = await Assert.ThrowsAsync<TickFailedException>(() => evaluator.TickAsync(EvaluationWorld.Tenant, t1, null, CancellationToken.None));
        Assert.True(failures > 0);
        Assert.NotEmpty(failed.Failures);
        foreach (var key in failed.Failures.Keys)
        {
            var id = key.Split('/', 2)[1];
            var saved = await world.Segments.GetAsync(EvaluationWorld.Tenant, id, CancellationToken.None);
            Assert.Equal(Start, saved!.EvaluatedAt);
        }

        // Tick 3 dies before touching anything in other chunks.
        evaluator.AfterLogWritten = null;
        var t2 = t1.AddHours(9);
        await world.IngestAsync(t2, 30, 10);
        evaluator.BeforeChunk = work => work.ChunkIndex % 3 == 0 ? throw new IOException("injected") : ValueTask.CompletedTask;
        await Assert.ThrowsAsync<TickFailedException>(() => evaluator.TickAsync(EvaluationWorld.Tenant, t2, null, CancellationToken.None));

        evaluator.BeforeChunk = null;
        var t3 = t2.AddDays(1.5);
        await evaluator.TickAsync(EvaluationWorld.Tenant, t3, null, CancellationToken.None);
        await AssertConvergedAsync(world, good, Start, t3);
    }

    [Fact]
    public async Task A_process_killed_mid_tick_is_repaired_after_restart()
    {
        await using var server = await ServerProcess.StartAsync();
        await using var engine = new ClickHouseServerEngine(server.ConnectionString);
        var schema = new StorageSchema(TestEngines.DatabaseName());
        await schema.EnsureCreatedAsync(engine);
        var world = await SeedAsync(engine, schema, 12);
        var evaluator = new SegmentEvaluator(engine, schema, new EvaluatorOptions { IngestLag = TimeSpan.Zero });
        await evaluator.TickAsync(EvaluationWorld.Tenant, Start, null, CancellationToken.None);
        var good = await RecomputeAllAsync(world, Start);

        var t1 = Start.AddDays(2);
        await world.IngestAsync(t1, 120, 30);
        var chunkLines = 0;
        var info = HostProcess.StartInfo(
            "evaluate", "--clickhouse", server.ConnectionString, "--database", schema.Database, "--company", EvaluationWorld.Tenant,
            "--as-of", t1.ToString("O"), "--chunk-size", "1", "--workers", "1", "--verbose");
        using (var child = Process.Start(info)!)
        {
            var killed = new TaskCompletionSource();
            child.ErrorDataReceived += (_, e) =>
            {
                if (e.Data?.Contains("written:", StringComparison.Ordinal) == true && Interlocked.Increment(ref chunkLines) == 25)
                {
                    child.Kill(entireProcessTree: true);
                    killed.TrySetResult();
                }
            };
            child.OutputDataReceived += (_, _) => { };
            child.BeginErrorReadLine();
            child.BeginOutputReadLine();
            await child.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
            Assert.True(killed.Task.IsCompleted, $"the child finished before it could be killed ({chunkLines} chunks logged, exit {child.ExitCode})");
        }

        // Killed mid-tick: some segment did not reach t1.
        var states = await world.Segments.ListAsync(EvaluationWorld.Tenant, CancellationToken.None);
        Assert.Contains(states, s => s.EvaluatedAt != t1);

        // The repairing tick evaluates the levels' plain segments together (level statements, on one server).
        var t2 = t1.AddHours(5);
        var (exit, output, error) = await HostProcess.RunAsync(
            null, "evaluate", "--clickhouse", server.ConnectionString, "--database", schema.Database, "--as-of", t2.ToString("O"), "--level-statements");
        Assert.True(exit == 0, error);
        Assert.Contains("evaluated at", output, StringComparison.Ordinal);
        Assert.DoesNotContain("together failed", error, StringComparison.Ordinal);
        await AssertConvergedAsync(world, good, Start, t2);
    }

    /// <summary>Twenty days of history and six random segments saved at <see cref="Start"/>.</summary>
    internal static async Task<EvaluationWorld> SeedAsync(IClickHouseEngine engine, StorageSchema schema, int seed)
    {
        var world = new EvaluationWorld(engine, schema, seed);
        await world.IngestHistoryAsync(Start, 20, 15, 5);

        await world.SaveRandomSegmentsAsync(6, Start);
        return world;
    }

    private static async Task<Dictionary<string, SortedSet<string>>> RecomputeAllAsync(EvaluationWorld world, DateTime at)
    {
        var result = new Dictionary<string, SortedSet<string>>();
        foreach (var id in world.SegmentIds)
        {
            result[id] = await world.RecomputeAsync(id, at);
            Assert.True(result[id].SetEquals(await world.StoredMembersAsync(id)));
        }

        return result;
    }

    private static async Task AssertConvergedAsync(EvaluationWorld world, Dictionary<string, SortedSet<string>> good, DateTime goodAt, DateTime at)
    {
        var changed = 0;
        foreach (var id in world.SegmentIds)
        {
            var expected = await world.RecomputeAsync(id, at);
            Assert.Equal(expected, await world.StoredMembersAsync(id));
            var saved = await world.Segments.GetAsync(EvaluationWorld.Tenant, id, CancellationToken.None);
            Assert.Equal(at, saved!.EvaluatedAt);
            Assert.Equal(expected.Count, saved.Size);

            // The log replays to the membership, and every profile that moved since the last good state has entries.
            var replay = new SortedSet<string>(StringComparer.Ordinal);
            var log = await world.ChangesAsync(id);
            foreach (var change in log)
            {
                Assert.True(change.Entered ? replay.Add(change.ProfileId) : replay.Remove(change.ProfileId), $"{id}: {change} does not follow the previous entry");
            }

            Assert.Equal(expected, replay);
            var moved = new SortedSet<string>(expected.Except(good[id]).Concat(good[id].Except(expected)), StringComparer.Ordinal);
            var logged = log.Where(c => c.At > goodAt && c.At <= at).Select(c => c.ProfileId).ToHashSet();
            Assert.True(moved.IsSubsetOf(logged), $"{id}: no log entry for [{string.Join(",", moved.Except(logged))}]");
            changed += moved.Count;
        }

        Assert.True(changed > 0, "the interrupted ticks should have had changes to make");
    }
}
