using System.Collections.Concurrent;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// Phase 1 of a dependency level whose segments share a stored state is one candidate statement and one lookup of
/// their one-sided candidates, and a chunk is evaluated and diffed against stored membership in one statement, with
/// the members a full recompute gives; if the shared phase-1 statement fails, each segment is planned alone and the
/// tick is still exact.
/// </summary>
[Trait("Category", "Engine")]
public sealed class BatchedStatementsTests
{
    private static readonly DateTime Start = new(2026, 6, 3, 9, 0, 0, DateTimeKind.Utc);

    /// <summary>How the statement of a level's phase 1 begins.</summary>
    private const string SharedStatement = "SELECT segment, profile_id, groupBitOr(directions) AS directions FROM (";

    /// <summary>How the statement of a level's phase 1 begins when it reads its one-sided candidates' stored membership.</summary>
    private const string ResolvedStatement = "SELECT kept.1 AS segment, kept.2 AS profile_id, kept.3 AS directions";

    /// <summary>What a lookup of one-sided candidates in stored membership, a statement of its own, reads.</summary>
    internal const string LookupStatement = "SELECT key, member FROM";

    /// <summary>How a statement evaluating several segments' chunks together begins.</summary>
    private const string LevelStatement = "WITH {profile_ids:Array(String)} AS candidate_ids, {candidate_segments:Array(UInt32)} AS candidate_segments ";

    /// <summary>Window edges that can only make a profile leave (count ≥ 1) or only enter (count = 0), a property.</summary>
    private static readonly SegmentDefinition[] Definitions =
    [
        new("Openers 2d", null, new EventCondition("Opened Email", [], new LastDaysWindow(2), Measure.Count, Comparison.Gte, 1)),
        new("No order 1d", null, new EventCondition("Placed Order", [], new LastDaysWindow(1), Measure.Count, Comparison.Eq, 0)),
        new("Browsers 3d", null, new EventCondition("Viewed Page", [], new LastDaysWindow(3), Measure.Count, Comparison.Gte, 2)),
        new("In Boston", null, new PropertyCondition(new PropertyFilter("city", FilterOperator.Eq, [new StringScalar("Boston")]))),
    ];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_level_at_one_state_is_planned_in_one_statement_with_the_members_of_a_full_recompute(bool resolveOneSidedInPhaseOne)
    {
        var (world, schema, recording, ids) = await SeedAsync(resolveOneSidedInPhaseOne ? 37 : 31);
        var evaluator = new SegmentEvaluator(
            recording,
            schema,
            new EvaluatorOptions { Workers = 2, ChunkSize = 6, IngestLag = TimeSpan.Zero, ResolveOneSidedInPhaseOne = resolveOneSidedInPhaseOne, PhaseOneStatements = 1 });
        await evaluator.TickAsync(EvaluationWorld.Tenant, Start, null, CancellationToken.None);

        var lookups = 0;
        var resolvedInPhaseOne = 0;
        for (var tick = 1; tick <= 4; tick++)
        {
            var t = Start.AddHours(tick * 13);
            await world.IngestAsync(t, 90, 20);
            recording.Statements.Clear();
            await evaluator.TickAsync(EvaluationWorld.Tenant, t, null, CancellationToken.None);

            var phase1 = recording.Statements.Where(s => s.Contains("groupBitOr(direction", StringComparison.Ordinal)).ToList();
            Assert.Single(phase1);
            Assert.StartsWith(resolveOneSidedInPhaseOne ? ResolvedStatement : SharedStatement, phase1[0], StringComparison.Ordinal);
            Assert.Contains(SharedStatement, phase1[0], StringComparison.Ordinal);
            resolvedInPhaseOne += phase1[0].Contains("has(s.members, row.2)", StringComparison.Ordinal) ? 1 : 0;

            // The three windows' new rows in one read, their edges in another.
            Assert.Equal(2, phase1[0].Split("ARRAY JOIN arrayFilter(").Length - 1);
            lookups += recording.Statements.Count(s => s.Contains(LookupStatement, StringComparison.Ordinal));
            await AssertMembersAsync(world, ids, t);
        }

        // The count ≥ 1 windows lose events at their lower edge: those profiles are looked up together, in a statement
        // of their own or inside phase 1's.
        if (resolveOneSidedInPhaseOne)
        {
            Assert.Equal(0, lookups);
            Assert.Equal(4, resolvedInPhaseOne);
        }
        else
        {
            Assert.True(lookups > 0);
            Assert.Equal(0, resolvedInPhaseOne);
        }
    }

