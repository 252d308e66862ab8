using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// A segment that references others runs beside them, its phase 1 in the level's one statement, while no segment of
/// its chain takes a new definition; in a tick where one does, it waits for the chain as before. A chain whose
/// middle segment failed on the tick its reference changed is repaired from the changed segment's log.
/// </summary>
[Trait("Category", "Engine")]
public sealed class ReferencedSegmentTests
{
    private static readonly DateTime Start = new(2026, 6, 3, 9, 0, 0, DateTimeKind.Utc);

    private const string PhaseOne = "groupBitOr(direction";

    private static readonly SegmentDefinition Openers =
        new("Openers 2d", null, new EventCondition("Opened Email", [], new LastDaysWindow(2), Measure.Count, Comparison.Gte, 1));

    private static readonly SegmentDefinition Browsers =
        new("Browsers 3d", null, new EventCondition("Viewed Page", [], new LastDaysWindow(3), Measure.Count, Comparison.Gte, 2));

    [Fact]
    public async Task A_chain_of_references_is_planned_in_one_statement_and_waits_only_when_a_definition_changes()
    {
        var (world, recording, ids, evaluator) = await EvaluatedAsync(41);

        for (var tick = 1; tick <= 3; tick++)
        {
            var t = Start.AddHours(tick * 13);
            await world.IngestAsync(t, 90, 20);
            recording.Statements.Clear();
            await evaluator.TickAsync(EvaluationWorld.Tenant, t, null, CancellationToken.None);

            // The three segments at one state: one phase-1 statement, no level after the first.
            Assert.Single(recording.Statements, s => s.Contains(PhaseOne, StringComparison.Ordinal));
            await AssertMembersAsync(world, ids, t);
        }

        // The bottom of the chain takes a new definition: the other two wait for it, a level each.
        await world.Segments.SaveAsync(EvaluationWorld.Tenant, ids[0], Browsers.Name, null, SegmentDefinitionJson.Write(Browsers), CancellationToken.None);
        var changed = Start.AddHours(52);
        await world.IngestAsync(changed, 90, 20);
        recording.Statements.Clear();
        await evaluator.TickAsync(EvaluationWorld.Tenant, changed, null, CancellationToken.None);
        Assert.Equal(2, recording.Statements.Count(s => s.Contains(PhaseOne, StringComparison.Ordinal)));
        await AssertMembersAsync(world, ids, changed);

        var after = changed.AddHours(7);
        await world.IngestAsync(after, 90, 20);
        recording.Statements.Clear();
        await evaluator.TickAsync(EvaluationWorld.Tenant, after, null, CancellationToken.None);
        Assert.Single(recording.Statements, s => s.Contains(PhaseOne, StringComparison.Ordinal));
        await AssertMembersAsync(world, ids, after);
    }

    [Fact]
    public async Task A_chain_that_failed_when_its_reference_changed_is_repaired_beside_it()
    {
        var (world, recording, ids, evaluator) = await EvaluatedAsync(42);
        var t = Start.AddHours(13);
        await world.IngestAsync(t, 90, 20);
        await evaluator.TickAsync(EvaluationWorld.Tenant, t, null, CancellationToken.None);

        // The bottom segment changes definition; the middle one fails in that tick, and the top one cannot run
        // without it. Neither wrote anything, and only the bottom one's log holds what its new definition changed.
        await world.Segments.SaveAsync(EvaluationWorld.Tenant, ids[0], Browsers.Name, null, SegmentDefinitionJson.Write(Browsers), CancellationToken.None);
        var changed = t.AddHours(20);
        evaluator.BeforeChunk = work => work.SegmentId == ids[1] ? throw new IOException("injected") : ValueTask.CompletedTask;
        var failed = await Assert.ThrowsAsync<TickFailedException>(() => evaluator.TickAsync(EvaluationWorld.Tenant, changed, null, CancellationToken.None));
        Assert.Equal([.. ids[1..].Select(id => $"{EvaluationWorld.Tenant}/{id}").Order(StringComparer.Ordinal)], failed.Failures.Keys.Order(StringComparer.Ordinal));
        Assert.NotEmpty(await world.ChangesAsync(ids[0], changed, changed.AddMilliseconds(1)));
        evaluator.BeforeChunk = null;

        // Every definition is settled now, so the chain runs in the first level, repaired from that log: the bottom
        // segment's state differs from the others', so two phase-1 statements, both before any chunk.
        var after = changed.AddMinutes(30);
        recording.Statements.Clear();
        await evaluator.TickAsync(EvaluationWorld.Tenant, after, null, CancellationToken.None);
        var statements = recording.Statements.ToList();
        var phaseOne = statements.FindLastIndex(s => s.Contains(PhaseOne, StringComparison.Ordinal));
        var firstChunk = statements.FindIndex(s => s.Contains("WHERE now_member != was_member", StringComparison.Ordinal));
        Assert.InRange(phaseOne, 0, firstChunk - 1);
        await AssertMembersAsync(world, ids, after);
    }

