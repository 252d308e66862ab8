using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Tests.Storage;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// <see cref="EvaluatorOptions.RefreshTimelinesAfterTick"/>: the tick leaves the profile timelines where they were and
/// brings them up to date after it, in the background; its members are the same as a tick that refreshes inside.
/// </summary>
public abstract class AfterTickRefreshTests
{
    private static readonly DateTime Now = new(2026, 4, 2, 9, 0, 0, DateTimeKind.Utc);

    protected abstract IClickHouseEngine Engine { get; }

    [Fact]
    public async Task A_tick_leaves_the_timelines_behind_and_brings_them_up_to_date_after_it_with_the_same_members()
    {
        var inside = await WorldAsync();
        var after = await WorldAsync();
        await using var insideEvaluator = new SegmentEvaluator(Engine, inside.Schema, Options(afterTick: false));
        await using var afterEvaluator = new SegmentEvaluator(Engine, after.Schema, Options(afterTick: true));

        var refreshedInside = await insideEvaluator.TickAsync(EvaluationWorld.Tenant, Now, null, CancellationToken.None);
        Assert.Equal(0UL, await insideEvaluator.TimelinesRefreshAfterTick);
        Assert.Equal(0L, await RowsBehindAsync(inside.Schema));

        var refreshedAfter = await afterEvaluator.TickAsync(EvaluationWorld.Tenant, Now, null, CancellationToken.None);
        Assert.True(await afterEvaluator.TimelinesRefreshAfterTick > 0, "the refresh after the tick read no rows");
        Assert.Equal(0L, await RowsBehindAsync(after.Schema));
        Assert.True(
            refreshedAfter.Statistics.RowsRead < refreshedInside.Statistics.RowsRead,
            $"the tick read {refreshedAfter.Statistics.RowsRead} rows with the refresh after it, {refreshedInside.Statistics.RowsRead} with it inside");

        // The same seed, so the same segments and history: the same members, and both those of a full recompute.
        for (var i = 0; i < inside.World.SegmentIds.Count; i++)
        {
            var members = await after.World.StoredMembersAsync(after.World.SegmentIds[i]);
            Assert.Equal(await inside.World.StoredMembersAsync(inside.World.SegmentIds[i]), members);
            Assert.Equal(await after.World.RecomputeAsync(after.World.SegmentIds[i], Now), members);
        }

        // Later ticks read through the refreshed timelines and stay exact.
        var later = Now.AddHours(5);
        await after.World.IngestAsync(later.AddMinutes(-30), 20, 5);
        await afterEvaluator.TickAsync(EvaluationWorld.Tenant, later, null, CancellationToken.None);
        await afterEvaluator.TimelinesRefreshAfterTick;
        foreach (var id in after.World.SegmentIds)
        {
            Assert.Equal(await after.World.RecomputeAsync(id, later), await after.World.StoredMembersAsync(id));
        }
    }

    [Fact]
    public async Task Disposing_the_evaluator_waits_for_the_refresh_and_a_later_refresh_finishes_what_it_left()
    {
        var (schema, world) = await WorldAsync();
        var evaluator = new SegmentEvaluator(Engine, schema, Options(afterTick: true));
        await evaluator.TickAsync(EvaluationWorld.Tenant, Now, null, CancellationToken.None);
        var running = evaluator.TimelinesRefreshAfterTick;
        await evaluator.DisposeAsync();
        Assert.True(running.IsCompletedSuccessfully);

        // Cut short or not, the timelines stay consistent: a refresh now brings them up to date and the members hold.
        await new ProfileTimelinesRefresher(Engine, schema).RefreshAsync(EvaluationWorld.Tenant);
        Assert.Equal(0L, await RowsBehindAsync(schema));
        await using var next = new SegmentEvaluator(Engine, schema, Options(afterTick: true));
        var later = Now.AddHours(2);
        await next.TickAsync(EvaluationWorld.Tenant, later, null, CancellationToken.None);
        foreach (var id in world.SegmentIds)
        {
            Assert.Equal(await world.RecomputeAsync(id, later), await world.StoredMembersAsync(id));
        }
    }

    [Fact]
    public async Task A_container_disposed_synchronously_waits_for_the_refresh_too()
    {
        var (schema, world) = await WorldAsync();
        var provider = SegmentServices.Build(Engine, schema, Options(afterTick: true));
        var evaluator = (SegmentEvaluator)provider.GetRequiredService<ISegmentEvaluator>();
        await evaluator.TickAsync(EvaluationWorld.Tenant, Now, null, CancellationToken.None);
        var running = evaluator.TimelinesRefreshAfterTick;

        provider.Dispose();

        Assert.True(running.IsCompleted);
        foreach (var id in world.SegmentIds)
        {
            Assert.Equal(await world.RecomputeAsync(id, Now), await world.StoredMembersAsync(id));
        }
    }

    private static EvaluatorOptions Options(bool afterTick) => new()
    {
        IngestLag = TimeSpan.Zero,
        TimelinesRefreshShare = 0,
        RefreshTimelinesAfterTick = afterTick,
        Workers = 2,
        ChunkSize = 5,
    };

    /// <summary>A world whose timelines were built a month ago, with the month's history behind them.</summary>
    private async Task<(StorageSchema Schema, EvaluationWorld World)> WorldAsync()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var world = new EvaluationWorld(Engine, schema, 20260402, profiles: 40);
        await world.IngestHistoryAsync(Now.AddDays(-30), 20, 10, 3);
        await new ProfileTimelinesRefresher(Engine, schema).RefreshAsync(EvaluationWorld.Tenant);
        await world.IngestHistoryAsync(Now, 30, 10, 3);
        await world.SaveRandomSegmentsAsync(6, Now.AddDays(-1));
        return (schema, world);
    }

    private async Task<long> RowsBehindAsync(StorageSchema schema) =>
        (await new ProfileTimelinesRefresher(Engine, schema).RefreshWhenBehindAsync(EvaluationWorld.Tenant, double.PositiveInfinity)).DeferredRows ?? -1;
}

public sealed class EmbeddedAfterTickRefreshTests : AfterTickRefreshTests
{
    protected override IClickHouseEngine Engine => TestEngines.Embedded;
}

[Trait("Category", "Engine")]
public sealed class ServerAfterTickRefreshTests(ServerFixture fixture) : AfterTickRefreshTests, IClassFixture<ServerFixture>
{
    protected override IClickHouseEngine Engine => fixture.Engine;
}
