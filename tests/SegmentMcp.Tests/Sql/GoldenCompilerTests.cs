using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Sql;

/// <summary>
/// Definition → SQL text + parameters, pinned in Golden/Compiler/*.sql (with the read-back on top). Run with
/// SEGMENTMCP_REWRITE_GOLDEN=1 to rewrite the baselines after an intended change, then review the diff. Every case
/// also runs on the embedded engine, so a baseline is always SQL the engine accepts.
/// </summary>
public sealed class GoldenCompilerTests
{
    private static readonly DateTime Now = new(2024, 2, 27, 12, 0, 0, DateTimeKind.Utc);
    private static readonly StorageSchema GoldenSchema = new("segmentmcp");
    private static readonly Lazy<Task<StorageSchema>> ExecutionSchema = new(() => TestEngines.NewSchemaAsync(TestEngines.Embedded, "golden"));

    private static readonly Dictionary<string, SegmentDefinition> Saved = new()
    {
        ["bostonians"] = Parse("""{"property": {"name": "city", "op": "eq", "value": "Boston"}}""", "Bostonians"),
        ["buyers"] = Parse("""{"all": [{"event": {"metric": "Placed Order", "window": {"last_days": 90}, "op": "gte", "value": 1}}, {"segment": {"id": "bostonians"}}]}""", "Buyers in Boston"),
    };

