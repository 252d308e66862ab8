using System.Collections.Concurrent;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// A tick refreshes the timelines and the current values beside its first phase; what reads them waits for the refresh,
/// and a whole query of events alone, which reads neither, does not (a level of new segments has no phase 1 for the
/// refresh to run beside, so it used to start only once the refresh was done).
/// </summary>
[Trait("Category", "Engine")]
public sealed class RefreshOverlapTests
{
    [Fact]
    public async Task A_new_segment_of_events_alone_is_written_while_the_refresh_waits_and_a_property_segment_after_it()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var world = new EvaluationWorld(engine, schema, 71);
        var now = new DateTime(2026, 7, 1, 8, 0, 0, DateTimeKind.Utc);
        await world.IngestHistoryAsync(now, 6, 60, 30);
        var openers = await SaveAsync(world, """{"name": "Openers", "condition": {"event": {"metric": "Opened Email", "window": {"last_days": 30}, "op": "gte", "value": 1}}}""");
        var bostonians = await SaveAsync(world, """{"name": "Bostonians", "condition": {"property": {"name": "city", "op": "eq", "value": "Boston"}}}""");

        var openersWritten = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var order = new ConcurrentQueue<string>();
        var evaluator = new SegmentEvaluator(engine, schema, new EvaluatorOptions { Workers = 2, IngestLag = TimeSpan.Zero })
        {
            // The refresh cannot start before the events-only segment's log is written: were its whole query made to
            // wait for the refresh, the tick would stall here until the timeout failed it.
            BeforeReadStructuresRefresh = async () =>
            {
                await openersWritten.Task.WaitAsync(TimeSpan.FromSeconds(60));
                order.Enqueue("refresh");
            },
            AfterLogWritten = work =>
            {
                order.Enqueue(work.SegmentId);
                if (work.SegmentId == openers)
                {
                    openersWritten.TrySetResult();
                }

                return ValueTask.CompletedTask;
            },
        };

        var report = await evaluator.TickAsync(EvaluationWorld.Tenant, now, null, CancellationToken.None);

        Assert.Equal([openers, "refresh", bostonians], order.ToArray());
        foreach (var id in new[] { openers, bostonians })
        {
            var expected = await world.RecomputeAsync(id, now);
            Assert.NotEmpty(expected);
            Assert.Equal(expected, await world.StoredMembersAsync(id));
            Assert.Equal(expected.Count, report.Segments.Single(s => s.SegmentId == id).Size);
        }
    }

    private static async Task<string> SaveAsync(EvaluationWorld world, string json)
    {
        var definition = SegmentDefinitionJson.Parse(json).Definition ?? throw new InvalidOperationException(json);
        var saved = await world.Segments.SaveAsync(EvaluationWorld.Tenant, null, definition.Name, null, SegmentDefinitionJson.Write(definition), CancellationToken.None);
        world.SegmentIds.Add(saved.Id);
        return saved.Id;
    }
}