    [Theory]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    public async Task A_level_split_into_statements_side_by_side_has_the_members_of_a_full_recompute(int statements, int expected)
    {
        // Four segments at one state: at least two a statement, so three statements asked for make two.
        var (world, schema, recording, ids) = await SeedAsync(40 + statements);
        var evaluator = new SegmentEvaluator(recording, schema, new EvaluatorOptions { Workers = 2, ChunkSize = 6, IngestLag = TimeSpan.Zero, PhaseOneStatements = statements });
        await evaluator.TickAsync(EvaluationWorld.Tenant, Start, null, CancellationToken.None);

        var changed = 0L;
        for (var tick = 1; tick <= 4; tick++)
        {
            var t = Start.AddHours(tick * 13);
            await world.IngestAsync(t, 90, 20);
            recording.Statements.Clear();
            var report = await evaluator.TickAsync(EvaluationWorld.Tenant, t, null, CancellationToken.None);
            changed += report.Statistics.Entered + report.Statistics.Exited;

            Assert.Equal(expected, recording.Statements.Count(s => s.Contains("groupBitOr(direction", StringComparison.Ordinal)));
            await AssertMembersAsync(world, ids, t);
        }

        Assert.True(changed > 0);
    }

    [Fact]
    public async Task A_segment_evaluated_whole_never_looks_up_its_one_sided_candidates()
    {
        var (world, schema, _, ids) = await SeedAsync(36);

        // Every segment with a possible candidate goes whole: the whole rules weigh the one-sided candidates too,
        // before any lookup, so the lookup never runs.
        var engine = TestEngines.Embedded;
        var options = new EvaluatorOptions
        {
            Workers = 2, ChunkSize = 6, IngestLag = TimeSpan.Zero, WholeEvaluationMinimum = 1, WholeEvaluationShare = 1e-9, PropertyWholeEvaluationMinimum = 1, PropertyWholeEvaluationShare = 1e-9,
            ResolveOneSidedInPhaseOne = false,
        };
        var membership = new RecordingMembership(new MembershipStore(engine, schema));
        var evaluator = new SegmentEvaluator(engine, schema, new SegmentStore(engine, schema), membership, options);
        await evaluator.TickAsync(EvaluationWorld.Tenant, Start, null, CancellationToken.None);

        var whole = 0;
        for (var tick = 1; tick <= 3; tick++)
        {
            var t = Start.AddHours(tick * 13);
            await world.IngestAsync(t, 90, 20);
            var report = await evaluator.TickAsync(EvaluationWorld.Tenant, t, null, CancellationToken.None);
            whole += report.Segments.Count(s => s.EvaluatedWhole);
            await AssertMembersAsync(world, ids, t);
        }

        Assert.Equal(0, membership.Lookups);
        Assert.True(whole >= 6, $"only {whole} whole evaluations");
    }

    [Fact]
    public async Task A_chunk_is_evaluated_and_diffed_in_one_statement()
    {
        var (world, schema, recording, ids) = await SeedAsync(33);
        var evaluator = new SegmentEvaluator(recording, schema, new EvaluatorOptions { Workers = 2, ChunkSize = 5, IngestLag = TimeSpan.Zero });
        await evaluator.TickAsync(EvaluationWorld.Tenant, Start, null, CancellationToken.None);

        var changed = 0L;
        for (var tick = 1; tick <= 3; tick++)
        {
            var t = Start.AddHours(tick * 17);
            await world.IngestAsync(t, 90, 20);
            recording.Statements.Clear();
            var report = await evaluator.TickAsync(EvaluationWorld.Tenant, t, null, CancellationToken.None);
            changed += report.Statistics.Entered + report.Statistics.Exited;

            // Chunks of 5 candidates: several a segment, each one statement with its diff, none a lookup of its own.
            Assert.True(recording.Statements.Count(s => s.Contains("WHERE now_member != was_member", StringComparison.Ordinal)) >= report.Statistics.Chunks);
            Assert.DoesNotContain(recording.Statements, s => s.StartsWith("SELECT substring(key", StringComparison.Ordinal));
            await AssertMembersAsync(world, ids, t);
        }

        Assert.True(changed > 0);
    }

    [Fact]
    public async Task A_levels_chunks_are_evaluated_together_in_one_statement_per_chunk_of_pairs()
    {
        var (world, schema, recording, ids) = await SeedAsync(34);
        var evaluator = new SegmentEvaluator(recording, schema, new EvaluatorOptions { Workers = 2, ChunkSize = 7, IngestLag = TimeSpan.Zero, EvaluateTogether = true });
        var failures = new ConcurrentQueue<Exception>();
        evaluator.TogetherFailed = failures.Enqueue;
        await evaluator.TickAsync(EvaluationWorld.Tenant, Start, null, CancellationToken.None);

        var together = 0;
        var changed = 0L;
        for (var tick = 1; tick <= 4; tick++)
        {
            var t = Start.AddHours(tick * 11);
            await world.IngestAsync(t, 90, 20);
            recording.Statements.Clear();
            var report = await evaluator.TickAsync(EvaluationWorld.Tenant, t, null, CancellationToken.None);
            changed += report.Statistics.Entered + report.Statistics.Exited;

            // Pairs cut into chunks of 7, or half of them for the two workers when fewer (a segment's candidates may
            // span two chunks): each chunk one statement for all its segments, and no segment a chunk statement of its own.
            var levelStatements = recording.Statements.Count(s => s.StartsWith(LevelStatement, StringComparison.Ordinal));
            var restricted = report.Segments.Where(s => !s.EvaluatedWhole && s.Candidates > 0).ToList();
            if (restricted.Count >= 2)
            {
                var pairs = restricted.Sum(s => s.Candidates);
                Assert.Equal((int)Math.Ceiling(pairs / (double)Math.Min(7, (pairs + 1) / 2)), levelStatements);
                Assert.DoesNotContain(recording.Statements, s => s.Contains("WHERE now_member != was_member", StringComparison.Ordinal));
            }

            together += levelStatements;
            await AssertMembersAsync(world, ids, t);
        }

        Assert.True(together >= 4, $"only {together} level statements");
        Assert.True(changed > 0);
        Assert.Empty(failures);
    }

