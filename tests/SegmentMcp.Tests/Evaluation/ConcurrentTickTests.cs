using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Tests.Storage;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// Ticks of one tenant started together (a server's background tick and a <c>refresh_segments</c> call, say) run one
/// after the other: the later one reads the states the earlier one wrote, so every change is evaluated and logged once.
/// </summary>
public abstract class ConcurrentTickTests
{
    private static readonly DateTime Now = new(2026, 4, 2, 9, 0, 0, DateTimeKind.Utc);

    protected abstract IClickHouseEngine Engine { get; }

    [Fact]
    public async Task Ticks_of_one_tenant_started_together_log_each_change_once_and_agree_with_a_full_recompute()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var world = new EvaluationWorld(Engine, schema, 20260403, profiles: 40);
        await world.IngestHistoryAsync(Now.AddDays(-10), 10, 10, 3);
        await world.SaveRandomSegmentsAsync(6, Now.AddDays(-1));
        await using var evaluator = new SegmentEvaluator(Engine, schema, new EvaluatorOptions { IngestLag = TimeSpan.Zero, Workers = 2, ChunkSize = 5 });

        // The first evaluation, then an hour of new activity evaluated by three ticks at once: two of the tenant, one of
        // every tenant (the database holds this one only).
        await evaluator.TickAsync(EvaluationWorld.Tenant, Now, null, CancellationToken.None);
        var later = Now.AddHours(1);
        await world.IngestAsync(later.AddMinutes(-30), 30, 8);
        var reports = await Task.WhenAll(
            evaluator.TickAsync(EvaluationWorld.Tenant, later, null, CancellationToken.None),
            evaluator.TickAsync(null, later, null, CancellationToken.None),
            evaluator.TickAsync(EvaluationWorld.Tenant, later, null, CancellationToken.None));

        long loggedEntered = 0, loggedExited = 0;
        foreach (var id in world.SegmentIds)
        {
            var members = await world.StoredMembersAsync(id);
            Assert.Equal(await world.RecomputeAsync(id, later), members);
            Assert.Equal(members, await world.ReplayedLogAsync(id));
            var changes = await world.ChangesAsync(id, since: Now.AddSeconds(1));
            Assert.All(changes, change => Assert.Equal(later, change.At));
            loggedEntered += changes.Count(change => change.Entered);
            loggedExited += changes.Count(change => !change.Entered);
        }

        // One of the three evaluated the hour; the others found the segments already at its time.
        Assert.True(loggedEntered + loggedExited > 0, "the hour of new activity changed no membership");
        Assert.Equal(loggedEntered, reports.Sum(report => report.Statistics.Entered));
        Assert.Equal(loggedExited, reports.Sum(report => report.Statistics.Exited));
        Assert.Single(reports, report => report.Statistics.Entered + report.Statistics.Exited > 0);
    }
}

public sealed class EmbeddedConcurrentTickTests : ConcurrentTickTests
{
    protected override IClickHouseEngine Engine => TestEngines.Embedded;
}

[Trait("Category", "Engine")]
public sealed class ServerConcurrentTickTests(ServerFixture fixture) : ConcurrentTickTests, IClassFixture<ServerFixture>
{
    protected override IClickHouseEngine Engine => fixture.Engine;
}
