using System.Text.RegularExpressions;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// A level's whole evaluations (new segments, changed versions) each write their log, and their current membership
/// follows in one statement for the level (<see cref="IMembershipStore.ApplyWholeAsync"/>) before any state advances;
/// when that write fails, every one of them keeps its state and the next tick repairs them from their logs.
/// </summary>
public sealed class WholeMembershipWriteTests
{
    private static readonly DateTime Start = new(2026, 7, 6, 9, 0, 0, DateTimeKind.Utc);

    /// <summary>Window segments whose edges move members one way only (one-sided candidates), and a property segment (none).</summary>
    internal static readonly SegmentDefinition[] Definitions =
    [
        new("Openers 3d", null, new EventCondition("Opened Email", [], new LastDaysWindow(3), Measure.Count, Comparison.Gte, 1)),
        new("No order 2d", null, new EventCondition("Placed Order", [], new LastDaysWindow(2), Measure.Count, Comparison.Eq, 0)),
        new("Browsers 4d", null, new EventCondition("Viewed Page", [], new LastDaysWindow(4), Measure.Count, Comparison.Gte, 3)),
        new("In Tokyo", null, new PropertyCondition(new PropertyFilter("city", FilterOperator.Eq, [new StringScalar("Tokyo")]))),
    ];

    /// <summary>Each of <see cref="Definitions"/> edited: some members stay, some leave, some enter.</summary>
    private static readonly SegmentDefinition[] Edited =
    [
        new("Openers 5d", null, new EventCondition("Opened Email", [], new LastDaysWindow(5), Measure.Count, Comparison.Gte, 1)),
        new("No order 1d", null, new EventCondition("Placed Order", [], new LastDaysWindow(1), Measure.Count, Comparison.Eq, 0)),
        new("Browsers 4d (2+)", null, new EventCondition("Viewed Page", [], new LastDaysWindow(4), Measure.Count, Comparison.Gte, 2)),
        new("In Paris", null, new PropertyCondition(new PropertyFilter("city", FilterOperator.Eq, [new StringScalar("Paris")]))),
    ];

    [Fact]
    public async Task New_segments_and_then_their_changed_versions_write_current_membership_in_one_statement_a_level()
    {
        var (world, schema, recording, ids) = await SeedAsync(41);
        await using var evaluator = new SegmentEvaluator(recording, schema, Options());

        var report = await evaluator.TickAsync(EvaluationWorld.Tenant, Start, null, CancellationToken.None);
        Assert.Equal(Definitions.Length, report.Segments.Count(s => s.EvaluatedWhole));
        Assert.Equal(Definitions.Length, recording.Statements.Count(IsMembershipLog));
        Assert.Equal(1, recording.Statements.Count(IsBucketWrite));
        await AssertMembersAsync(world, ids, Start, report);

        var later = Start.AddHours(3);
        await world.IngestAsync(later, 60, 20);
        for (var i = 0; i < ids.Count; i++)
        {
            await world.Segments.SaveAsync(EvaluationWorld.Tenant, ids[i], Edited[i].Name, null, SegmentDefinitionJson.Write(Edited[i]), CancellationToken.None);
        }

        recording.Statements.Clear();
        var changed = await evaluator.TickAsync(EvaluationWorld.Tenant, later, null, CancellationToken.None);
        Assert.Equal(Definitions.Length, changed.Segments.Count(s => s.EvaluatedWhole));
        Assert.Equal(Definitions.Length, recording.Statements.Count(IsMembershipLog));
        Assert.Equal(1, recording.Statements.Count(IsBucketWrite));
        Assert.True(changed.Statistics.Entered + changed.Statistics.Exited > 0, "the edited versions changed no member");
        await AssertMembersAsync(world, ids, later, changed);
    }

    [Fact]
    public async Task A_failed_membership_write_keeps_every_whole_evaluation_of_the_level_behind_and_the_next_tick_repairs_them()
    {
        var (world, schema, recording, ids) = await SeedAsync(43);
        await using var evaluator = new SegmentEvaluator(recording, schema, Options());
        recording.Fail = IsBucketWrite;

        var failed = await Assert.ThrowsAsync<TickFailedException>(() => evaluator.TickAsync(EvaluationWorld.Tenant, Start, null, CancellationToken.None));
        Assert.Equal(ids.Count, failed.Failures.Count);

        // Their logs were written, their states were not.
        var states = await world.Segments.StatesAsync(EvaluationWorld.Tenant, null, CancellationToken.None);
        Assert.All(ids, id => Assert.False(states.ContainsKey(id), $"{id} has a state after its membership write failed"));
        Assert.Equal(ids.Count, recording.Statements.Count(IsMembershipLog));

        recording.Fail = _ => false;
        var later = Start.AddHours(2);
        await world.IngestAsync(later, 60, 20);
        var repaired = await evaluator.TickAsync(EvaluationWorld.Tenant, later, null, CancellationToken.None);
        await AssertMembersAsync(world, ids, later, repaired);
    }

    private static EvaluatorOptions Options() => new() { Workers = 2, ChunkSize = 6, IngestLag = TimeSpan.Zero };

    private static bool IsMembershipLog(string statement) => Inserts(statement, "membership_log");

    private static bool IsBucketWrite(string statement) => Inserts(statement, "membership_buckets");

    private static bool Inserts(string statement, string table) =>
        Regex.IsMatch(statement, $@"^INSERT INTO \S+\.{table}[ (]", RegexOptions.None, TimeSpan.FromSeconds(1));

    /// <summary>Stored members, the report's sizes and the states' sizes all equal a full recompute's members.</summary>
    private static async Task AssertMembersAsync(EvaluationWorld world, List<string> ids, DateTime t, TickReport report)
    {
        var states = await world.Segments.StatesAsync(EvaluationWorld.Tenant, null, CancellationToken.None);
        foreach (var id in ids)
        {
            var expected = await world.RecomputeAsync(id, t);
            Assert.Equal(expected, await world.StoredMembersAsync(id));
            Assert.Equal(expected.Count, report.Segments.Single(s => s.SegmentId == id).Size);
            Assert.Equal(expected.Count, states[id].Size);
            Assert.Equal(t, states[id].EvaluatedAt);
        }
    }

    private static async Task<(EvaluationWorld World, StorageSchema Schema, RecordingEngine Recording, List<string> Ids)> SeedAsync(int seed)
    {
        var (world, schema, ids) = await EvaluationWorld.SeedAsync(seed, Start, 300, 60, Definitions);
        return (world, schema, new RecordingEngine(TestEngines.Embedded), ids);
    }
}