    [Fact]
    public async Task A_failed_level_statement_falls_back_to_a_statement_per_segment_chunk()
    {
        var (world, schema, recording, ids) = await SeedAsync(35);
        var evaluator = new SegmentEvaluator(recording, schema, new EvaluatorOptions { Workers = 2, ChunkSize = 50, IngestLag = TimeSpan.Zero, EvaluateTogether = true });
        var failures = new ConcurrentQueue<Exception>();
        evaluator.TogetherFailed = failures.Enqueue;
        await evaluator.TickAsync(EvaluationWorld.Tenant, Start, null, CancellationToken.None);

        var t = Start.AddHours(20);
        await world.IngestAsync(t, 90, 20);
        recording.Fail = s => s.StartsWith(LevelStatement, StringComparison.Ordinal);
        recording.Statements.Clear();
        // No segment fails (a failed segment would make the tick throw).
        await evaluator.TickAsync(EvaluationWorld.Tenant, t, null, CancellationToken.None);

        Assert.NotEmpty(failures);
        Assert.Contains(recording.Statements, s => s.Contains("WHERE now_member != was_member", StringComparison.Ordinal));
        await AssertMembersAsync(world, ids, t);
        foreach (var id in ids)
        {
            Assert.Equal(t, (await world.Segments.GetAsync(EvaluationWorld.Tenant, id, CancellationToken.None))!.EvaluatedAt);
        }
    }

    [Fact]
    public async Task A_failed_shared_statement_falls_back_to_one_statement_a_segment()
    {
        var (world, schema, recording, ids) = await SeedAsync(32);
        var evaluator = new SegmentEvaluator(recording, schema, new EvaluatorOptions { Workers = 1, ChunkSize = 6, IngestLag = TimeSpan.Zero, PhaseOneStatements = 2 });
        await evaluator.TickAsync(EvaluationWorld.Tenant, Start, null, CancellationToken.None);

        var t = Start.AddHours(20);
        await world.IngestAsync(t, 90, 20);
        recording.Fail = s => s.Contains(SharedStatement, StringComparison.Ordinal);
        recording.Statements.Clear();
        // No segment fails (a failed segment would make the tick throw).
        await evaluator.TickAsync(EvaluationWorld.Tenant, t, null, CancellationToken.None);

        // Both shared statements (two segments each), then one a segment.
        Assert.Equal(2 + ids.Count, recording.Statements.Count(s => s.Contains("groupBitOr(direction", StringComparison.Ordinal)));
        foreach (var id in ids)
        {
            Assert.Equal(await world.RecomputeAsync(id, t), await world.StoredMembersAsync(id));
            Assert.Equal(t, (await world.Segments.GetAsync(EvaluationWorld.Tenant, id, CancellationToken.None))!.EvaluatedAt);
        }
    }

    [Theory]
    [InlineData("acme", "seg", "p1")]
    [InlineData("4:acme", "12:seg:3", "7:p:1")]
    [InlineData("café", "東京", "🎉 profile")]
    [InlineData("t", "", "")]
    public void A_membership_key_reads_back_into_its_segment_and_profile(string tenant, string segment, string profile)
    {
        var bytes = System.Text.Encoding.UTF8;
        var key = $"{bytes.GetByteCount(tenant)}:{tenant}{bytes.GetByteCount(segment)}:{segment}{profile}";

        Assert.Equal((segment, profile), TimelineKeys.ReadMembership(key, tenant));
        Assert.Null(TimelineKeys.ReadMembership(key, tenant + "x"));
        Assert.Null(TimelineKeys.ReadMembership($"{bytes.GetByteCount(tenant)}:{tenant}99:{segment}", tenant));
    }

    private static async Task AssertMembersAsync(EvaluationWorld world, List<string> ids, DateTime t)
    {
        foreach (var id in ids)
        {
            Assert.Equal(await world.RecomputeAsync(id, t), await world.StoredMembersAsync(id));
        }
    }

    private static async Task<(EvaluationWorld World, StorageSchema Schema, RecordingEngine Recording, List<string> Ids)> SeedAsync(int seed)
    {
        var (world, schema, ids) = await EvaluationWorld.SeedAsync(seed, Start, 300, 60, Definitions);
        return (world, schema, new RecordingEngine(TestEngines.Embedded), ids);
    }
}
