using System.Globalization;
using System.Text;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;
using Xunit.Abstractions;

namespace SegmentMcp.Tests.Differential;

/// <summary>
/// Random datasets × random definitions: the compiled SQL on the embedded engine must return exactly the members
/// the reference evaluator computes. SEGMENTMCP_DIFF_CASES=N runs N cases (default 600), SEGMENTMCP_DIFF_SEED
/// replays a failing run.
/// </summary>
[Trait("Category", "Engine")]
public sealed class DifferentialTests(ITestOutputHelper output)
{
    private const int DefinitionsPerDataset = 30;

    private static readonly DateTime[] Nows =
    [
        new(2024, 2, 27, 12, 0, 0, DateTimeKind.Utc),
        new(2023, 2, 26, 6, 30, 0, DateTimeKind.Utc),
        new(2024, 12, 30, 23, 0, 0, DateTimeKind.Utc),
        new(2025, 6, 15, 0, 0, 0, DateTimeKind.Utc),
    ];

    [Fact]
    public async Task Compiled_sql_returns_exactly_the_reference_members()
    {
        var cases = int.TryParse(Environment.GetEnvironmentVariable("SEGMENTMCP_DIFF_CASES"), CultureInfo.InvariantCulture, out var n) ? n : 600;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("SEGMENTMCP_DIFF_SEED"), CultureInfo.InvariantCulture, out var s) ? s : Environment.TickCount;
        output.WriteLine($"seed {seed}, {cases} cases (replay with SEGMENTMCP_DIFF_SEED={seed})");
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var random = new Random(seed);
        var datasets = (cases + DefinitionsPerDataset - 1) / DefinitionsPerDataset;
        var checkedCases = 0;
        var nonEmpty = 0;
        for (var d = 0; d < datasets; d++)
        {
            // One database, a tenant pair per dataset: the datasets stay isolated the way tenants are.
            var world = new RandomWorld(random, Nows[d % Nows.Length], $"d{d}");
            world.GenerateData(profilesPerTenant: 20);
            world.GenerateSavedSegments(3);
            await engine.InsertJsonEachRowAsync(schema.Events, RandomWorld.EventRows(world.Events), null);

            // The current-value table is refreshed up to an ingestion time inside the updates': the compiled queries
            // read it for some profiles and the history for the others (ingested later, or dated after now).
            await engine.InsertJsonEachRowAsync(schema.ProfileUpdates, RandomWorld.UpdateRows(world.Updates), null);
            await engine.InsertJsonEachRowAsync(schema.ListMembers, RandomWorld.ListRows(world.ListChanges), null);
            var ingested = world.Updates.Select(u => u.IngestedAt).Order().ToList();

            // Restricted queries read the candidates' timelines up to their watermark and the rest from the history:
            // timelines built up to one ingestion time and brought forward to a later one, or never built (all history).
            // Built first: the incremental refresh of the current values below reads the changed profiles' history
            // through them.
            var everyIngestion = world.Events.Where(e => e.IngestedAt is not null).Select(e => e.IngestedAt!.Value).Concat(ingested).Order().ToList();
            var timelineCutoffs = random.Next(3) == 0 || everyIngestion.Count == 0
                ? []
                : new[] { everyIngestion[random.Next(everyIngestion.Count)], everyIngestion[random.Next(everyIngestion.Count)] }.Order().ToArray();
            foreach (var tenant in world.Tenants)
            {
                foreach (var cutoff in timelineCutoffs)
                {
                    await new ProfileTimelinesRefresher(engine, schema) { EventsPerBuildPass = random.Next(1, 40), ProfilesPerPass = random.Next(1, 12) }.RefreshAsync(tenant, cutoff);
                }
            }

            var cutoffs = ingested.Count == 0 ? [world.Now] : new[] { ingested[random.Next(ingested.Count)], ingested[random.Next(ingested.Count)] }.Order().ToArray();
            foreach (var tenant in world.Tenants)
            {
                // A rebuild, then an incremental refresh that retracts the values the later updates replaced.
                foreach (var cutoff in cutoffs)
                {
                    await new CurrentTraitsRefresher(engine, schema).RefreshAsync(tenant, cutoff);
                }
            }

            var reference = new ReferenceEvaluator(world.Events, world.Updates, world.Saved, world.ListChanges);
            var validator = new DefinitionValidator(new InMemorySegments(world.Saved));
            for (var i = 0; i < DefinitionsPerDataset && checkedCases < cases; i++, checkedCases++)
            {
                var definition = world.Definition();
                var json = SegmentDefinitionJson.Write(definition);
                var tenant = world.Tenants[i % 2];
                var validation = await validator.ValidateAsync(tenant, json, world.Catalog);
                Assert.True(validation.IsValid, $"seed {seed}: a generated definition did not validate: {string.Join("; ", validation.Errors)}\n{json}");
                var expected = reference.Members(tenant, definition.Condition, world.Now);
                nonEmpty += expected.Count > 0 ? 1 : 0;
                var mode = i % 6 == 5 ? CompileMode.Count : i % 6 == 4 ? CompileMode.Restricted : CompileMode.Members;
                var restriction = Enumerable.Range(0, 20).Where(_ => random.Next(2) == 0).Select(p => "u" + p.ToString(CultureInfo.InvariantCulture)).ToArray();
                // Restricted: property values read from the history by profile, or from the current-value table.
                var statement = SegmentCompiler.Compile(
                    validation.Definition!, schema, new CompileOptions(world.Now, mode, restriction) { HistorySeekLimit = random.Next(2) == 0 ? 0 : 32 });
                var result = await engine.QueryAsync(statement);
                var failure = new StringBuilder()
                    .AppendLine(CultureInfo.InvariantCulture, $"seed {seed} (SEGMENTMCP_DIFF_SEED={seed}), dataset {d}, definition {i}, tenant {tenant}, now {world.Now:O}, mode {mode}")
                    .AppendLine(json)
                    .AppendLine(SqlExplain.Of(statement).ToString());
                if (mode == CompileMode.Count)
                {
                    Assert.True(expected.Count == Convert.ToInt64(result.Rows[0][0], CultureInfo.InvariantCulture), $"{failure}expected {expected.Count}, got {result.Rows[0][0]}");
                    continue;
                }

                var actual = result.Rows.Select(row => (string)row[0]!).ToList();
                var wanted = mode == CompileMode.Restricted ? expected.Intersect(restriction).ToHashSet() : expected.ToHashSet();
                Assert.True(actual.Count == actual.Distinct().Count(), $"{failure}duplicate rows");
                var missing = wanted.Except(actual).Order().ToList();
                var extra = actual.Except(wanted).Order().ToList();
                Assert.True(missing.Count == 0 && extra.Count == 0, $"{failure}missing [{string.Join(", ", missing)}], extra [{string.Join(", ", extra)}]");
            }
        }