    [Fact]
    public async Task A_chain_that_takes_new_definitions_throughout_runs_in_one_level_its_references_written_as_generations()
    {
        var (world, recording, ids, evaluator) = await EvaluatedAsync(43);
        var t = Start.AddHours(13);
        await world.IngestAsync(t, 90, 20);
        await evaluator.TickAsync(EvaluationWorld.Tenant, t, null, CancellationToken.None);

        // Every segment of the chain takes a new definition: each is evaluated whole by its compiled query (references
        // inlined), so none waits for another, and none is read by a phase 1 this tick.
        var versions = await SaveNewVersionsAsync(world, ids);
        var changed = t.AddHours(20);
        await world.IngestAsync(changed, 90, 20);
        IReadOnlyDictionary<string, Core.Storage.SegmentState>? statesWhenTopStarted = null;
        evaluator.BeforeChunk = async work =>
        {
            if (work.SegmentId == ids[2])
            {
                statesWhenTopStarted = await world.Segments.StatesAsync(EvaluationWorld.Tenant, null, CancellationToken.None);
            }
        };
        await evaluator.TickAsync(EvaluationWorld.Tenant, changed, null, CancellationToken.None);
        evaluator.BeforeChunk = null;

        // The top segment started before any state of the tick was written: no level before it.
        Assert.NotNull(statesWhenTopStarted);
        Assert.All(ids, id => Assert.NotEqual(versions[id], statesWhenTopStarted[id].Version));
        var states = await world.Segments.StatesAsync(EvaluationWorld.Tenant, null, CancellationToken.None);
        foreach (var id in ids)
        {
            Assert.Equal(versions[id], states[id].Version);
            Assert.Equal(versions[id], states[id].Generation);
        }

        await AssertMembersAsync(world, ids, changed);

        // Settled again: the next ticks read the chain incrementally, phase 1 of the referencing segments from the
        // references' rules (their edits are in no log), and agree with the full recompute.
        for (var tick = 1; tick <= 2; tick++)
        {
            var next = changed.AddHours(tick * 9);
            await world.IngestAsync(next, 90, 20);
            await evaluator.TickAsync(EvaluationWorld.Tenant, next, null, CancellationToken.None);
            await AssertMembersAsync(world, ids, next);
        }
    }

    [Fact]
    public async Task A_segment_evaluated_beside_its_references_keeps_its_state_when_one_of_them_fails()
    {
        var (world, recording, ids, evaluator) = await EvaluatedAsync(44);
        var before = await world.Segments.StatesAsync(EvaluationWorld.Tenant, null, CancellationToken.None);
        var membersBefore = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            membersBefore[id] = await world.StoredMembersAsync(id);
        }

