using SegmentMcp.Core.Evaluation;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// With the one-sided candidates looked up in a statement of their own, phase 2 starts with the jobs that have none while
/// the others' candidates are looked up in stored membership; those follow once the lookup answers, and every member
/// stays that of a full recompute.
/// </summary>
public sealed class OneSidedLookupOverlapTests
{
    private static readonly DateTime Start = new(2026, 8, 3, 9, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task Units_without_one_sided_candidates_start_before_the_lookup_answers()
    {
        var (world, schema, ids) = await EvaluationWorld.SeedAsync(47, Start.AddDays(-1), 300, 60, WholeMembershipWriteTests.Definitions);
        var recording = new RecordingEngine(Infrastructure.TestEngines.Embedded);
        await using var evaluator = new SegmentEvaluator(recording, schema, new EvaluatorOptions { Workers = 1, ChunkSize = 5, IngestLag = TimeSpan.Zero, ResolveOneSidedInPhaseOne = false });
        await evaluator.TickAsync(EvaluationWorld.Tenant, Start.AddDays(-1), null, CancellationToken.None);

        // The next tick's lookup of one-sided candidates waits until a unit has started (or 10 s have passed); units
        // that start before it is let through ran beside it. Looked up first, the lookup would wait the 10 s alone.
        var unitStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var startedBeforeTheLookup = new List<string>();
        var lookups = 0;
        var released = false;
        recording.BeforeQuery = async text =>
        {
            if (text.Contains(BatchedStatementsTests.LookupStatement, StringComparison.Ordinal))
            {
                Interlocked.Increment(ref lookups);
                await Task.WhenAny(unitStarted.Task, Task.Delay(TimeSpan.FromSeconds(10)));
                Volatile.Write(ref released, true);
            }
        };
        evaluator.BeforeChunk = work =>
        {
            if (!Volatile.Read(ref released))
            {
                lock (startedBeforeTheLookup)
                {
                    startedBeforeTheLookup.Add(work.SegmentId);
                }
            }

            unitStarted.TrySetResult();
            return ValueTask.CompletedTask;
        };

        await world.IngestAsync(Start, 120, 40);
        await evaluator.TickAsync(EvaluationWorld.Tenant, Start, null, CancellationToken.None);

        Assert.True(lookups > 0, "the tick looked up no one-sided candidates");
        Assert.NotEmpty(startedBeforeTheLookup);
        foreach (var id in ids)
        {
            Assert.Equal(await world.RecomputeAsync(id, Start), await world.StoredMembersAsync(id));
        }
    }
}
