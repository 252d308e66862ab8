using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Storage.Server;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>
/// Edits written as generations of stored members (schema 20, one engine): every reader of current membership follows
/// the generation the state names, ticks after an edit read and write the new one, and the past (members at a time,
/// the changes, the log replayed) is what the ticks recorded, across two edits of each segment, on both adapters.
/// </summary>
[Trait("Category", "Engine")]
public sealed class MembershipGenerationTests
{
    [Fact]
    public Task Edits_as_generations_keep_current_and_past_membership_exact_on_the_embedded_engine() =>
        RunAsync(TestEngines.Embedded, 53);

    [Fact]
    public async Task Edits_as_generations_keep_current_and_past_membership_exact_on_the_server_adapter()
    {
        await using var server = await ServerProcess.StartAsync();
        await using var engine = new ClickHouseServerEngine(server.ConnectionString);
        await RunAsync(engine, 59);
    }

    private static async Task RunAsync(IClickHouseEngine engine, int seed)
    {
        var schema = await TestEngines.NewSchemaAsync(engine, "generations");
        var world = await EvaluatorCrashTests.SeedAsync(engine, schema, seed);
        var history = new MembershipStore(engine, schema);
        var store = new RecordingMembership(history);
        var evaluator = new SegmentEvaluator(engine, schema, world.Segments, store, new EvaluatorOptions { Workers = 2, ChunkSize = 4, IngestLag = TimeSpan.Zero });
        var ticks = new List<(DateTime At, Dictionary<string, SortedSet<string>> Members)>();
        var now = EvaluatorCrashTests.Start;
        var previous = new Dictionary<string, SortedSet<string>>();
        for (var step = 0; step < 7; step++)
        {
            if (step is 1 or 4)
            {
                foreach (var id in world.SegmentIds.ToList())
                {
                    await world.ReplaceAsync(id, now);
                }
            }

            now = now.AddHours(3);
            await world.IngestAsync(now, 30, 8);
            var report = await evaluator.TickAsync(EvaluationWorld.Tenant, now, null, CancellationToken.None);
            var members = new Dictionary<string, SortedSet<string>>();
            foreach (var id in world.SegmentIds)
            {
                var expected = await world.RecomputeAsync(id, now);
                members[id] = expected;
                Assert.Equal(expected, await world.StoredMembersAsync(id));
                Assert.Equal(expected.Count, await store.CountAsync(EvaluationWorld.Tenant, id, CancellationToken.None));
                var result = report.Segments.Single(s => s.SegmentId == id);
                Assert.Equal(expected.Count, result.Size);
                var before = previous.GetValueOrDefault(id) ?? [];
                Assert.Equal(expected.Except(before).Count(), result.Entered);
                Assert.Equal(before.Except(expected).Count(), result.Exited);
                var changes = await world.ChangesAsync(id, now, now.AddMilliseconds(1));
                Assert.Equal(expected.Except(before), changes.Where(c => c.Entered).Select(c => c.ProfileId).Order(StringComparer.Ordinal));
                Assert.Equal(before.Except(expected), changes.Where(c => !c.Entered).Select(c => c.ProfileId).Order(StringComparer.Ordinal));
                var (among, _) = await store.MembersAmongAsync(EvaluationWorld.Tenant, id, [.. Enumerable.Range(0, 60).Select(world.Profile)], CancellationToken.None);
                Assert.Equal(expected.Where(p => string.CompareOrdinal(p, world.Profile(60)) < 0), among.Order(StringComparer.Ordinal));
            }

            // Readers across segments: the overlap of two, and a profile's segments, each of its current generation.
            var (first, second) = (world.SegmentIds[0], world.SegmentIds[1]);
            Assert.Equal(members[first].Intersect(members[second]).Count(), await store.OverlapAsync(EvaluationWorld.Tenant, first, second, CancellationToken.None));
            foreach (var profile in new[] { world.Profile(step), world.Profile(10 + step), world.Profile(20 + step) })
            {
                Assert.Equal(
                    world.SegmentIds.Where(id => members[id].Contains(profile)).Order(StringComparer.Ordinal),
                    await store.SegmentsOfProfileAsync(EvaluationWorld.Tenant, profile, CancellationToken.None));
            }

            ticks.Add((now, members));
            previous = members;
        }

        // Both edits of every segment that no other one references went in as generations of their own.
        Assert.True(store.UnloggedEdits >= 2, $"expected edits written as generations, got {store.UnloggedEdits}");

        // The past, at and just after every tick, before and after each edit; the whole history replayed.
        foreach (var (at, members) in ticks)
        {
            foreach (var (id, expected) in members)
            {
                Assert.Equal(expected, new SortedSet<string>(await history.MembersAtAsync(EvaluationWorld.Tenant, id, at, null, 10_000, CancellationToken.None), StringComparer.Ordinal));
                Assert.Equal(expected, new SortedSet<string>(await history.MembersAtAsync(EvaluationWorld.Tenant, id, at.AddMinutes(1), null, 10_000, CancellationToken.None), StringComparer.Ordinal));
                var paged = new SortedSet<string>(StringComparer.Ordinal);
                string? after = null;
                while (await history.MembersAtAsync(EvaluationWorld.Tenant, id, at, after, 3, CancellationToken.None) is { Count: > 0 } page)
                {
                    paged.UnionWith(page);
                    after = page[^1];
                }

                Assert.Equal(expected, paged);
            }
        }

        foreach (var id in world.SegmentIds)
        {
            Assert.Equal(previous[id], await world.ReplayedLogAsync(id));
            Assert.Empty(await history.MembersAtAsync(EvaluationWorld.Tenant, id, ticks[0].At.AddMilliseconds(-1), null, 10, CancellationToken.None));
        }

        // Deleting a segment removes the buckets of every one of its generations.
        var deleted = world.SegmentIds[0];
        Assert.True(await world.Segments.DeleteAsync(EvaluationWorld.Tenant, deleted, CancellationToken.None));
        await evaluator.TickAsync(EvaluationWorld.Tenant, now.AddHours(1), null, CancellationToken.None);
        var prefix = $"{EvaluationWorld.Tenant.Length}:{EvaluationWorld.Tenant}{deleted.Length}:{deleted}";
        Assert.Equal(0, await engine.QueryScalarAsync<long>(
            Sql.Of($"SELECT count() FROM {Sql.Table(schema.MembershipBuckets)} WHERE startsWith(key, {Sql.Param("String", prefix)})")));
        Assert.Equal(0, await engine.QueryScalarAsync<long>(
            Sql.Of($"SELECT count() FROM {Sql.Table(schema.SegmentGenerations)} WHERE segment_id = {Sql.Param("String", deleted)}")));
    }
}
