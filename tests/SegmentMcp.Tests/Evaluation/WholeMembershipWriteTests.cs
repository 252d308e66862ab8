using System.Text.RegularExpressions;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>
/// A new segment's first evaluation writes its buckets straight from its query, without a log (readers of the past
/// derive its entries); so does a changed version, into a generation of its own (schema 20), or, logged as before, each
/// writes its log and their current membership follows in one statement for the level
/// (<see cref="IMembershipStore.ApplyWholeAsync"/>) before any state advances; when a write fails, the segments keep
/// their states and the next tick repairs them.
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

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task New_segments_write_their_buckets_without_a_log_and_their_changed_versions_write_membership_in_one_statement_a_level(bool generations)
    {
        var (world, schema, recording, ids) = await SeedAsync(41);
        var membership = new RecordingMembership(new MembershipStore(recording, schema) { EditsAsGenerations = generations });
        await using var evaluator = new SegmentEvaluator(recording, schema, new SegmentStore(recording, schema), membership, Options());

        // A first evaluation: every member written once, into the buckets, straight from the query; nothing logged.
        var report = await evaluator.TickAsync(EvaluationWorld.Tenant, Start, null, CancellationToken.None);
        Assert.Equal(Definitions.Length, report.Segments.Count(s => s.EvaluatedWhole));
        Assert.Equal(Definitions.Length, membership.UnloggedFirstEvaluations);
        Assert.Equal(0, recording.Statements.Count(IsMembershipLog));
        Assert.Equal(Definitions.Length, recording.Statements.Count(IsBucketWrite));
        Assert.Equal(0, await LogRowsAsync(world, schema));
        await AssertMembersAsync(world, ids, Start, report);

        // Readers of the past derive the first evaluation's entries from the buckets.
        var first = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            first[id] = await world.RecomputeAsync(id, Start);
            var changes = await world.ChangesAsync(id);
            Assert.All(changes, c => Assert.True(c.Entered && c.At == Start, c.ToString()));
            Assert.Equal(first[id], changes.Select(c => c.ProfileId).ToHashSet());
            Assert.Equal(first[id], await MembersAtAsync(world, id, Start));
        }

        var later = Start.AddHours(3);
        await world.IngestAsync(later, 60, 20);
        for (var i = 0; i < ids.Count; i++)
        {
            await world.Segments.SaveAsync(EvaluationWorld.Tenant, ids[i], Edited[i].Name, null, SegmentDefinitionJson.Write(Edited[i]), CancellationToken.None);
        }

        recording.Statements.Clear();
        var changed = await evaluator.TickAsync(EvaluationWorld.Tenant, later, null, CancellationToken.None);
        Assert.Equal(Definitions.Length, changed.Segments.Count(s => s.EvaluatedWhole));
        Assert.Equal(generations ? 0 : Definitions.Length, recording.Statements.Count(IsMembershipLog));
        Assert.Equal(generations ? Definitions.Length : 1, recording.Statements.Count(IsBucketWrite));
        Assert.Equal(generations ? Definitions.Length : 0, membership.UnloggedEdits);
        Assert.True(changed.Statistics.Entered + changed.Statistics.Exited > 0, "the edited versions changed no member");
        await AssertMembersAsync(world, ids, later, changed);

        // The first evaluation is still what members_at and the changes give for it, with the logged changes after it.
        foreach (var id in ids)
        {
            var now = await world.RecomputeAsync(id, later);
            Assert.Equal(first[id], await MembersAtAsync(world, id, Start));
            Assert.Equal(first[id], await MembersAtAsync(world, id, later.AddMinutes(-1)));
            Assert.Equal(now, await MembersAtAsync(world, id, later));
            Assert.Equal(first[id], (await world.ChangesAsync(id, null, later)).Select(c => c.ProfileId).ToHashSet());
            Assert.Equal(now, await world.ReplayedLogAsync(id));
        }
    }

    [Fact]
    public async Task A_first_evaluation_replaces_every_bucket_an_earlier_attempt_left()
    {
        var (world, schema, recording, ids) = await SeedAsync(42);

        // An attempt cut short before the state advanced: a bucket of stale members (one who will not qualify).
        var stale = Sql.Of(
            $"""
            INSERT INTO {Sql.Table(schema.MembershipBuckets)} (key, members)
            SELECT {TimelineKeys.MembershipBucket(Sql.Param("String", EvaluationWorld.Tenant), Sql.Param("String", ids[0]), Sql.Param("String", "nobody"))}, ['nobody']
            """);
        await recording.ExecuteAsync(stale);
        Assert.Equal(1, await world.Membership.CountAsync(EvaluationWorld.Tenant, ids[0], CancellationToken.None));

        await using var evaluator = new SegmentEvaluator(recording, schema, Options());
        var report = await evaluator.TickAsync(EvaluationWorld.Tenant, Start, null, CancellationToken.None);
        await AssertMembersAsync(world, ids, Start, report);
        Assert.DoesNotContain("nobody", await world.StoredMembersAsync(ids[0]));
        Assert.Equal(await world.RecomputeAsync(ids[0], Start), await MembersAtAsync(world, ids[0], Start));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_failed_membership_write_keeps_every_whole_evaluation_behind_and_the_next_tick_repairs_them(bool generations)
    {
        var (world, schema, recording, ids) = await SeedAsync(43);
        var membership = new MembershipStore(recording, schema) { EditsAsGenerations = generations };
        await using var evaluator = new SegmentEvaluator(recording, schema, new SegmentStore(recording, schema), membership, Options());
        recording.Fail = IsBucketWrite;

        // New segments: each one's write fails on its own, and none gets a state.
        var failed = await Assert.ThrowsAsync<TickFailedException>(() => evaluator.TickAsync(EvaluationWorld.Tenant, Start, null, CancellationToken.None));
        Assert.Equal(ids.Count, failed.Failures.Count);
        var states = await world.Segments.StatesAsync(EvaluationWorld.Tenant, null, CancellationToken.None);
        Assert.All(ids, id => Assert.False(states.ContainsKey(id), $"{id} has a state after its membership write failed"));

        recording.Fail = _ => false;
        var later = Start.AddHours(2);
        await world.IngestAsync(later, 60, 20);
        var repaired = await evaluator.TickAsync(EvaluationWorld.Tenant, later, null, CancellationToken.None);
        await AssertMembersAsync(world, ids, later, repaired);

        // Changed versions: their generations' writes fail each on its own, or their logs are written and the level's
        // one membership write fails; either way every one of them keeps its previous state, and the next tick (rolling
        // the logs forward) evaluates them again.
        for (var i = 0; i < ids.Count; i++)
        {
            await world.Segments.SaveAsync(EvaluationWorld.Tenant, ids[i], Edited[i].Name, null, SegmentDefinitionJson.Write(Edited[i]), CancellationToken.None);
        }

        recording.Statements.Clear();
        recording.Fail = IsBucketWrite;
        var edited = later.AddHours(1);
        var failedAgain = await Assert.ThrowsAsync<TickFailedException>(() => evaluator.TickAsync(EvaluationWorld.Tenant, edited, null, CancellationToken.None));
        Assert.Equal(ids.Count, failedAgain.Failures.Count);
        Assert.Equal(generations ? 0 : ids.Count, recording.Statements.Count(IsMembershipLog));
        states = await world.Segments.StatesAsync(EvaluationWorld.Tenant, null, CancellationToken.None);
        Assert.All(ids, id => Assert.Equal(later, states[id].EvaluatedAt));

        recording.Fail = _ => false;
        var last = edited.AddHours(1);
        await world.IngestAsync(last, 60, 20);
        var repairedAgain = await evaluator.TickAsync(EvaluationWorld.Tenant, last, null, CancellationToken.None);
        await AssertMembersAsync(world, ids, last, repairedAgain);
        foreach (var id in ids)
        {
            Assert.Equal(await world.RecomputeAsync(id, last), await world.ReplayedLogAsync(id));
        }
    }

    private static async Task<SortedSet<string>> MembersAtAsync(EvaluationWorld world, string id, DateTime at) =>
        new(await world.Membership.MembersAtAsync(EvaluationWorld.Tenant, id, at, null, 100_000, CancellationToken.None), StringComparer.Ordinal);

    private static Task<long> LogRowsAsync(EvaluationWorld world, StorageSchema schema) =>
        TestEngines.Embedded.QueryScalarAsync<long>(
            Sql.Of($"SELECT count() FROM {Sql.Table(schema.MembershipLog)} WHERE tenant = {Sql.Param("String", EvaluationWorld.Tenant)}"));

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
