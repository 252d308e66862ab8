using System.Globalization;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Differential;

/// <summary>
/// Date values on every side of the relative-date operators' edges, written as dates and as times whose offset moves
/// the UTC day, read through the current-value table (where the compiler pre-filters rows on the raw text) and from
/// the history: the members must be exactly the reference evaluator's.
/// </summary>
[Trait("Category", "Engine")]
public sealed class DateEdgeTests
{
    private static readonly DateTime Now = new(2024, 2, 27, 12, 0, 0, DateTimeKind.Utc);

    private static readonly string[] Suffixes = ["", "T23:30:00-05:00", "T01:15:00+09:00", "T12:00:00Z", "T00:00:00.5+14:00", "T23:59:59-12:00"];

    public static TheoryData<string> Definitions => new()
    {
        """{"property": {"name": "birthday", "op": "anniversary_in_next_days", "value": 0}}""",
        """{"property": {"name": "birthday", "op": "anniversary_in_next_days", "value": 3}}""",
        """{"property": {"name": "birthday", "op": "anniversary_in_next_days", "value": 7}}""",
        """{"property": {"name": "birthday", "op": "in_last_days", "value": 2}}""",
        """{"property": {"name": "birthday", "op": "in_next_days", "value": 2}}""",
        """{"property": {"name": "birthday", "op": "more_than_days_ago", "value": 2}}""",
        """{"all": [{"property": {"name": "birthday", "op": "anniversary_in_next_days", "value": 2}}, {"property": {"name": "plan", "op": "eq", "value": "gold"}}]}""",
    };

    [Theory]
    [MemberData(nameof(Definitions))]
    public async Task Date_edges_match_the_reference_through_the_current_value_table(string condition)
    {
        var engine = TestEngines.Embedded;
        var schema = await Fixture.Value.Value;
        var definition = SegmentDefinitionJson.Parse($$"""{"name": "edges", "condition": {{condition}}}""").Definition!;
        var validated = ValidatedDefinition.Unchecked(Fixture.Tenant, definition, null);
        var reference = new ReferenceEvaluator([], Fixture.Updates, new Dictionary<string, SegmentDefinition>());

        // Also on 29 February and 1 March: a date written on 28 February of a common year is 1 March in UTC with a
        // negative offset, and one written on 1 March is 28 February with a positive one.
        foreach (var now in new[] { Now, Now.AddDays(2), Now.AddDays(3).AddHours(-11) })
        {
            var expected = reference.Members(Fixture.Tenant, definition.Condition, now);
            var result = await engine.QueryAsync(SegmentCompiler.Compile(validated, schema, new CompileOptions(now)));
            var actual = result.Read(row => row.GetString(0)).ToHashSet(StringComparer.Ordinal);

            Assert.NotEmpty(expected);
            Assert.True(expected.SetEquals(actual), $"at {now:O}, missing: {string.Join(", ", expected.Except(actual))}; extra: {string.Join(", ", actual.Except(expected))}");
        }
    }

    /// <summary>
    /// Phase 1 skips parsing date-only values for an edge range that holds no midnight: hour by hour across two
    /// midnights (and hours ending on one), every profile whose membership the hour changes must be a candidate (the
    /// anniversaries, whose edges move at midnight, too).
    /// </summary>
    [Theory]
    [MemberData(nameof(Definitions))]
    public async Task Phase_1_finds_every_profile_a_date_edge_moves_hour_by_hour_across_midnights(string condition)
    {
        var engine = TestEngines.Embedded;
        var schema = await Fixture.Value.Value;
        var definition = SegmentDefinitionJson.Parse($$"""{"name": "edges", "condition": {{condition}}}""").Definition!;
        var references = new Dictionary<string, SegmentDefinition>();
        var reference = new ReferenceEvaluator([], Fixture.Updates, references);
        var moved = 0;
        for (var hour = -3; hour <= 27; hour++)
        {
            var t1 = Now.Date.AddHours(hour);
            var t0 = t1.AddHours(-1);
            var before = reference.Members(Fixture.Tenant, definition.Condition, t0);
            var after = reference.Members(Fixture.Tenant, definition.Condition, t1);
            var changed = before.Except(after).Union(after.Except(before)).ToList();
            var result = await engine.QueryAsync(CandidateQuery.Incremental(schema, Fixture.Tenant, definition, references, t0, t1, Now));
            var candidates = result.Read(row => row.GetString(0)).ToHashSet(StringComparer.Ordinal);

            Assert.True(candidates.IsSupersetOf(changed), $"({t0:O}, {t1:O}]: missing {string.Join(", ", changed.Except(candidates))}");
            moved += changed.Count;
        }

        Assert.True(moved > 0);
    }

    private static class Fixture
    {
        public const string Tenant = "edges";

        public static readonly List<TestProfileUpdate> Updates = Build();

        public static readonly Lazy<Task<StorageSchema>> Value = new(LoadAsync);

        private static List<TestProfileUpdate> Build()
        {
            var updates = new List<TestProfileUpdate>();
            var index = 0;
            foreach (var year in new[] { 1996, 2001, 2024 })
            {
                for (var offset = -4; offset <= 10; offset++)
                {
                    var day = Now.Date.AddDays(offset);
                    foreach (var suffix in Suffixes)
                    {
                        var text = FormattableString.Invariant($"{year:D4}-{day.Month:D2}-{day.Day:D2}{suffix}");
                        var at = Now.AddDays(-30);
                        updates.Add(new TestProfileUpdate(
                            Tenant,
                            "p" + (index++).ToString(CultureInfo.InvariantCulture),
                            at,
                            at,
                            new Dictionary<string, string> { ["birthday"] = "s" + text, ["plan"] = index % 2 == 0 ? "sgold" : "sfree" }));
                    }
                }
            }

            return updates;
        }

        private static async Task<StorageSchema> LoadAsync()
        {
            var engine = TestEngines.Embedded;
            var schema = await TestEngines.NewSchemaAsync(engine, nameof(DateEdgeTests));
            await engine.InsertJsonEachRowAsync(schema.ProfileUpdates, RandomWorld.UpdateRows(Updates), null);
            await new CurrentTraitsRefresher(engine, schema).RefreshAsync(Tenant, Now);
            return schema;
        }
    }
}