        // The bottom segment fails on the tick every definition changes: the two above it were evaluated beside it,
        // and their next phase 1 would read a log of its edit that was never written, so neither state advances.
        var versions = await SaveNewVersionsAsync(world, ids);
        var changed = Start.AddHours(20);
        await world.IngestAsync(changed, 90, 20);
        evaluator.BeforeChunk = work => work.SegmentId == ids[0] ? throw new IOException("injected") : ValueTask.CompletedTask;
        var failed = await Assert.ThrowsAsync<TickFailedException>(() => evaluator.TickAsync(EvaluationWorld.Tenant, changed, null, CancellationToken.None));
        evaluator.BeforeChunk = null;
        Assert.Equal([.. ids.Select(id => $"{EvaluationWorld.Tenant}/{id}").Order(StringComparer.Ordinal)], failed.Failures.Keys.Order(StringComparer.Ordinal));
        Assert.Contains(ids[0], failed.Failures[$"{EvaluationWorld.Tenant}/{ids[1]}"].Message, StringComparison.Ordinal);
        var states = await world.Segments.StatesAsync(EvaluationWorld.Tenant, null, CancellationToken.None);
        foreach (var id in ids)
        {
            Assert.Equal(before[id], states[id]);
            Assert.Equal(membersBefore[id], await world.StoredMembersAsync(id));
        }

