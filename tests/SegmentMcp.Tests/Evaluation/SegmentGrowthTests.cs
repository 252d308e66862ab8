using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// A segment's size day by day, replayed backwards from its size through its log, against the members the time-travel
/// reader gives at each day's end (first evaluation unlogged, an edit written as a generation, ticks between).
/// </summary>
public sealed class SegmentGrowthTests
{
    private static readonly DateTime Start = new(2026, 7, 6, 9, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task Each_day_s_size_is_the_membership_at_its_end()
    {
        var (world, schema, ids) = await EvaluationWorld.SeedAsync(43, Start, 300, 60, WholeMembershipWriteTests.Definitions);
        await using var evaluator = new SegmentEvaluator(TestEngines.Embedded, schema, new EvaluatorOptions { Workers = 2, ChunkSize = 6, IngestLag = TimeSpan.Zero });

        // Ticks on the first, second and fourth days (none on the third), new activity before each; an edit on the fourth.
        DateTime[] ticks = [Start, Start.AddDays(1).AddHours(2), Start.AddDays(1).AddHours(9), Start.AddDays(3).AddHours(1)];
        foreach (var (tick, i) in ticks.Select((t, i) => (t, i)))
        {
            if (i > 0)
            {
                await world.IngestAsync(tick, 60, 20);
            }

            if (i == 3)
            {
                var edited = new SegmentDefinition("Openers 5d", null, new EventCondition("Opened Email", [], new LastDaysWindow(5), Measure.Count, Comparison.Gte, 1));
                await world.Segments.SaveAsync(EvaluationWorld.Tenant, ids[0], edited.Name, null, SegmentDefinitionJson.Write(edited), CancellationToken.None);
            }

            await evaluator.TickAsync(EvaluationWorld.Tenant, tick, null, CancellationToken.None);
        }

        foreach (var id in ids)
        {
            var saved = await world.Segments.GetAsync(EvaluationWorld.Tenant, id, CancellationToken.None);
            var growth = await SegmentGrowth.ReadAsync(world.Membership, world.Membership, EvaluationWorld.Tenant, saved!, 10, CancellationToken.None);

            // Days from the first evaluation's to the last's, each ending with the members the log had by then.
            Assert.Equal(
                Enumerable.Range(0, 4).Select(d => DateOnly.FromDateTime(Start).AddDays(d)),
                growth.History.Select(d => d.Date));
            Assert.Equal(await world.Membership.CountAsync(EvaluationWorld.Tenant, id, CancellationToken.None), growth.Size);
            Assert.Equal(growth.Size, growth.History[^1].Size);
            foreach (var day in growth.History)
            {
                var end = day.Date.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc).AddMilliseconds(-1);
                var members = await world.Membership.MembersAtAsync(EvaluationWorld.Tenant, id, end, null, 100_000, CancellationToken.None);
                Assert.Equal(members.Count, day.Size);
            }

            // The third day had no tick: nothing changed on it; the first day's entries are the first evaluation.
            Assert.Equal((0L, 0L), (growth.History[2].Entered, growth.History[2].Exited));
            Assert.Equal(growth.History[0].Size, growth.History[0].Entered - growth.History[0].Exited);
        }

        // A shorter look back starts later; the sizes are the same days'.
        var lastTwo = await SegmentGrowth.ReadAsync(world.Membership, world.Membership, EvaluationWorld.Tenant, (await world.Segments.GetAsync(EvaluationWorld.Tenant, ids[0], CancellationToken.None))!, 2, CancellationToken.None);
        Assert.Equal(2, lastTwo.History.Count);
        Assert.Equal(DateOnly.FromDateTime(Start).AddDays(2), lastTwo.History[0].Date);
    }
}