        output.WriteLine($"{checkedCases} cases, {nonEmpty} with members");

        // Guards against a generator that only produces empty segments (which would test little).
        Assert.True(nonEmpty > checkedCases / 4, $"only {nonEmpty} of {checkedCases} cases had members");
    }

    /// <summary>
    /// check_membership's evidence for an event condition (the events passing its metric, window and where filters,
    /// and its measure over them) against the reference's reading of the same events, for random leaves and profiles.
    /// </summary>
    [Fact]
    public async Task Evidence_counts_and_measures_as_the_reference_does()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("SEGMENTMCP_DIFF_SEED"), CultureInfo.InvariantCulture, out var s) ? s : Environment.TickCount;
        output.WriteLine($"seed {seed} (replay with SEGMENTMCP_DIFF_SEED={seed})");
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var random = new Random(seed);
        var reader = new ProfileReader(engine, schema);
        var checkedLeaves = 0;
        var withEvents = 0;
        for (var d = 0; d < Nows.Length; d++)
        {
            var world = new RandomWorld(random, Nows[d], $"d{d}");
            world.GenerateData(profilesPerTenant: 20);
            world.GenerateSavedSegments(3);
            await engine.InsertJsonEachRowAsync(schema.Events, RandomWorld.EventRows(world.Events), null);
            var reference = new ReferenceEvaluator(world.Events, world.Updates, world.Saved, world.ListChanges);
            var leaves = Enumerable.Range(0, 100).SelectMany(_ => EventLeaves(world.Definition().Condition)).Take(50).ToList();
            foreach (var leaf in leaves)
            {
                var tenant = world.Tenants[random.Next(2)];
                // Mostly a profile with events of the metric, so the filters and the window decide.
                var active = world.Events.Where(e => e.Tenant == tenant && e.Metric == leaf.Metric).Select(e => e.ProfileId).Distinct().Order(StringComparer.Ordinal).ToList();
                var profile = active.Count > 0 && random.Next(5) > 0 ? active[random.Next(active.Count)] : "u" + random.Next(20).ToString(CultureInfo.InvariantCulture);
                var range = TimeRange.Of(leaf.Window, world.Now);
                var evidence = await reader.EventsAsync(tenant, profile, new EventSelection(leaf.Metric, leaf.Where, range.From, range.Until), world.Now, default, leaf.Measure);
                var (matching, measured) = reference.EventMeasure(tenant, leaf, profile, world.Now);
                var context = $"seed {seed}, dataset {d}, tenant {tenant}, profile {profile}, now {world.Now:O}: {SegmentDefinitionJson.Write(new SegmentDefinition("leaf", null, leaf))}";
                Assert.True(matching == evidence.Matching, $"{context}\nmatching: expected {matching}, got {evidence.Matching}");
                Assert.True(
                    measured is null ? evidence.Measured is null : evidence.Measured is { } got && Math.Abs(got - measured.Value) <= 1e-9 * Math.Max(1, Math.Abs(measured.Value)),
                    $"{context}\nmeasured: expected {measured}, got {evidence.Measured}");
                Assert.True(evidence.Matching <= evidence.Events, $"{context}\nmore matching than events");
                checkedLeaves++;
                withEvents += matching > 0 ? 1 : 0;
            }
        }

        output.WriteLine($"{checkedLeaves} leaves, {withEvents} with matching events");
        // Guards against a generator whose filters and windows select nothing (which would test little).
        Assert.True(withEvents >= checkedLeaves / 10, $"only {withEvents} of {checkedLeaves} leaves had matching events");
    }

    /// <summary>
    /// 0.1 + 0.2 + 0.3 is 0.6000000000000001 added in that order and 0.6 in the reverse one, and the engine's order of
    /// rows differs between evaluations: a total or an average that lands on the compared value equals it whatever
    /// the order, in the compiled query (whole and restricted to the profiles) as in the reference evaluator.
    /// </summary>
    [Fact]
    public async Task Sums_that_land_on_the_compared_value_equal_it_in_every_order()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var now = Nows[0];
        var events = new List<TestEvent>();
        foreach (var (profile, values) in new[] { ("forward", new[] { 0.1, 0.2, 0.3 }), ("reverse", new[] { 0.3, 0.2, 0.1 }), ("short", new[] { 0.1, 0.2, 0.29 }) })
        {
            for (var i = 0; i < values.Length; i++)
            {
                events.Add(new TestEvent("acme", "Placed Order", profile, now.AddDays(-1 - i), values[i], new Dictionary<string, string>()));
            }
        }

        // One insert per event: each its own part, so the rows are not read in one fixed order.
        foreach (var e in events)
        {
            await engine.InsertJsonEachRowAsync(schema.Events, RandomWorld.EventRows([e]), null);
        }

        Assert.NotEqual(0.6, (0.1 + 0.2) + 0.3);
        var reference = new ReferenceEvaluator(events, [], new Dictionary<string, SegmentDefinition>());
        var cases = new (string Measure, string Op, double Value, string[] Members)[]
        {
            ("{\"sum\": \"$value\"}", "eq", 0.6, ["forward", "reverse"]),
            ("{\"sum\": \"$value\"}", "gte", 0.6, ["forward", "reverse"]),
            ("{\"sum\": \"$value\"}", "gt", 0.6, []),
            ("{\"sum\": \"$value\"}", "lte", 0.6, ["forward", "reverse", "short"]),
            ("{\"sum\": \"$value\"}", "lt", 0.6, ["short"]),
            ("{\"sum\": \"$value\"}", "neq", 0.6, ["short"]),
            ("{\"avg\": \"$value\"}", "eq", 0.2, ["forward", "reverse"]),
            ("{\"avg\": \"$value\"}", "gt", 0.2, []),
        };
        foreach (var (measure, op, value, members) in cases)
        {
            var leaf = $$"""{"metric": "Placed Order", "measure": {{measure}}, "op": "{{op}}", "value": {{value.ToString(CultureInfo.InvariantCulture)}}}""";
            var json = "{\"name\": \"totals\", \"condition\": {\"event\": " + leaf + "}}";
            var definition = SegmentDefinitionJson.Parse(json).Definition!;
            var validated = ValidatedDefinition.Unchecked("acme", definition);
            foreach (var mode in new[] { CompileMode.Members, CompileMode.Restricted })
            {
                var result = await engine.QueryAsync(SegmentCompiler.Compile(validated, schema, new CompileOptions(now, mode, ["forward", "reverse", "short"])));
                Assert.True(members.SequenceEqual(result.Rows.Select(row => (string)row[0]!).Order(StringComparer.Ordinal)), $"{json} ({mode}): got [{string.Join(", ", result.Rows.Select(row => row[0]))}]");
            }

            Assert.Equal(members, reference.Members("acme", definition.Condition, now).Order(StringComparer.Ordinal));
        }
    }

    private static IEnumerable<EventCondition> EventLeaves(Condition condition) => condition switch
    {
        AllCondition all => all.Items.SelectMany(EventLeaves),
        AnyCondition any => any.Items.SelectMany(EventLeaves),
        NotCondition not => EventLeaves(not.Inner),
        EventCondition e => [e],
        _ => [],
    };

    private sealed class InMemorySegments(IReadOnlyDictionary<string, SegmentDefinition> saved) : ISegmentDefinitionSource
    {
        public Task<SegmentDefinition?> FindAsync(string tenant, string segmentId, CancellationToken cancellationToken) =>
            Task.FromResult(saved.GetValueOrDefault(segmentId));
    }
}