    private static readonly Dictionary<string, (string Condition, CompileMode Mode)> Cases = new()
    {
        ["issue_example"] = ("""{"all": [{"event": {"metric": "Opened Email", "window": {"between_days_ago": [3, 5]}, "op": "gte", "value": 1}}, {"property": {"name": "city", "op": "eq", "value": "Boston"}}, {"not": {"event": {"metric": "Placed Order", "window": {"last_days": 30}, "op": "gte", "value": 1}}}]}""", CompileMode.Members),
        ["property_equality"] = ("""{"all": [{"property": {"name": "city", "op": "eq", "value": "Boston"}}, {"property": {"name": "age", "op": "eq", "value": 30}}, {"property": {"name": "vip", "op": "eq", "value": true}}, {"property": {"name": "country", "op": "neq", "value": "US"}}]}""", CompileMode.Members),
        ["property_lists"] = ("""{"any": [{"property": {"name": "city", "op": "in", "value": ["Boston", 5, true]}}, {"property": {"name": "city", "op": "not_in", "value": ["Paris", "Rome"]}}]}""", CompileMode.Members),
        ["property_text"] = ("""{"all": [{"property": {"name": "email", "op": "contains", "value": "@"}}, {"property": {"name": "email", "op": "not_contains", "value": "test"}}, {"property": {"name": "name", "op": "starts_with", "value": "Jo"}}, {"property": {"name": "email", "op": "ends_with", "value": ".com"}}]}""", CompileMode.Members),
        ["property_ignore_case"] = ("""{"all": [{"property": {"name": "city", "op": "in", "value": ["boston", "NEW YORK", 5], "ignore_case": true}}, {"property": {"name": "email", "op": "ends_with", "value": "@GMAIL.COM", "ignore_case": true}}, {"event": {"metric": "Placed Order", "where": [{"name": "coupon", "op": "eq", "value": "spring", "ignore_case": true}], "op": "gte", "value": 1}}]}""", CompileMode.Members),
        ["property_numbers"] = ("""{"all": [{"property": {"name": "age", "op": "gt", "value": 17}}, {"property": {"name": "age", "op": "gte", "value": 18}}, {"property": {"name": "score", "op": "lt", "value": 9.5}}, {"property": {"name": "score", "op": "lte", "value": 9}}, {"property": {"name": "visits", "op": "between", "value": [1, 10]}}]}""", CompileMode.Members),
        ["property_presence"] = ("""{"any": [{"property": {"name": "email", "op": "is_set"}}, {"property": {"name": "phone", "op": "is_not_set"}}]}""", CompileMode.Members),
        ["property_dates"] = ("""{"all": [{"property": {"name": "signup", "op": "before", "value": "2024-01-01"}}, {"property": {"name": "signup", "op": "after", "value": "1969-12-31T23:00:00Z"}}, {"property": {"name": "last_seen", "op": "in_last_days", "value": 7}}, {"property": {"name": "trial_end", "op": "more_than_days_ago", "value": 30}}, {"property": {"name": "renewal", "op": "in_next_days", "value": 14}}, {"property": {"name": "birthday", "op": "anniversary_in_next_days", "value": 3}}]}""", CompileMode.Members),
        ["measure_count"] = ("""{"event": {"metric": "Opened Email", "window": {"last_days": 7}, "op": "gte", "value": 3}}""", CompileMode.Members),
        ["measure_sum"] = ("""{"event": {"metric": "Placed Order", "measure": {"sum": "$value"}, "op": "gt", "value": 100}}""", CompileMode.Members),
        ["measure_avg"] = ("""{"event": {"metric": "Placed Order", "measure": {"avg": "amount"}, "op": "gte", "value": 10}}""", CompileMode.Members),
        ["measure_min"] = ("""{"event": {"metric": "Placed Order", "measure": {"min": "$value"}, "op": "lt", "value": 5}}""", CompileMode.Members),
        ["measure_max"] = ("""{"event": {"metric": "Placed Order", "measure": {"max": "amount"}, "op": "lte", "value": 500}}""", CompileMode.Members),
        ["measure_distinct"] = ("""{"event": {"metric": "Page View", "measure": {"distinct": "url"}, "op": "neq", "value": 1}}""", CompileMode.Members),
        ["measure_distinct_value"] = ("""{"event": {"metric": "Placed Order", "measure": {"distinct": "$value"}, "op": "eq", "value": 2}}""", CompileMode.Members),
        ["window_none"] = ("""{"event": {"metric": "Opened Email", "op": "gte", "value": 1}}""", CompileMode.Members),
        ["window_last_hours"] = ("""{"event": {"metric": "Opened Email", "window": {"last_hours": 6}, "op": "gte", "value": 1}}""", CompileMode.Members),
        ["window_between_days_ago"] = ("""{"event": {"metric": "Opened Email", "window": {"between_days_ago": [1, 7]}, "op": "gte", "value": 1}}""", CompileMode.Members),
        ["window_since"] = ("""{"event": {"metric": "Opened Email", "window": {"since": "2024-02-01"}, "op": "gte", "value": 1}}""", CompileMode.Members),
        ["window_before"] = ("""{"event": {"metric": "Opened Email", "window": {"before": "2024-02-01T08:30:00Z"}, "op": "gte", "value": 1}}""", CompileMode.Members),
        ["anniversary_in_a_time_zone"] = ("""{"property": {"name": "birthday", "op": "anniversary_in_next_days", "value": 0, "time_zone": "Pacific/Auckland"}}""", CompileMode.Members),
        ["regularly_in_a_time_zone"] = ("""{"regularly": {"metric": "Page View", "period": "day", "periods": 3, "min_periods": 2, "op": "gte", "value": 1, "time_zone": "America/New_York"}}""", CompileMode.Members),
        ["window_this_month"] = ("""{"event": {"metric": "Placed Order", "window": {"this": "month"}, "op": "gte", "value": 1}}""", CompileMode.Members),
        ["window_yesterday_in_a_time_zone"] = ("""{"event": {"metric": "Placed Order", "window": {"previous": "day", "time_zone": "America/New_York"}, "op": "gte", "value": 1}}""", CompileMode.Members),
        ["window_previous_weeks"] = ("""{"event": {"metric": "Placed Order", "window": {"previous": "week", "periods": 2}, "op": "gte", "value": 1}}""", CompileMode.Members),
        ["window_from_to"] = ("""{"event": {"metric": "Opened Email", "window": {"from": "2024-01-01", "to": "2024-02-01"}, "op": "gte", "value": 1}}""", CompileMode.Members),
        // Windows of one metric without a gap: the bounds alone select their rows, each count keeps only its own edge.
        ["windows_adjacent"] = ("""{"all": [{"event": {"metric": "Placed Order", "window": {"between_days_ago": [30, 90]}, "op": "gte", "value": 1}}, {"not": {"event": {"metric": "Placed Order", "window": {"last_days": 30}, "op": "gte", "value": 1}}}]}""", CompileMode.Members),
        // A gap between them (5 to 3 days ago, the last day): only the rows either window holds reach the GROUP BY.
        ["windows_gap"] = ("""{"all": [{"event": {"metric": "Opened Email", "window": {"between_days_ago": [3, 5]}, "op": "gte", "value": 1}}, {"event": {"metric": "Opened Email", "window": {"last_days": 1}, "op": "eq", "value": 0}}]}""", CompileMode.Members),
        ["event_where"] = ("""{"event": {"metric": "Placed Order", "where": [{"name": "$value", "op": "gte", "value": 20}, {"name": "currency", "op": "in", "value": ["USD", "EUR"]}, {"name": "coupon", "op": "is_not_set"}], "window": {"last_days": 30}, "op": "gte", "value": 2}}""", CompileMode.Members),
        ["did_not"] = ("""{"event": {"metric": "Placed Order", "window": {"last_days": 30}, "op": "eq", "value": 0}}""", CompileMode.Members),
        ["not_any"] = ("""{"not": {"any": [{"property": {"name": "city", "op": "eq", "value": "Boston"}}, {"event": {"metric": "Page View", "op": "gte", "value": 1}}]}}""", CompileMode.Members),
        ["traits_drive"] = ("""{"all": [{"property": {"name": "city", "op": "eq", "value": "Boston"}}, {"event": {"metric": "Page View", "window": {"last_days": 7}, "op": "eq", "value": 0}}]}""", CompileMode.Members),
        ["segment_member"] = ("""{"all": [{"segment": {"id": "buyers"}}, {"property": {"name": "vip", "op": "eq", "value": true}}]}""", CompileMode.Members),
        ["segment_not_member"] = ("""{"segment": {"id": "buyers", "member": false}}""", CompileMode.Members),
        ["first_time"] = ("""{"first_time": {"metric": "Placed Order", "where": [{"name": "$value", "op": "gt", "value": 10}], "window": {"last_days": 30}}}""", CompileMode.Members),
        ["sequence"] = ("""{"sequence": {"steps": [{"metric": "Viewed Product"}, {"metric": "Added To Cart", "where": [{"name": "category", "op": "eq", "value": "shoes"}]}, {"metric": "Placed Order"}], "within_hours": 2, "window": {"last_days": 7}}}""", CompileMode.Members),
        ["sequence_then_not"] = ("""{"sequence": {"steps": [{"metric": "Viewed Product"}, {"metric": "Added To Cart", "then_not": {"metric": "Placed Order", "within_hours": 24}}], "within_hours": 2, "window": {"between_days_ago": [0, 7]}}}""", CompileMode.Members),
        ["stopped"] = ("""{"stopped": {"metric": "Placed Order", "where": [{"name": "category", "op": "eq", "value": "shoes"}], "before_days": [30, 90], "recent_days": 30}}""", CompileMode.Members),
        ["restarted"] = ("""{"restarted": {"metric": "Page View", "gap_days": 30, "recent_days": 7}}""", CompileMode.Members),
        ["regularly"] = ("""{"regularly": {"metric": "Page View", "period": "week", "periods": 4, "min_periods": 3, "op": "gte", "value": 2}}""", CompileMode.Members),
        ["regularly_zero"] = ("""{"regularly": {"metric": "Page View", "period": "month", "periods": 3, "min_periods": 2, "op": "lt", "value": 1}}""", CompileMode.Members),
        ["last_event"] = ("""{"last_event": {"metric": "Placed Order", "property": "category", "op": "eq", "value": "shoes"}}""", CompileMode.Members),
        ["last_event_value"] = ("""{"last_event": {"metric": "Placed Order", "property": "$value", "op": "is_not_set"}}""", CompileMode.Members),
        ["random_bucket"] = ("""{"all": [{"random_bucket": {"percent": 12.5, "seed": "spring"}}, {"property": {"name": "city", "op": "eq", "value": "Boston"}}]}""", CompileMode.Members),
        ["in_list"] = ("""{"any": [{"in_list": {"id": "vips"}}, {"not": {"in_list": {"id": "suppressed"}}}]}""", CompileMode.Members),
        ["in_list_restricted"] = ("""{"in_list": {"id": "vips"}}""", CompileMode.Restricted),
        ["mode_count"] = ("""{"event": {"metric": "Opened Email", "window": {"last_days": 7}, "op": "gte", "value": 1}}""", CompileMode.Count),
        ["mode_page"] = ("""{"event": {"metric": "Opened Email", "window": {"last_days": 7}, "op": "gte", "value": 1}}""", CompileMode.Page),
        ["property_set_restricted"] = ("""{"all": [{"property": {"name": "city", "op": "eq", "value": "Boston"}}, {"property": {"name": "plan", "op": "eq", "value": "premium"}}]}""", CompileMode.Restricted),
        ["not_restricted"] = ("""{"not": {"event": {"metric": "Placed Order", "window": {"last_days": 30}, "op": "gte", "value": 1}}}""", CompileMode.Restricted),
        ["mode_restricted"] = ("""{"any": [{"event": {"metric": "Opened Email", "window": {"last_days": 7}, "op": "gte", "value": 1}}, {"property": {"name": "city", "op": "eq", "value": "Boston"}}]}""", CompileMode.Restricted),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [Trait("Category", "Engine")]
    [MemberData(nameof(CaseNames))]
    public async Task Compiled_sql_matches_the_baseline_and_runs(string name)
    {
        var (condition, mode) = Cases[name];
        var definition = ValidatedDefinition.Unchecked("acme", Parse(condition), Saved);
        var options = new CompileOptions(Now, mode, mode == CompileMode.Restricted ? ["p1", "p2"] : null);
        var statement = SegmentCompiler.Compile(definition, GoldenSchema, options);
        await AssertMatchesBaselineAsync(name, ReadBack.Describe(definition.Definition, Saved), statement);

        // No user text in SQL: every value of the definition is a parameter.
        Assert.DoesNotContain("Boston", statement.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("Opened Email", statement.Text, StringComparison.Ordinal);

        var schema = await ExecutionSchema.Value;
        var result = await TestEngines.Embedded.QueryAsync(SegmentCompiler.Compile(definition, schema, options));
        Assert.Equal(mode == CompileMode.Count ? ["members"] : ["profile_id"], result.ColumnNames);

        // The layout changes whitespace only.
        Assert.Equal(Regex.Replace(statement.Text, @"\s", string.Empty), Regex.Replace(GoldenSql.Format(statement.Text), @"\s", string.Empty));
    }

    /// <summary>check_membership's evidence: the filters and the measure are the compiler's, over one profile's rows.</summary>
    [Fact]
    [Trait("Category", "Engine")]
    public async Task The_evidence_queries_match_their_baselines_and_run()
    {
        var definition = Parse("""{"event": {"metric": "Placed Order", "where": [{"name": "$value", "op": "gte", "value": 20}, {"name": "category", "op": "eq", "value": "shoes"}], "window": {"between_days_ago": [3, 30]}, "measure": {"avg": "amount"}, "op": "gte", "value": 10}}""");
        var e = (EventCondition)definition.Condition;
        var range = TimeRange.Of(e.Window, Now);
        var selection = new EventSelection(e.Metric, e.Where, range.From, range.Until);
        var summary = ProfileEventsQuery.Summary(GoldenSchema, "acme", "p1", selection, e.Measure, Now);
        var times = ProfileEventsQuery.MatchingTimes(GoldenSchema, "acme", "p1", selection, Now, 100);
        await AssertMatchesBaselineAsync("evidence_summary", ReadBack.Describe(definition), summary);
        await AssertMatchesBaselineAsync("evidence_times", ReadBack.Describe(definition), times);
        Assert.DoesNotContain("shoes", summary.Text, StringComparison.Ordinal);

        var schema = await ExecutionSchema.Value;
        var counted = await TestEngines.Embedded.QueryAsync(ProfileEventsQuery.Summary(schema, "acme", "p1", selection, e.Measure, Now));
        Assert.Equal(8, counted.ColumnNames.Count);
        Assert.Single(counted.Rows);
        Assert.Empty((await TestEngines.Embedded.QueryAsync(ProfileEventsQuery.MatchingTimes(schema, "acme", "p1", selection, Now, 100))).Rows);
    }

    [Fact]
    public void Every_operator_measure_and_window_has_a_golden_case()
    {
        var all = string.Join("\n", Cases.Values.Select(c => c.Condition));

        Assert.All(DslNames.FilterOperators, op => Assert.Contains($"\"op\": \"{op}\"", all, StringComparison.Ordinal));
        Assert.All(DslNames.MeasureKinds.Skip(1), measure => Assert.Contains($"\"{measure}\":", all, StringComparison.Ordinal));
        Assert.All(DslNames.WindowKinds, window => Assert.Contains($"\"{window}\":", all, StringComparison.Ordinal));
        Assert.All(DslNames.Comparisons, op => Assert.Contains($"\"op\": \"{op}\", \"value\"", all, StringComparison.Ordinal));
        Assert.All(DslNames.ConditionKinds, kind => Assert.Contains($"{{\"{kind}\":", all, StringComparison.Ordinal));
    }

    [Trait("Category", "Engine")]
    [Fact]
    public async Task A_restriction_to_no_profiles_returns_no_rows()
    {
        var definition = ValidatedDefinition.Unchecked("acme", Parse(Cases["not_any"].Condition));
        var schema = await ExecutionSchema.Value;
        await InsertProfileAsync(schema, "nobody_in_particular");

        var everyone = await TestEngines.Embedded.QueryAsync(SegmentCompiler.Compile(definition, schema, new CompileOptions(Now)));
        var restricted = await TestEngines.Embedded.QueryAsync(SegmentCompiler.Compile(definition, schema, new CompileOptions(Now, CompileMode.Restricted, [])));

        Assert.Contains(everyone.Rows, row => (string)row[0]! == "nobody_in_particular");
        Assert.Empty(restricted.Rows);
    }

    [Trait("Category", "Engine")]
    [Fact]
    public async Task A_whole_diff_returns_exactly_the_profiles_whose_membership_changed()
    {
        var definition = ValidatedDefinition.Unchecked("acme", Parse(Cases["not_any"].Condition));
        var schema = await ExecutionSchema.Value;
        await InsertProfileAsync(schema, "newly_qualified");

        // Stored: today's members but one, plus a profile that no longer qualifies.
        var members = SegmentCompiler.CompileMembers(definition, schema, Now);
        var stored = Core.Sql.Sql.Of(
            $"SELECT profile_id FROM ({members}) WHERE profile_id != {Core.Sql.Sql.Param("String", "newly_qualified")} UNION ALL SELECT {Core.Sql.Sql.Param("String", "gone")}");
        var result = await TestEngines.Embedded.QueryAsync(SegmentCompiler.CompileWholeChanges(definition, schema, Now, stored));

        Assert.Equal([("gone", false), ("newly_qualified", true)], result.Read(row => (row.GetString(0), row.GetBoolean(1))).Order());
    }

    /// <summary>
    /// Several segments restricted to their candidates in one statement: the text pinned like a single segment's, and on
    /// the engine each (segment, candidate) pair is decided by its own segment, diffed against the stored pairs.
    /// </summary>
    [Trait("Category", "Engine")]
    [Fact]
    public async Task A_level_statement_matches_the_baseline_and_decides_each_pair_by_its_own_segment()
    {
        var openers = ValidatedDefinition.Unchecked("acme", Parse(Cases["measure_count"].Condition));
        var nobody = ValidatedDefinition.Unchecked("acme", Parse(Cases["not_any"].Condition));
        var bostonians = ValidatedDefinition.Unchecked("acme", Parse(Cases["property_set_restricted"].Condition));
        LevelSegment[] segments =
        [
            new(openers, ["p1", "level_profile"]),
            new(nobody, ["level_profile", "p2", "never_seen"]),
            new(bostonians, ["p3"]),
        ];

        // Stored: level_profile is a member of the openers (it has no opens: it leaves) and not of "nobody" (it enters);
        // p3 is a Bostonian on record but has no properties (it leaves).
        static SqlFragment Stored(params (uint Segment, string Member)[] pairs) =>
            Core.Sql.Sql.Of($"SELECT pair.1 AS segment, pair.2 AS member FROM (SELECT arrayJoin(arrayZip({Core.Sql.Sql.Param("Array(UInt32)", pairs.Select(p => p.Segment).ToArray())}, {Core.Sql.Sql.Param("Array(String)", pairs.Select(p => p.Member).ToArray())})) AS pair)");
        var stored = Stored((1, "level_profile"), (3, "p3"));

        var statement = SegmentCompiler.CompileLevelChanges("acme", segments, GoldenSchema, Now, stored);
        await AssertMatchesBaselineAsync("level_restricted", statement);

        Assert.DoesNotContain("Boston", statement.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("Opened Email", statement.Text, StringComparison.Ordinal);

        var schema = await ExecutionSchema.Value;
        await InsertProfileAsync(schema, "level_profile");
        var result = await TestEngines.Embedded.QueryAsync(SegmentCompiler.CompileLevelChanges("acme", segments, schema, Now, stored));

        // never_seen is outside the universe: no member of "nobody" although it has no data.
        Assert.Equal(["segment", "candidate", "now_member"], result.ColumnNames);
        Assert.Equal([(1, "level_profile", false), (2, "level_profile", true), (3, "p3", false)], result.Read(row => (row.GetInt32(0), row.GetString(1), row.GetBoolean(2))).Order());
        Assert.Throws<ArgumentException>(() => SegmentCompiler.CompileLevelChanges("acme", [new(ValidatedDefinition.Unchecked("acme", Parse(Cases["in_list"].Condition)), ["p1"])], schema, Now, stored));
        Assert.Throws<ArgumentException>(() => SegmentCompiler.CompileLevelChanges("other", segments, schema, Now, stored));
    }

    /// <summary>
    /// After a passing current-value check, the property set and the per-profile aggregate read the current-value table
    /// alone; the check itself is pinned too. Each runs on the engine.
    /// </summary>
    [Trait("Category", "Engine")]
    [Theory]
    [InlineData("property_text", "property_text_complete")]
    [InlineData("not_any", "traits_aggregate_complete")]
    public async Task A_checked_query_reads_the_current_value_table_alone(string caseName, string baselineName)
    {
        var definition = ValidatedDefinition.Unchecked("acme", Parse(Cases[caseName].Condition));
        var options = new CompileOptions(Now) { CurrentTraitsComplete = true };
        var statement = SegmentCompiler.Compile(definition, GoldenSchema, options);
        var check = SegmentCompiler.CompileCurrentTraitsCheck(definition, GoldenSchema, Now)!;

        await AssertMatchesBaselineAsync(baselineName, statement);
        await AssertMatchesBaselineAsync(caseName + "_check", check);
        Assert.DoesNotContain(GoldenSchema.CurrentTraitsWatermark, statement.Text, StringComparison.Ordinal);
        Assert.Contains(GoldenSchema.CurrentTraits, statement.Text, StringComparison.Ordinal);

        var schema = await ExecutionSchema.Value;
        Assert.Equal(["profile_id"], (await TestEngines.Embedded.QueryAsync(SegmentCompiler.Compile(definition, schema, options))).ColumnNames);
        Assert.Equal(["complete"], (await TestEngines.Embedded.QueryAsync(SegmentCompiler.CompileCurrentTraitsCheck(definition, schema, Now)!)).ColumnNames);
    }

    /// <summary>The statement's layout and parameters against Golden/Compiler/<paramref name="name"/>.sql.</summary>
    private static async Task AssertMatchesBaselineAsync(string name, SqlStatement statement)
    {
        var explained = SqlExplain.Of(statement);
        var actual = $"{GoldenSql.Format(explained.Sql)}\n{string.Concat(explained.Parameters.Select(p => $"-- {p.Name} {p.ClickHouseType} = {p.Value}\n"))}".ReplaceLineEndings("\n");
        var baseline = Path.Combine(AppContext.BaseDirectory, "Golden", "Compiler", name + ".sql");
        if (Environment.GetEnvironmentVariable("SEGMENTMCP_REWRITE_GOLDEN") == "1")
        {
            await File.WriteAllTextAsync(Path.Combine(SourceDirectory(), "..", "Golden", "Compiler", name + ".sql"), actual, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        }
        else
        {
            Assert.True(File.Exists(baseline), $"No baseline {baseline}: run with SEGMENTMCP_REWRITE_GOLDEN=1 to create it.");
            Assert.Equal((await File.ReadAllTextAsync(baseline)).ReplaceLineEndings("\n"), actual);
        }
    }

    [Fact]
    public void Sql_recognizes_dates_with_the_same_pattern_as_the_parser()
    {
        var definition = ValidatedDefinition.Unchecked("acme", Parse(Cases["property_dates"].Condition));

        var statement = SegmentCompiler.Compile(definition, GoldenSchema, new CompileOptions(Now));

        Assert.Contains($"'^s{IsoTime.SqlPattern}$'", statement.Text, StringComparison.Ordinal);
    }

    /// <summary>The statement, laid out with its parameters under a comment line, equals Golden/Compiler/NAME.sql.</summary>
    private static async Task AssertMatchesBaselineAsync(string name, string comment, SqlStatement statement)
    {
        var explained = SqlExplain.Of(statement);
        var actual = $"-- {comment}\n{GoldenSql.Format(explained.Sql)}\n{string.Concat(explained.Parameters.Select(p => $"-- {p.Name} {p.ClickHouseType} = {p.Value}\n"))}".ReplaceLineEndings("\n");

        var baseline = Path.Combine(AppContext.BaseDirectory, "Golden", "Compiler", name + ".sql");
        if (Environment.GetEnvironmentVariable("SEGMENTMCP_REWRITE_GOLDEN") == "1")
        {
            var source = Path.Combine(SourceDirectory(), "..", "Golden", "Compiler", name + ".sql");
            Directory.CreateDirectory(Path.GetDirectoryName(source)!);
            await File.WriteAllTextAsync(source, actual, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        }
        else
        {
            Assert.True(File.Exists(baseline), $"No baseline {baseline}: run with SEGMENTMCP_REWRITE_GOLDEN=1 to create it.");
            Assert.Equal((await File.ReadAllTextAsync(baseline)).ReplaceLineEndings("\n"), actual);
        }
    }

    /// <summary>A profile with only an age: outside Boston and without page views.</summary>
    private static Task InsertProfileAsync(StorageSchema schema, string profileId) =>
        TestEngines.Embedded.InsertJsonEachRowAsync(
            schema.ProfileUpdates,
            Encoding.UTF8.GetBytes($$$"""{"tenant": "acme", "profile_id": "{{{profileId}}}", "updated_at": "2024-01-01 00:00:00", "properties": {"age": "n3"}}"""),
            null);

    private static SegmentDefinition Parse(string condition, string name = "golden")
    {
        var result = SegmentDefinitionJson.Parse($$"""{"name": "{{name}}", "condition": {{condition}}}""");
        return result.Definition ?? throw new InvalidOperationException(string.Join("; ", result.Errors));
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
