using System.Text;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Storage;

/// <summary>
/// The current-value check: it passes only when the table holds every read property's value as of now, and a query
/// compiled without the history fallback after it passed finds exactly what the query with the fallback finds.
/// </summary>
public abstract partial class EngineContractTests
{
    private static readonly DateTime CheckNow = new(2026, 11, 20, 12, 0, 0, DateTimeKind.Utc);

    /// <summary>A property set (premium in Boston) and a per-profile aggregate (an OR with an unset property).</summary>
    private static readonly string[] CheckedConditions =
    [
        """{"all": [{"property": {"name": "city", "op": "eq", "value": "Boston"}}, {"property": {"name": "plan", "op": "eq", "value": "premium"}}]}""",
        """{"any": [{"property": {"name": "city", "op": "eq", "value": "Boston"}}, {"property": {"name": "plan", "op": "is_not_set"}}]}""",
    ];

    [Fact]
    public async Task The_current_value_check_passes_only_when_the_table_answers_alone()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        await UpdateAsync(schema, ("p1", -3, "city", "sBoston"), ("p1", -3, "plan", "spremium"), ("p2", -3, "city", "sBoston"), ("p2", -3, "plan", "spremium"), ("p3", -3, "city", "sParis"), ("p4", -3, "city", "sBoston"), ("p4", -3, "plan", "spremium"));

        // Nothing refreshed yet: no watermark, every profile uncertain.
        await AssertCheckAsync(schema, CheckNow, complete: false);

        var refresher = new CurrentTraitsRefresher(Engine, schema);
        await refresher.RefreshAsync("acme");
        await AssertCheckAsync(schema, CheckNow, complete: true);

        // An update dated after now (p1 moves to Paris tomorrow): uncertain now, certain the day after.
        await UpdateAsync(schema, ("p1", 1, "city", "sParis"));
        await refresher.RefreshAsync("acme");
        await AssertCheckAsync(schema, CheckNow, complete: false);
        await AssertCheckAsync(schema, CheckNow.AddDays(2), complete: true);

        // An update ingested after the table's watermark: uncertain until the next refresh.
        await UpdateAsync(schema, ("p2", -1, "plan", "sbasic"));
        await AssertCheckAsync(schema, CheckNow.AddDays(2), complete: false);
        await refresher.RefreshAsync("acme");
        await AssertCheckAsync(schema, CheckNow.AddDays(2), complete: true);

        // A definition that reads no property has nothing to check.
        var events = ValidatedDefinition.Unchecked("acme", Definition("""{"event": {"metric": "Opened Email", "op": "gte", "value": 1}}"""));
        Assert.Null(SegmentCompiler.CompileCurrentTraitsCheck(events, schema, CheckNow));

