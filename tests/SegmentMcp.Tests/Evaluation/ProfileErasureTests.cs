using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Tests.Storage;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// <see cref="ProfileEraser"/> on both adapters: after erasing profiles that are members of segments (in the current
/// and an earlier generation), on lists and in the log, no read shows them at any time, stored membership and sizes
/// are a full recompute's, and later ticks stay exact, also when an erased id comes back with new data.
/// </summary>
public abstract class ProfileErasureTests
{
    private static readonly DateTime Now = new(2026, 5, 4, 9, 0, 0, DateTimeKind.Utc);

    protected abstract IClickHouseEngine Engine { get; }

    [Fact]
    public async Task Erased_profiles_leave_no_trace_and_the_evaluator_stays_exact()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var world = new EvaluationWorld(Engine, schema, 20261206, profiles: 40);
        await world.IngestHistoryAsync(Now.AddHours(-3), 20, 12, 4);
        await world.SaveRandomSegmentsAsync(8, Now.AddDays(-1));
        await using var evaluator = new SegmentEvaluator(Engine, schema, new EvaluatorOptions { IngestLag = TimeSpan.Zero, Workers = 2, ChunkSize = 5 });
        await evaluator.TickAsync(EvaluationWorld.Tenant, Now.AddHours(-2), null, CancellationToken.None);

        // An edit (a new generation on one engine) and an incremental tick, so the history has both kinds of entry.
        await world.ReplaceAsync(world.SegmentIds[0], Now.AddHours(-1));
        await world.IngestAsync(Now.AddMinutes(-90), 20, 6);
        await evaluator.TickAsync(EvaluationWorld.Tenant, Now.AddHours(-1), null, CancellationToken.None);
        var earlier = Now.AddMinutes(-110);
        var membersEarlier = new Dictionary<string, IReadOnlyList<string>>();
        foreach (var id in world.SegmentIds)
        {
            membersEarlier[id] = await world.Membership.MembersAtAsync(EvaluationWorld.Tenant, id, earlier, null, 1000, CancellationToken.None);
        }

        // The three profiles in the most segments, and an id nothing holds.
        var holdings = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var id in world.SegmentIds)
        {
            foreach (var member in await world.StoredMembersAsync(id))
            {
                holdings[member] = holdings.GetValueOrDefault(member) + 1;
            }
        }

        string[] erasing = [.. holdings.OrderByDescending(h => h.Value).ThenBy(h => h.Key, StringComparer.Ordinal).Take(3).Select(h => h.Key).Order(StringComparer.Ordinal)];
        var lists = new ListStore(Engine, schema, TimeProvider.System);
        var list = await lists.CreateAsync(EvaluationWorld.Tenant, "Erasure", [erasing[0], "kept"], CancellationToken.None);

        var report = await new ProfileEraser(Engine, schema, world.Segments, world.Membership).EraseAsync(EvaluationWorld.Tenant, [.. erasing, "nobody"], CancellationToken.None);
        Assert.Equal(erasing, report.Erased);
        Assert.Equal(["nobody"], report.Unknown);
        Assert.Equal(holdings.Where(h => erasing.Contains(h.Key)).Sum(h => (long)h.Value), report.RemovedFromSegments.Values.Sum());

        var states = await world.Segments.StatesAsync(EvaluationWorld.Tenant, null, CancellationToken.None);
        var profiles = new ProfileReader(Engine, schema);
        foreach (var id in world.SegmentIds)
        {
            var stored = await world.StoredMembersAsync(id);
            Assert.Equal(await world.RecomputeAsync(id, Now.AddHours(-1)), stored);
            Assert.Equal(stored.Count, states[id].Size);
            Assert.Equal(stored, await world.ReplayedLogAsync(id));
            Assert.Equal(
                membersEarlier[id].Where(m => !erasing.Contains(m)),
                await world.Membership.MembersAtAsync(EvaluationWorld.Tenant, id, earlier, null, 1000, CancellationToken.None));
        }

        foreach (var erased in erasing)
        {
            Assert.False(await profiles.ExistsAsync(EvaluationWorld.Tenant, erased, CancellationToken.None), erased);
        }

        Assert.Equal(["kept"], await lists.MembersAsync(EvaluationWorld.Tenant, list.Id, DateTime.UtcNow, null, 10, CancellationToken.None));

        // Later ticks are exact, with an erased id that comes back as a new profile among the new activity.
        await world.IngestAsync(Now.AddMinutes(-30), 30, 8);
        var back = new List<string>();
        foreach (var erased in erasing)
        {
            if (await profiles.ExistsAsync(EvaluationWorld.Tenant, erased, CancellationToken.None))
            {
                back.Add(erased);
            }
        }

        Assert.NotEmpty(back);
        await evaluator.TickAsync(EvaluationWorld.Tenant, Now, null, CancellationToken.None);
        states = await world.Segments.StatesAsync(EvaluationWorld.Tenant, null, CancellationToken.None);
        foreach (var id in world.SegmentIds)
        {
            var stored = await world.StoredMembersAsync(id);
            Assert.Equal(await world.RecomputeAsync(id, Now), stored);
            Assert.Equal(stored.Count, states[id].Size);
        }
    }
}

public sealed class EmbeddedProfileErasureTests : ProfileErasureTests
{
    protected override IClickHouseEngine Engine => TestEngines.Embedded;
}

[Trait("Category", "Engine")]
public sealed class ServerProfileErasureTests(ServerFixture fixture) : ProfileErasureTests, IClassFixture<ServerFixture>
{
    protected override IClickHouseEngine Engine => fixture.Engine;
}
