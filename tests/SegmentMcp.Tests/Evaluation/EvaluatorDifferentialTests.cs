using System.Collections.Concurrent;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Storage.Server;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// The incremental evaluator against full recomputes over simulated time: after every tick each segment's stored
/// membership equals the compiled segment over the whole universe at that time, and the tick's log entries are
/// exactly the difference between consecutive recomputes. SEGMENTMCP_EVAL_TICKS / SEGMENTMCP_EVAL_SEEDS scale it up;
/// SEGMENTMCP_EVAL_SEED sets the first seed (default 20261120) to explore others.
/// </summary>
[Trait("Category", "Engine")]
public sealed class EvaluatorDifferentialTests
{
    private static readonly TimeSpan[] Steps =
    [
        TimeSpan.FromMinutes(3), TimeSpan.FromMinutes(17), TimeSpan.FromMinutes(55), TimeSpan.FromHours(3),
        TimeSpan.FromHours(7.5), TimeSpan.FromHours(23), TimeSpan.FromDays(1), TimeSpan.FromDays(2.6),
    ];

    public static TheoryData<int> Seeds()
    {
        var count = int.TryParse(Environment.GetEnvironmentVariable("SEGMENTMCP_EVAL_SEEDS"), out var n) ? n : 1;
        var first = int.TryParse(Environment.GetEnvironmentVariable("SEGMENTMCP_EVAL_SEED"), out var f) ? f : 20261120;
        var data = new TheoryData<int>();
        for (var i = 0; i < count; i++)
        {
            data.Add(first + i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public Task Membership_and_log_equal_full_recomputes_tick_after_tick(int seed) => RunAsync(seed, behavioural: false);

    /// <summary>The same with the behavioural conditions and static lists: time alone (period boundaries, then_not
    /// intervals elapsing, recent-day edges) and list changes must reach phase 1.</summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public Task Behavioural_conditions_and_lists_equal_full_recomputes_tick_after_tick(int seed) => RunAsync(seed + 7, behavioural: true);

    /// <summary>
    /// The same with the restricted segments of a level evaluated together (<see cref="EvaluatorOptions.EvaluateTogether"/>):
    /// the plain segments in shared statements, the behavioural ones and lists beside them a statement each.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public Task Level_statements_equal_full_recomputes_tick_after_tick(int seed) =>
        RunAsync(seed + 19, behavioural: true, new EvaluatorOptions { EvaluateTogether = true });

    /// <summary>
    /// The same with the timelines brought up to date after each tick in the background, as the server does
    /// (<see cref="EvaluatorOptions.RefreshTimelinesAfterTick"/>): each refresh runs beside the next ingest, and the
    /// ticks read what it has not yet taken from the history. An even seed: a refresh after every tick.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public Task Timelines_refreshed_after_each_tick_equal_full_recomputes_tick_after_tick(int seed) =>
        RunAsync(seed + 30, behavioural: true, new EvaluatorOptions { RefreshTimelinesAfterTick = true });

    /// <summary>
    /// The same with segments of many candidates evaluated by their query over the whole universe: here every segment
    /// with candidates for a tenth of the profiles or more, so both kinds of phase 2 meet in one tick.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Segments_evaluated_whole_for_their_many_candidates_equal_full_recomputes(int seed)
    {
        var (results, replaced) = await RunAsync(seed + 13, behavioural: true, new EvaluatorOptions { WholeEvaluationMinimum = 1, WholeEvaluationShare = 0.1, WholeEvaluationRowsPerCandidate = 0 });

        // Both kinds ran on ticks after the first evaluation (a new segment, or a new version, is always evaluated whole).
        var later = results.Skip(8).Where(r => r.Candidates > 0 && r.SegmentId != replaced).ToList();
        Assert.Contains(later, r => r.EvaluatedWhole);
        Assert.Contains(later, r => !r.EvaluatedWhole);
    }

    /// <summary>
    /// The same through the server adapter (ClickHouse.Driver against chDB serving as a ClickHouse server, in a process
    /// of its own), with behavioural conditions, lists and references: the statements and the stores must agree on
    /// both adapters, not just compile.
    /// </summary>
    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Membership_and_log_equal_full_recomputes_on_the_server_adapter(int seed)
    {
        await using var server = await ServerProcess.StartAsync();
        await using var engine = new ClickHouseServerEngine(server.ConnectionString);
        await RunAsync(seed + 23, behavioural: true, engine: engine, ticks: 24);
    }

    private static async Task<(List<SegmentTickResult> Results, string Replaced)> RunAsync(
        int seed, bool behavioural, EvaluatorOptions? options = null, IClickHouseEngine? engine = null, int ticks = 40)
    {
        ticks = int.TryParse(Environment.GetEnvironmentVariable("SEGMENTMCP_EVAL_TICKS"), out var n) ? n : ticks;
        engine ??= TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var world = new EvaluationWorld(engine, schema, seed) { Behavioural = behavioural };
        var now = new DateTime(2026, 3, 1, 9, 30, 0, DateTimeKind.Utc);
        await world.IngestHistoryAsync(now, 30, 12, 4, profileLimit: 50);

        await world.SaveRandomSegmentsAsync(8, now);
        options ??= new EvaluatorOptions();
        options.Workers = 3;
        options.ChunkSize = 7;
        options.IngestLag = TimeSpan.Zero;

        // Timelines brought up to date on every tick, or every few (a tick adds up to 33 rows to a world of about 50
        // profiles): phase 2 then reads the rows behind them from the history.
        options.TimelinesRefreshShare = seed % 2 == 0 ? 0 : 0.8;
        await using var evaluator = new SegmentEvaluator(engine, schema, options);
        var togetherFailures = new ConcurrentQueue<Exception>();
        evaluator.TogetherFailed = togetherFailures.Enqueue;
        var results = new List<SegmentTickResult>();
        var previous = new Dictionary<string, SortedSet<string>>();
        var history = new List<(DateTime At, Dictionary<string, SortedSet<string>> Members)>();
        var deleted = new HashSet<string>();
        long totalChanges = 0;
        for (var tick = 0; tick < ticks; tick++)
        {
            now += Steps[world.Random.Next(Steps.Length)] + TimeSpan.FromMilliseconds(world.Random.Next(1000));
            now = new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerMillisecond), DateTimeKind.Utc);
            if (tick % 3 != 2)
            {
                await world.IngestAsync(now, world.Random.Next(0, 25), world.Random.Next(0, 8));
            }

            if (tick == ticks / 2)
            {
                await world.ReplaceAsync(world.SegmentIds[0], now);
            }

            if (tick == (ticks * 2) / 3)
            {
                var last = world.SegmentIds[^1];
                Assert.True(await world.Segments.DeleteAsync(EvaluationWorld.Tenant, last, CancellationToken.None));
                deleted.Add(last);
            }

            var report = await evaluator.TickAsync(EvaluationWorld.Tenant, now, null, CancellationToken.None);
            Assert.Equal(now, report.EvaluatedAt);
            results.AddRange(report.Segments);
            Assert.Equal(world.SegmentIds.Count - deleted.Count, report.Segments.Count);
            foreach (var id in world.SegmentIds.Where(id => !deleted.Contains(id)))
            {
                var expected = await world.RecomputeAsync(id, now);
                var stored = await world.StoredMembersAsync(id);
                Assert.True(
                    expected.SetEquals(stored),
                    $"tick {tick} at {now:O}, segment {id}: missing [{string.Join(",", expected.Except(stored))}], extra [{string.Join(",", stored.Except(expected))}]");

                var before = previous.GetValueOrDefault(id) ?? [];
                var log = await world.ChangesAsync(id, now, now.AddMilliseconds(1));
                Assert.Equal(expected.Except(before).Order(StringComparer.Ordinal), log.Where(c => c.Entered).Select(c => c.ProfileId).Order(StringComparer.Ordinal));
                Assert.Equal(before.Except(expected).Order(StringComparer.Ordinal), log.Where(c => !c.Entered).Select(c => c.ProfileId).Order(StringComparer.Ordinal));
                Assert.Equal(expected.Count, report.Segments.Single(s => s.SegmentId == id).Size);
                if (tick % 5 == 0)
                {
                    // One profile's entries and exits over the whole history are the whole log's, filtered.
                    if (log.Count > 0)
                    {
                        var profile = log[^1].ProfileId;
                        var own = await world.Membership.ChangesAsync(EvaluationWorld.Tenant, id, null, null, null, 1000, CancellationToken.None, profile);
                        Assert.Equal((await world.ChangesAsync(id)).Where(c => c.ProfileId == profile), own);
                    }

                    Assert.Equal(expected.Count, await world.Membership.CountAsync(EvaluationWorld.Tenant, id, CancellationToken.None));
                    var saved = await world.Segments.GetAsync(EvaluationWorld.Tenant, id, CancellationToken.None);
                    Assert.Equal(now, saved!.EvaluatedAt);
                }

                totalChanges += log.Count;
                previous[id] = expected;
            }

            history.Add((now, previous.Where(p => !deleted.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value)));
        }

        // members_at replays the log: at (or just after) any past tick it gives that tick's membership; before the
        // first evaluation there is no history.
        var replayed = new MembershipStore(engine, schema);
        foreach (var (at, members) in history.Where((_, i) => i % 7 == 3 || i == 0))
        {
            foreach (var (id, expected) in members.Where(m => !deleted.Contains(m.Key)))
            {
                var page = await replayed.MembersAtAsync(EvaluationWorld.Tenant, id, at.AddMilliseconds(world.Random.Next(0, 2)), null, 1000, CancellationToken.None);
                Assert.True(expected.SetEquals(page), $"members_at {at:O}, segment {id}: expected [{string.Join(",", expected)}], got [{string.Join(",", page)}]");
            }
        }

        Assert.Equal(history[0].At, await replayed.FirstEvaluatedAtAsync(EvaluationWorld.Tenant, world.SegmentIds[1], CancellationToken.None));

        // The whole log replays to the final membership (nothing lost, nothing doubled).
        foreach (var id in world.SegmentIds.Where(id => !deleted.Contains(id)))
        {
            Assert.Equal(previous[id], await world.ReplayedLogAsync(id));
        }

        Assert.True(totalChanges > 50, $"the random world should move membership around; only {totalChanges} changes");

        // Segments evaluated together (when on) never fell back to one statement each (which would hide a wrong statement).
        Assert.Empty(togetherFailures);
        return (results, world.SegmentIds[0]);
    }
}