        var after = changed.AddMinutes(30);
        await evaluator.TickAsync(EvaluationWorld.Tenant, after, null, CancellationToken.None);
        states = await world.Segments.StatesAsync(EvaluationWorld.Tenant, null, CancellationToken.None);
        Assert.All(ids, id => Assert.Equal(versions[id], states[id].Version));
        await AssertMembersAsync(world, ids, after);
        var next = after.AddHours(9);
        await world.IngestAsync(next, 90, 20);
        await evaluator.TickAsync(EvaluationWorld.Tenant, next, null, CancellationToken.None);
        await AssertMembersAsync(world, ids, next);
    }

    /// <summary>A new definition for each segment of the chain: browsers at the bottom, outside Boston, members above.</summary>
    private static async Task<Dictionary<string, int>> SaveNewVersionsAsync(EvaluationWorld world, List<string> ids)
    {
        var middle = new SegmentDefinition("Browsers outside Boston", null, new AllCondition(
        [
            new SegmentReferenceCondition(ids[0], Member: true),
            new PropertyCondition(new PropertyFilter("city", FilterOperator.Neq, [new StringScalar("Boston")])),
        ]));
        var top = new SegmentDefinition("Browsers outside Boston too", null, new SegmentReferenceCondition(ids[1], Member: true));
        var versions = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (id, definition) in ids.Zip([Browsers, middle, top]))
        {
            var saved = await world.Segments.SaveAsync(EvaluationWorld.Tenant, id, definition.Name, null, SegmentDefinitionJson.Write(definition), CancellationToken.None);
            versions[id] = saved.Version;
        }

        return versions;
    }

    /// <summary>The chain seeded and evaluated once at <see cref="Start"/>.</summary>
    private static async Task<(EvaluationWorld World, RecordingEngine Recording, List<string> Ids, SegmentEvaluator Evaluator)> EvaluatedAsync(int seed)
    {
        var (world, schema, recording, ids) = await SeedAsync(seed);
        var evaluator = new SegmentEvaluator(recording, schema, new EvaluatorOptions { Workers = 2, ChunkSize = 6, IngestLag = TimeSpan.Zero });
        await evaluator.TickAsync(EvaluationWorld.Tenant, Start, null, CancellationToken.None);
        return (world, recording, ids, evaluator);
    }

    [Fact]
    public async Task A_new_profile_excluded_by_a_segment_that_holds_for_empty_profiles_enters_the_segment_of_its_non_members()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var world = new EvaluationWorld(engine, schema, 43);
        // At most N spent in two days: a profile without orders is one, so new profiles belong to it until they spend.
        static SegmentDefinition LightSpenders(double most) =>
            new("Light spenders", null, new EventCondition("Placed Order", [], new LastDaysWindow(2), new Measure(MeasureKind.Sum, PropertyFilter.ValueProperty), Comparison.Lte, most));
        async Task OrderAsync(string profile, double value, DateTime at) => await engine.InsertJsonEachRowAsync(
            schema.Events,
            System.Text.Encoding.UTF8.GetBytes($$"""{"tenant":"{{EvaluationWorld.Tenant}}","profile_id":"{{profile}}","metric":"Placed Order","ts":"{{EvaluationWorld.Time(at)}}","value":{{value}}}""" + "\n"),
            null);

        await OrderAsync("ann", 10, Start.AddHours(-1));
        await OrderAsync("bob", 100, Start.AddHours(-1));
        var light = await world.Segments.SaveAsync(EvaluationWorld.Tenant, null, "Light spenders", null, SegmentDefinitionJson.Write(LightSpenders(50)), CancellationToken.None);
        var heavy = new SegmentDefinition("Not light spenders", null, new SegmentReferenceCondition(light.Id, Member: false));
        var others = await world.Segments.SaveAsync(EvaluationWorld.Tenant, null, heavy.Name, null, SegmentDefinitionJson.Write(heavy), CancellationToken.None);
        await using var evaluator = new SegmentEvaluator(engine, schema, new EvaluatorOptions { IngestLag = TimeSpan.Zero });
        await evaluator.TickAsync(EvaluationWorld.Tenant, Start, null, CancellationToken.None);
        Assert.Equal(["bob"], await world.StoredMembersAsync(others.Id));

        // In one tick the referenced segment takes a new definition (still true for empty profiles), so the referencing
        // one reads its log rather than inlining it, and Carl appears with an order of 80. Light spenders leaves him
        // out with no entry in its log (he was no member before he existed); he is one of its non-members all the same.
        var t = Start.AddHours(1);
        await world.Segments.SaveAsync(EvaluationWorld.Tenant, light.Id, "Light spenders", null, SegmentDefinitionJson.Write(LightSpenders(60)), CancellationToken.None);
        await OrderAsync("carl", 80, t.AddMinutes(-5));
        await evaluator.TickAsync(EvaluationWorld.Tenant, t, null, CancellationToken.None);

        Assert.Empty(await world.ChangesAsync(light.Id, t, t.AddMilliseconds(1)));
        Assert.Equal(["bob", "carl"], await world.StoredMembersAsync(others.Id));
        Assert.Equal(await world.RecomputeAsync(others.Id, t), await world.StoredMembersAsync(others.Id));
    }

    private static async Task AssertMembersAsync(EvaluationWorld world, List<string> ids, DateTime t)
    {
        foreach (var id in ids)
        {
            Assert.Equal(await world.RecomputeAsync(id, t), await world.StoredMembersAsync(id));
        }
    }

    /// <summary>Openers; its members in Boston; the profiles not in that segment (a reference through NOT).</summary>
    private static async Task<(EvaluationWorld World, Core.Storage.StorageSchema Schema, RecordingEngine Recording, List<string> Ids)> SeedAsync(int seed)
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var world = new EvaluationWorld(engine, schema, seed);
        await world.IngestAsync(Start, 300, 60);
        var ids = new List<string>();
        var bottom = await world.Segments.SaveAsync(EvaluationWorld.Tenant, null, Openers.Name, null, SegmentDefinitionJson.Write(Openers), CancellationToken.None);
        ids.Add(bottom.Id);
        var middle = new SegmentDefinition("Openers in Boston", null, new AllCondition(
        [
            new SegmentReferenceCondition(bottom.Id, Member: true),
            new PropertyCondition(new PropertyFilter("city", FilterOperator.Eq, [new StringScalar("Boston")])),
        ]));
        var saved = await world.Segments.SaveAsync(EvaluationWorld.Tenant, null, middle.Name, null, SegmentDefinitionJson.Write(middle), CancellationToken.None);
        ids.Add(saved.Id);
        var top = new SegmentDefinition("Not openers in Boston", null, new SegmentReferenceCondition(saved.Id, Member: false));
        saved = await world.Segments.SaveAsync(EvaluationWorld.Tenant, null, top.Name, null, SegmentDefinitionJson.Write(top), CancellationToken.None);
        ids.Add(saved.Id);
        return (world, schema, new RecordingEngine(engine), ids);
    }
}