        // Each table of a cluster refreshes a value's retraction and replacement in separate inserts: never checked.
        Assert.Null(SegmentCompiler.CompileCurrentTraitsCheck(events, new TableNames("acme_cluster"), CheckNow));
    }

    [Fact]
    public async Task A_refresh_to_a_watermark_read_before_stops_there_and_queries_read_the_rest_from_the_history()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        await UpdateAsync(schema, ("p1", -3, "city", "sBoston"), ("p1", -3, "plan", "spremium"), ("p2", -3, "city", "sBoston"), ("p2", -3, "plan", "spremium"));
        var refresher = new CurrentTraitsRefresher(Engine, schema);
        await refresher.RefreshAsync("acme");

        // As a tick: the watermark read at its start, then rows ingested before its refresh runs.
        var started = (await IngestClock.ReadAsync(Engine, schema, CancellationToken.None)).Watermark;
        await UpdateAsync(schema, ("p1", -2, "city", "sParis"), ("p3", -2, "city", "sBoston"), ("p3", -2, "plan", "spremium"));
        var refreshed = await refresher.RefreshToWatermarkAsync("acme", started);

        Assert.Equal(started, refreshed.Watermark);
        var recorded = await Engine.QueryAsync(new SqlStatement($"SELECT max(watermark) FROM {schema.CurrentTraitsWatermark} WHERE tenant = 'acme'"));
        // The table keeps milliseconds.
        Assert.InRange(recorded.ReadSingle(row => row.GetDateTime(0)), started.AddMilliseconds(-1), started);
        var live = await Engine.QueryAsync(new SqlStatement($"SELECT profile_id, value FROM {schema.CurrentTraits} FINAL WHERE tenant = 'acme' AND property = 'city' AND is_deleted = 0 ORDER BY profile_id"));
        Assert.Equal([("p1", "sBoston"), ("p2", "sBoston")], live.Read(row => (row.GetString(0), row.GetString(1))));

        // The rows after the watermark are read from the history: p1 left Boston, p3 arrived.
        var premiumInBoston = ValidatedDefinition.Unchecked("acme", Definition(CheckedConditions[0]));
        var options = await CurrentTraitsCheck.ApplyAsync(Engine, premiumInBoston, schema, new CompileOptions(CheckNow));
        Assert.False(options.CurrentTraitsComplete);
        Assert.Equal(["p2", "p3"], await MembersAsync(SegmentCompiler.Compile(premiumInBoston, schema, options)));

        // The next refresh reads the clock and takes them in.
        await refresher.RefreshAsync("acme");
        options = await CurrentTraitsCheck.ApplyAsync(Engine, premiumInBoston, schema, new CompileOptions(CheckNow));
        Assert.True(options.CurrentTraitsComplete);
        Assert.Equal(["p2", "p3"], await MembersAsync(SegmentCompiler.Compile(premiumInBoston, schema, options)));
    }

    [Fact]
    public async Task A_read_beside_the_check_keeps_the_fast_answer_only_when_the_check_passes()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        await UpdateAsync(schema, ("p1", -3, "city", "sBoston"), ("p1", -3, "plan", "spremium"), ("p2", -3, "city", "sBoston"), ("p2", -3, "plan", "spremium"));
        // p1 leaves Boston tomorrow: the table holds its latest value (Paris), the history says Boston now.
        await UpdateAsync(schema, ("p1", 1, "city", "sParis"));
        await new CurrentTraitsRefresher(Engine, schema).RefreshAsync("acme");
        var premiumInBoston = ValidatedDefinition.Unchecked("acme", Definition(CheckedConditions[0]));

        async Task<(List<string> Members, List<bool> Forms)> ReadAsync(DateTime now)
        {
            var forms = new List<bool>();
            var members = await CurrentTraitsCheck.QueryAsync(
                Engine, premiumInBoston, schema, new CompileOptions(now),
                async (options, ct) =>
                {
                    lock (forms)
                    {
                        forms.Add(options.CurrentTraitsComplete);
                    }

                    return await MembersAsync(SegmentCompiler.Compile(premiumInBoston, schema, options));
                });
            return (members, forms);
        }

        // Now the check fails: the table's answer (p2 alone) ran beside it and was dropped, the history's was read after.
        var table = await MembersAsync(SegmentCompiler.Compile(premiumInBoston, schema, new CompileOptions(CheckNow) { CurrentTraitsComplete = true }));
        Assert.Equal(["p2"], table);
        var (members, forms) = await ReadAsync(CheckNow);
        Assert.Equal(["p1", "p2"], members);
        Assert.Equal([true, false], forms);

        // The day after, the check passes: the answer read beside it is the one kept, and nothing runs after it.
        (members, forms) = await ReadAsync(CheckNow.AddDays(2));
        Assert.Equal(["p2"], members);
        Assert.Equal([true], forms);
        Assert.Equal(members, await MembersAsync(SegmentCompiler.Compile(premiumInBoston, schema, new CompileOptions(CheckNow.AddDays(2)))));
    }

    /// <summary>
    /// The check's verdict for every checked condition at <paramref name="now"/>; when it passes, the query without the
    /// fallback finds the fallback's members, and they are not empty (else the comparison means little).
    /// </summary>
    private async Task AssertCheckAsync(StorageSchema schema, DateTime now, bool complete)
    {
        foreach (var condition in CheckedConditions)
        {
            var definition = ValidatedDefinition.Unchecked("acme", Definition(condition));
            var check = SegmentCompiler.CompileCurrentTraitsCheck(definition, schema, now);
            Assert.NotNull(check);
            var result = await Engine.QueryAsync(check);
            Assert.True(complete == result.ReadSingle(row => row.GetBoolean(0)), $"{condition} at {now:O}: expected the check to answer {complete}");

            var options = await CurrentTraitsCheck.ApplyAsync(Engine, definition, schema, new CompileOptions(now));
            Assert.Equal(complete, options.CurrentTraitsComplete);
            var exact = await MembersAsync(SegmentCompiler.Compile(definition, schema, new CompileOptions(now)));
            Assert.NotEmpty(exact);
            if (complete)
            {
                Assert.Equal(exact, await MembersAsync(SegmentCompiler.Compile(definition, schema, options)));
            }
        }
    }

    private async Task<List<string>> MembersAsync(SqlStatement statement) =>
        [.. (await Engine.QueryAsync(statement)).Read(row => row.GetString(0)).Order(StringComparer.Ordinal)];

    private async Task UpdateAsync(StorageSchema schema, params (string Profile, int Days, string Property, string Value)[] updates)
    {
        var rows = new StringBuilder();
        foreach (var (profile, days, property, value) in updates)
        {
            rows.Append(System.Globalization.CultureInfo.InvariantCulture, $"{{\"tenant\":\"acme\",\"profile_id\":\"{profile}\",\"updated_at\":\"{CheckNow.AddDays(days):yyyy-MM-dd HH:mm:ss.fff}\",\"properties\":{{\"{property}\":\"{value}\"}}}}\n");
        }

        await Engine.InsertJsonEachRowAsync(schema.ProfileUpdates, Encoding.UTF8.GetBytes(rows.ToString()), null);
    }

    private static SegmentDefinition Definition(string condition) =>
        SegmentDefinitionJson.Parse($$"""{"name": "checked", "condition": {{condition}}}""").Definition
        ?? throw new InvalidOperationException("The test's definition does not parse.");
}
