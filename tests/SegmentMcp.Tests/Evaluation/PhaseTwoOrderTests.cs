using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Sql;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// Phase 2's units go to the workers longest first (those waiting for their one-sided candidates' lookup after the others),
/// and the order changes no member.
/// </summary>
[Trait("Category", "Engine")]
public sealed class PhaseTwoOrderTests
{
    [Fact]
    public async Task A_worker_takes_the_longest_units_first_and_the_members_stay_exact()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var world = new EvaluationWorld(engine, schema, 43);
        var start = new DateTime(2026, 7, 1, 8, 0, 0, DateTimeKind.Utc);
        await world.IngestHistoryAsync(start, 12, 15, 5);
        await world.SaveRandomSegmentsAsync(6, start);

        // Small chunks and one worker: the order the worker takes them is the queue's order.
        var evaluator = new SegmentEvaluator(engine, schema, new EvaluatorOptions { Workers = 1, ChunkSize = 4, IngestLag = TimeSpan.Zero });
        await evaluator.TickAsync(EvaluationWorld.Tenant, start, null, CancellationToken.None);

        var propertyReaders = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var id in world.SegmentIds)
        {
            propertyReaders[id] = SegmentCompiler.ReadsEventProperties(await world.ValidatedAsync(id));
        }

        var now = start.AddHours(3);
        await world.IngestAsync(now, 60, 10);
        var taken = new List<ChunkWork>();
        evaluator.BeforeChunk = work =>
        {
            taken.Add(work);
            return ValueTask.CompletedTask;
        };
        await evaluator.TickAsync(EvaluationWorld.Tenant, now, null, CancellationToken.None);

        var chunks = taken.Where(work => !work.Whole).ToList();
        Assert.True(chunks.Count >= 4, $"only {chunks.Count} chunks were evaluated");
        Assert.True(chunks.Select(work => work.SegmentId).Distinct().Count() >= 2, "the chunks came from a single segment");
        // Two runs at most, each longest first: the units of the jobs without one-sided candidates, queued at once, then
        // those of the jobs whose one-sided candidates were looked up beside them. A job's units are all in one run.
        var costs = chunks.Select(work => work.ProfileIds.Count * (propertyReaders[work.SegmentId] ? 3.0 : 1.0)).ToList();
        var rises = Enumerable.Range(1, costs.Count - 1).Where(i => costs[i - 1] < costs[i]).ToList();
        Assert.True(rises.Count <= 1, $"the chunks were taken in {rises.Count + 1} runs, not longest first in at most two: {string.Join(", ", costs)}");
        if (rises.Count == 1)
        {
            var before = chunks.Take(rises[0]).Select(work => work.SegmentId).ToHashSet(StringComparer.Ordinal);
            Assert.DoesNotContain(chunks.Skip(rises[0]), work => before.Contains(work.SegmentId));
        }

        foreach (var id in world.SegmentIds)
        {
            Assert.Equal(await world.RecomputeAsync(id, now), await world.StoredMembersAsync(id));
        }
    }
}
