using System.Diagnostics;
using System.Globalization;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Benchmarks;

/// <summary>
/// One benchmark shape: a segment definition (DSL JSON) and the SQL a ClickHouse expert would write by hand for the
/// same audience over the same tables. The baseline returns one <c>profile_id</c> per member and may use the
/// parameters <c>{tenant:String}</c> and <c>{now:DateTime64(3, 'UTC')}</c> (and <c>{codes:Array(UInt16)}</c>).
/// </summary>
/// <remarks>
/// Property-only shapes also have <see cref="CurrentValueBaseline"/>: the same audience read by hand from the
/// current-value table (<see cref="TableNames.CurrentTraits"/>), valid when no profile update is dated after now.
/// </remarks>
internal sealed record CompilerBenchmarkShape(
    string Name, string Definition, Func<StorageSchema, string> Baseline, Func<StorageSchema, string>? CurrentValueBaseline = null);

/// <summary>A shape made ready to run: the compiled statement and the baseline statement, both returning profile_id.</summary>
/// <param name="CurrentTraitsCheck">
/// The check the product runs with a read (<see cref="SegmentCompiler.CompileCurrentTraitsCheck"/>), null when the
/// shape reads no property: <paramref name="CompiledComplete"/> runs beside it and is kept when it answers true,
/// otherwise <paramref name="Compiled"/> runs after it; the compiled time includes the check.
/// </param>
internal sealed record PreparedShape(string Name, SqlStatement Compiled, SqlStatement Baseline, SqlStatement? CurrentTraitsCheck = null, SqlStatement? CompiledComplete = null);

/// <summary>One shape's measurements.</summary>
internal sealed record CompilerBenchmarkResult(
    string Name, long Members, double CompiledMedianMs, double BaselineMedianMs, ulong CompiledRowsRead, ulong BaselineRowsRead)
{
    public double Ratio => BaselineMedianMs > 0 ? CompiledMedianMs / BaselineMedianMs : double.PositiveInfinity;
}

/// <summary>
/// <c>compiler</c>: each shape's compiled query against its hand-written baseline, in the same
/// process, interleaved, N runs each after a warm-up; the two must find the same members.
/// </summary>
/// <remarks>
/// Both queries are timed wrapped in the same <c>SELECT count(), groupBitXor(cityHash64(profile_id))</c>, so the
/// members do not cross into .NET (that would measure the transfer, not the query) and equal fingerprints show that
/// both return the same set, not just the same number of profiles.
/// </remarks>
internal static class CompilerBenchmark
{
    public const string Tenant = "demo";

    /// <summary>The id of the referenced segment in the segment-in-segment shape.</summary>
    public const string ReferencedSegmentId = "bench_openers_30d";

    public const double GoalRatio = 1.2;

    public const double GoalMilliseconds = 500;

    private const string Now = "{now:DateTime64(3, 'UTC')}";

    private const string TenantParameter = "{tenant:String}";

    private const string OpenersJson = """
        {"name": "Openers 30d", "condition": {"event": {"metric": "Opened Email", "window": {"last_days": 30}, "op": "gte", "value": 1}}}
        """;

    /// <summary>The shapes: time windows, counts, sums, where filters, NOT, OR, property dates, segment-in-segment and more.</summary>
    /// <remarks>
    /// The sum threshold has a third decimal on purpose: prices have two, and a Float64 sum that lands exactly on a
    /// two-decimal threshold compares either way depending on the (parallel, unordered) summation order.
    /// </remarks>
    public static IReadOnlyList<CompilerBenchmarkShape> Shapes { get; } =
    [
        new("openers 30d (window)", OpenersJson, s => $$"""
            SELECT profile_id FROM {{s.Events}}
            WHERE tenant = {{TenantParameter}} AND metric = 'Opened Email' AND ts >= {{Now}} - INTERVAL 30 DAY AND ts <= {{Now}}
            GROUP BY profile_id
            """),
        new("repeat buyers 90d (count)", """
            {"name": "Repeat buyers", "condition": {"event": {"metric": "Placed Order", "window": {"last_days": 90}, "op": "gte", "value": 3}}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Events}}
            WHERE tenant = {{TenantParameter}} AND metric = 'Placed Order' AND ts >= {{Now}} - INTERVAL 90 DAY AND ts <= {{Now}}
            GROUP BY profile_id HAVING count() >= 3
            """),
        new("big spenders 365d (sum)", """
            {"name": "Big spenders", "condition": {"event": {"metric": "Placed Order", "window": {"last_days": 365}, "measure": {"sum": "$value"}, "op": "gt", "value": 499.995}}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Events}}
            WHERE tenant = {{TenantParameter}} AND metric = 'Placed Order' AND ts >= {{Now}} - INTERVAL 365 DAY AND ts <= {{Now}}
            GROUP BY profile_id HAVING sum(value) > 499.995
            """),
        new("electronics viewers 7d (where)", """
            {"name": "Electronics viewers", "condition": {"event": {"metric": "Viewed Product", "where": [{"name": "category", "op": "eq", "value": "electronics"}], "window": {"last_days": 7}, "op": "gte", "value": 2}}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Events}}
            WHERE tenant = {{TenantParameter}} AND metric = 'Viewed Product' AND ts >= {{Now}} - INTERVAL 7 DAY AND ts <= {{Now}}
              AND properties['category'] = 'selectronics'
            GROUP BY profile_id HAVING count() >= 2
            """),
        new("cart abandoners 24h (NOT)", """
            {"name": "Cart abandoners", "condition": {"all": [
              {"event": {"metric": "Added to Cart", "window": {"last_hours": 24}, "op": "gte", "value": 1}},
              {"not": {"event": {"metric": "Placed Order", "window": {"last_hours": 24}, "op": "gte", "value": 1}}}]}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Events}}
            WHERE tenant = {{TenantParameter}} AND metric IN ('Added to Cart', 'Placed Order') AND ts >= {{Now}} - INTERVAL 24 HOUR AND ts <= {{Now}}
            GROUP BY profile_id HAVING countIf(metric = 'Added to Cart') > 0 AND countIf(metric = 'Placed Order') = 0
            """),
        new("no order 30d (top-level NOT)", """
            {"name": "No order 30d", "condition": {"not": {"event": {"metric": "Placed Order", "window": {"last_days": 30}, "op": "gte", "value": 1}}}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Profiles}}
            WHERE tenant = {{TenantParameter}} AND profile_id NOT IN (
                SELECT profile_id FROM {{s.Events}}
                WHERE tenant = {{TenantParameter}} AND metric = 'Placed Order' AND ts >= {{Now}} - INTERVAL 30 DAY AND ts <= {{Now}})
            GROUP BY profile_id HAVING min(first_seen) <= {{Now}}
            """),
        new("engaged 14d/3d (OR)", """
            {"name": "Engaged", "condition": {"any": [
              {"event": {"metric": "Clicked Email", "window": {"last_days": 14}, "op": "gte", "value": 1}},
              {"event": {"metric": "Viewed Product", "window": {"last_days": 3}, "op": "gte", "value": 1}}]}}
            """, s => $$"""
            SELECT DISTINCT profile_id FROM {{s.Events}}
            WHERE tenant = {{TenantParameter}} AND metric IN ('Clicked Email', 'Viewed Product') AND ts <= {{Now}} AND ts >= {{Now}} - INTERVAL 14 DAY
              AND ts >= if(metric = 'Clicked Email', {{Now}} - INTERVAL 14 DAY, {{Now}} - INTERVAL 3 DAY)
            """),
        new("premium in Boston (properties)", """
            {"name": "Premium in Boston", "condition": {"all": [
              {"property": {"name": "city", "op": "eq", "value": "Boston"}},
              {"property": {"name": "plan", "op": "eq", "value": "premium"}}]}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Traits}}
            WHERE tenant = {{TenantParameter}} AND property IN ('city', 'plan') AND updated_at <= {{Now}}
            GROUP BY profile_id
            HAVING argMaxIf(value, (updated_at, ingested_at), property = 'city') = 'sBoston'
               AND argMaxIf(value, (updated_at, ingested_at), property = 'plan') = 'spremium'
            """,
            s => $$"""
            SELECT profile_id FROM {{s.CurrentTraits}} FINAL
            WHERE tenant = {{TenantParameter}} AND ((property = 'city' AND value = 'sBoston') OR (property = 'plan' AND value = 'spremium'))
              AND updated_at <= {{Now}}
            GROUP BY profile_id HAVING count() = 2
            """),
        new("in Boston, any case (ignore_case)", """
            {"name": "In Boston", "condition": {"property": {"name": "city", "op": "eq", "value": "BOSTON", "ignore_case": true}}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Traits}}
            WHERE tenant = {{TenantParameter}} AND property = 'city' AND updated_at <= {{Now}}
            GROUP BY profile_id
            HAVING lowerUTF8(substring(argMax(value, (updated_at, ingested_at)), 2)) = 'boston'
            """,
            s => $$"""
            SELECT profile_id FROM {{s.CurrentTraits}} FINAL
            WHERE tenant = {{TenantParameter}} AND property = 'city' AND updated_at <= {{Now}} AND lowerUTF8(substring(value, 2)) = 'boston'
            """),
        new("signed up 30d (property date)", """
            {"name": "New signups", "condition": {"property": {"name": "signup_date", "op": "in_last_days", "value": 30}}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Traits}}
            WHERE tenant = {{TenantParameter}} AND property = 'signup_date' AND updated_at <= {{Now}}
            GROUP BY profile_id
            HAVING toDateTime64OrNull(substring(argMax(value, (updated_at, ingested_at)), 2), 3, 'UTC') BETWEEN {{Now}} - INTERVAL 30 DAY AND {{Now}}
            """,
            s => $$"""
            SELECT profile_id FROM {{s.CurrentTraits}} FINAL
            WHERE tenant = {{TenantParameter}} AND property = 'signup_date' AND updated_at <= {{Now}}
              AND value >= concat('s', toString(toDate({{Now}} - INTERVAL 31 DAY))) AND value < concat('s', toString(toDate({{Now}} + INTERVAL 2 DAY)))
              AND toDateTime64OrNull(substring(value, 2), 3, 'UTC') BETWEEN {{Now}} - INTERVAL 30 DAY AND {{Now}}
            """),
        new("birthday in 7 days (anniversary)", """
            {"name": "Birthday this week", "condition": {"property": {"name": "birthday", "op": "anniversary_in_next_days", "value": 7}}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Traits}}
            WHERE tenant = {{TenantParameter}} AND property = 'birthday' AND updated_at <= {{Now}}
            GROUP BY profile_id
            HAVING ifNull(has({codes:Array(UInt16)}, toMonth(toDate32OrNull(substring(argMax(value, (updated_at, ingested_at)), 2))) * 100
                + toDayOfMonth(toDate32OrNull(substring(argMax(value, (updated_at, ingested_at)), 2)))), 0)
            """,
            s => $$"""
            SELECT profile_id FROM {{s.CurrentTraits}} FINAL
            WHERE tenant = {{TenantParameter}} AND property = 'birthday' AND updated_at <= {{Now}}
              AND ifNull(has({codes:Array(UInt16)}, toMonth(toDate32OrNull(substring(value, 2))) * 100 + toDayOfMonth(toDate32OrNull(substring(value, 2)))), 0)
            """),
        new("paying openers (segment-in-segment)", $$$"""
            {"name": "Paying openers", "condition": {"all": [
              {"segment": {"id": "{{{ReferencedSegmentId}}}", "member": true}},
              {"property": {"name": "plan", "op": "neq", "value": "free"}}]}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Events}}
            WHERE tenant = {{TenantParameter}} AND metric = 'Opened Email' AND ts >= {{Now}} - INTERVAL 30 DAY AND ts <= {{Now}}
              AND profile_id IN (
                SELECT profile_id FROM {{s.Traits}}
                WHERE tenant = {{TenantParameter}} AND property = 'plan' AND updated_at <= {{Now}}
                GROUP BY profile_id HAVING argMax(value, (updated_at, ingested_at)) NOT IN ('', 'sfree'))
            GROUP BY profile_id
            """),
        new("lapsed buyers (between_days_ago)", """
            {"name": "Lapsed buyers", "condition": {"all": [
              {"event": {"metric": "Placed Order", "window": {"between_days_ago": [30, 90]}, "op": "gte", "value": 1}},
              {"not": {"event": {"metric": "Placed Order", "window": {"last_days": 30}, "op": "gte", "value": 1}}}]}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Events}}
            WHERE tenant = {{TenantParameter}} AND metric = 'Placed Order' AND ts >= {{Now}} - INTERVAL 90 DAY AND ts <= {{Now}}
            GROUP BY profile_id HAVING max(ts) < {{Now}} - INTERVAL 30 DAY
            """),
        new("category explorers 30d (distinct)", """
            {"name": "Category explorers", "condition": {"event": {"metric": "Viewed Product", "window": {"last_days": 30}, "measure": {"distinct": "category"}, "op": "gte", "value": 4}}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Events}}
            WHERE tenant = {{TenantParameter}} AND metric = 'Viewed Product' AND ts >= {{Now}} - INTERVAL 30 DAY AND ts <= {{Now}}
            GROUP BY profile_id HAVING uniqExact(properties['category']) >= 4
            """),
        new("received, never opened 60d (count eq 0)", """
            {"name": "Received but never opened", "condition": {"all": [
              {"event": {"metric": "Received Email", "window": {"last_days": 60}, "op": "gte", "value": 4}},
              {"event": {"metric": "Opened Email", "window": {"last_days": 60}, "op": "eq", "value": 0}}]}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Events}}
            WHERE tenant = {{TenantParameter}} AND metric IN ('Received Email', 'Opened Email') AND ts >= {{Now}} - INTERVAL 60 DAY AND ts <= {{Now}}
            GROUP BY profile_id HAVING countIf(metric = 'Received Email') >= 4 AND countIf(metric = 'Opened Email') = 0
            """),
        new("first-time buyers 30d (first_time)", """
            {"name": "First-time buyers", "condition": {"first_time": {"metric": "Placed Order", "window": {"last_days": 30}}}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Events}}
            WHERE tenant = {{TenantParameter}} AND metric = 'Placed Order' AND ts <= {{Now}}
            GROUP BY profile_id HAVING min(ts) >= {{Now}} - INTERVAL 30 DAY
            """),
        new("viewed then carted within 1h, 7d (sequence)", """
            {"name": "Viewed then carted", "condition": {"sequence": {"steps": [{"metric": "Viewed Product"}, {"metric": "Added to Cart"}], "within_hours": 1, "window": {"last_days": 7}}}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Events}}
            WHERE tenant = {{TenantParameter}} AND metric IN ('Viewed Product', 'Added to Cart') AND ts >= {{Now}} - INTERVAL 7 DAY AND ts <= {{Now}}
            GROUP BY profile_id
            HAVING arrayExists(v -> arrayExists(c -> c > v AND c - v <= 3600000, groupArrayIf(toUnixTimestamp64Milli(ts), metric = 'Added to Cart')),
                               groupArrayIf(toUnixTimestamp64Milli(ts), metric = 'Viewed Product'))
            """),
        new("weekly browsers 3 of 4 weeks (regularly)", """
            {"name": "Weekly browsers", "condition": {"regularly": {"metric": "Viewed Product", "period": "week", "periods": 4, "min_periods": 3, "op": "gte", "value": 1}}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Events}}
            WHERE tenant = {{TenantParameter}} AND metric = 'Viewed Product' AND ts >= toMonday({{Now}}) - INTERVAL 4 WEEK AND ts < toMonday({{Now}})
            GROUP BY profile_id HAVING uniqExact(toMonday(ts)) >= 3
            """),
        new("latest order electronics (last_event)", """
            {"name": "Latest order electronics", "condition": {"last_event": {"metric": "Placed Order", "property": "category", "op": "eq", "value": "electronics"}}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Events}}
            WHERE tenant = {{TenantParameter}} AND metric = 'Placed Order' AND ts <= {{Now}}
            GROUP BY profile_id HAVING argMax(properties['category'], (ts, ingested_at)) = 'selectronics'
            """),
        new("lapsed buyers (stopped)", """
            {"name": "Lapsed buyers", "condition": {"stopped": {"metric": "Placed Order", "before_days": [30, 90], "recent_days": 30}}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Events}}
            WHERE tenant = {{TenantParameter}} AND metric = 'Placed Order' AND ts >= {{Now}} - INTERVAL 90 DAY AND ts <= {{Now}}
            GROUP BY profile_id HAVING max(ts) < {{Now}} - INTERVAL 30 DAY
            """),
        new("valuable active shoppers (multi-leaf mix)", """
            {"name": "Valuable active shoppers", "condition": {"all": [
              {"property": {"name": "lifetime_value", "op": "gt", "value": 500}},
              {"any": [
                {"property": {"name": "country", "op": "in", "value": ["US", "CA"]}},
                {"property": {"name": "plan", "op": "eq", "value": "premium"}}]},
              {"event": {"metric": "Viewed Product", "window": {"last_days": 30}, "op": "gte", "value": 1}},
              {"not": {"property": {"name": "accepts_marketing", "op": "eq", "value": false}}}]}}
            """, s => $$"""
            SELECT profile_id FROM {{s.Events}}
            WHERE tenant = {{TenantParameter}} AND metric = 'Viewed Product' AND ts >= {{Now}} - INTERVAL 30 DAY AND ts <= {{Now}}
              AND profile_id IN (
                SELECT profile_id FROM {{s.Traits}}
                WHERE tenant = {{TenantParameter}} AND property IN ('lifetime_value', 'country', 'plan', 'accepts_marketing') AND updated_at <= {{Now}}
                GROUP BY profile_id
                HAVING toFloat64OrZero(substring(argMaxIf(value, (updated_at, ingested_at), property = 'lifetime_value'), 2)) > 500
                   AND (argMaxIf(value, (updated_at, ingested_at), property = 'country') IN ('sUS', 'sCA')
                        OR argMaxIf(value, (updated_at, ingested_at), property = 'plan') = 'spremium')
                   AND argMaxIf(value, (updated_at, ingested_at), property = 'accepts_marketing') != 'bfalse')
            GROUP BY profile_id
            """),
    ];

    /// <summary>
    /// <c>compiler [--runs N] [--only TEXT] [--at TIME] [--data DIR | --clickhouse CONN] [--database NAME]</c>, on the
    /// demo tenant at the current time, or at <c>--at</c>; <c>--only</c> runs just the shapes whose name contains TEXT,
    /// or one of its comma-separated parts (e.g. <c>--only first_time,sequence</c>).
    /// </summary>
    public static async Task CommandAsync(BenchArguments args, TextWriter output, CancellationToken cancellationToken)
    {
        var runs = args.Number("runs", 5, 1, 1_000);
        var only = args.Text("only");
        var at = args.Time("at");
        var selection = args.Engine();
        args.RejectUnread();
        var (engine, schema) = await selection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var latestUpdate = await engine.QueryScalarAsync<DateTime>(
            new SqlStatement($"SELECT max(updated_at) FROM {schema.Traits} WHERE tenant = {{tenant:String}}", [new SqlParameter("tenant", "String", Tenant)]),
            cancellationToken).ConfigureAwait(false);
        var now = EvaluationTime(DateTime.UtcNow, DateTime.SpecifyKind(latestUpdate, DateTimeKind.Utc), at);
        await RunAsync(engine, schema, Tenant, now, runs, output, cancellationToken, only).ConfigureAwait(false);
    }

    /// <summary>
    /// The time every shape is evaluated at, to the second: <paramref name="at"/> when given, else the clock. Never
    /// before the latest property update: the current-value baselines read no history, so an update dated after the
    /// evaluation time would make them disagree with the compiled query (the evaluator benchmark writes its hours of
    /// activity ahead of the clock). Without <c>--at</c> the time moves just past that update; an earlier <c>--at</c>
    /// is refused.
    /// </summary>
    internal static DateTime EvaluationTime(DateTime clock, DateTime latestUpdate, DateTime? at)
    {
        if (at is { } given)
        {
            var time = WholeSeconds(given);
            return time >= latestUpdate ? time : throw new BenchUsageException(
                $"--at {time:yyyy-MM-ddTHH:mm:ssZ} is before the demo's latest property update ({latestUpdate:yyyy-MM-ddTHH:mm:ss.fffZ}): " +
                "the current-value baselines read no history, so give a time at or after it");
        }

        return WholeSeconds(clock > latestUpdate ? clock : latestUpdate.AddSeconds(1));
    }

    private static DateTime WholeSeconds(DateTime time) => new(time.Ticks - (time.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);

    /// <summary>
    /// Validates every shape against the tenant's catalog (the segment-in-segment shape resolves its reference from
    /// an in-memory source holding the openers shape), compiles it and binds its baseline, all at <paramref name="now"/>.
    /// </summary>
    /// <param name="currentValueBaselines">
    /// Use the current-value baselines where a shape has one (valid only when no profile update is dated after now).
    /// </param>
    public static async Task<IReadOnlyList<PreparedShape>> PrepareAsync(
        IClickHouseEngine engine, StorageSchema schema, string tenant, DateTime now, bool currentValueBaselines = true, CancellationToken cancellationToken = default)
    {
        var catalog = await TenantCatalogReader.ReadAsync(engine, schema, tenant, cancellationToken).ConfigureAwait(false);
        var openers = SegmentDefinitionJson.Parse(OpenersJson).Definition ?? throw new InvalidOperationException("The openers shape does not parse.");
        var validator = new DefinitionValidator(new InMemorySegments(new Dictionary<string, SegmentDefinition> { [ReferencedSegmentId] = openers }));
        var options = new CompileOptions(now, CompileMode.Members);
        var parameters = new[]
        {
            new SqlParameter("tenant", "String", tenant),
            new SqlParameter("now", FilterSql.DateTimeType, options.Now),
            new SqlParameter("codes", "Array(UInt16)", FilterSql.AnniversaryCodes(now, 7)),
        };
        var prepared = new List<PreparedShape>();
        foreach (var shape in Shapes)
        {
            var validation = await validator.ValidateAsync(tenant, shape.Definition, catalog, null, cancellationToken).ConfigureAwait(false);
            if (!validation.IsValid)
            {
                throw new InvalidOperationException($"Shape '{shape.Name}' is not valid for tenant '{tenant}': {string.Join("; ", validation.Errors)}");
            }

            var compiled = SegmentCompiler.Compile(validation.Definition!, schema, options);
            var check = SegmentCompiler.CompileCurrentTraitsCheck(validation.Definition!, schema, now);
            var complete = check is null ? null : SegmentCompiler.Compile(validation.Definition!, schema, options with { CurrentTraitsComplete = true });
            var (name, baseline) = currentValueBaselines && shape.CurrentValueBaseline is { } current
                ? (shape.Name + " †", current(schema))
                : (shape.Name, shape.Baseline(schema));
            prepared.Add(new PreparedShape(name, compiled, new SqlStatement(baseline, parameters), check, complete));
        }

        return prepared;
    }

    /// <summary>Runs every shape (warm-up, then <paramref name="runs"/> interleaved runs each) and prints the table.</summary>
    public static async Task<IReadOnlyList<CompilerBenchmarkResult>> RunAsync(
        IClickHouseEngine engine, StorageSchema schema, string tenant, DateTime now, int runs, TextWriter output, CancellationToken cancellationToken = default, string? only = null)
    {
        var universe = await engine.QueryScalarAsync<long>(
            new SqlStatement($"SELECT uniqExact(profile_id) FROM {schema.Profiles} WHERE tenant = {{tenant:String}}", [new SqlParameter("tenant", "String", tenant)]),
            cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"compiler benchmark on tenant '{tenant}' ({engine.Kind}): {universe:N0} profiles, now {now:yyyy-MM-dd HH:mm:ss} UTC, {runs} runs each after a warm-up, medians")).ConfigureAwait(false);
        // As ingest and every evaluator tick do: property values newer than the current-value table are read from the
        // history (exact, slower), so bring it up to date first.
        var refresh = await new CurrentTraitsRefresher(engine, schema).RefreshAsync(tenant, cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"current-value traits: {(refresh.Rebuilt ? "built from the history" : "refreshed")} up to {refresh.Watermark:O} ({refresh.RowsRead:N0} rows read)")).ConfigureAwait(false);
        var shapes = (await PrepareAsync(engine, schema, tenant, now, cancellationToken: cancellationToken).ConfigureAwait(false))
            .Where(shape => only is null || only.Split(',').Any(part => shape.Name.Contains(part, StringComparison.OrdinalIgnoreCase)))
            .ToList();
        await output.WriteLineAsync().ConfigureAwait(false);
        await output.WriteLineAsync("| shape | members | compiled ms | baseline ms | ratio | compiled rows read | baseline rows read |").ConfigureAwait(false);
        await output.WriteLineAsync("|---|---:|---:|---:|---:|---:|---:|").ConfigureAwait(false);
        var results = new List<CompilerBenchmarkResult>();
        foreach (var shape in shapes)
        {
            var result = await MeasureAsync(engine, shape, runs, cancellationToken).ConfigureAwait(false);
            results.Add(result);
            var verdict = result.Ratio <= GoalRatio && result.CompiledMedianMs < GoalMilliseconds ? string.Empty : " ✗";
            await output.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"| {result.Name} | {result.Members:N0} | {result.CompiledMedianMs:F0} | {result.BaselineMedianMs:F0} | {result.Ratio:F2}{verdict} | {result.CompiledRowsRead:N0} | {result.BaselineRowsRead:N0} |")).ConfigureAwait(false);
        }

        var misses = results.Where(r => r.Ratio > GoalRatio || r.CompiledMedianMs >= GoalMilliseconds).Select(r => r.Name).ToList();
        await output.WriteLineAsync().ConfigureAwait(false);
        await output.WriteLineAsync(misses.Count == 0
            ? $"goal (≤ {GoalRatio:0.0}× baseline and < {GoalMilliseconds:0} ms): met by all {results.Count} shapes"
            : $"goal (≤ {GoalRatio:0.0}× baseline and < {GoalMilliseconds:0} ms): missed by {string.Join(", ", misses)} (✗)").ConfigureAwait(false);
        if (shapes.Any(s => s.Name.EndsWith(" †", StringComparison.Ordinal)))
        {
            await output.WriteLineAsync("† baseline reads the current-value table by hand (each profile's current value per property, sorted by value)").ConfigureAwait(false);
        }

        if (results.Any(r => r.Name.EndsWith('‡')))
        {
            await output.WriteLineAsync("‡ the current-value check passed: the compiled query ran without the history fallback, beside the check (its time includes both)").ConfigureAwait(false);
        }

        return results;
    }

    /// <summary>The member set of a query's rows as (count, XOR of cityHash64(profile_id)), timed.</summary>
    private static SqlStatement Fingerprint(SqlStatement members) =>
        members with { Text = $"SELECT count() AS members, groupBitXor(cityHash64(profile_id)) AS fingerprint FROM ({members.Text})" };

    private static async Task<CompilerBenchmarkResult> MeasureAsync(IClickHouseEngine engine, PreparedShape shape, int runs, CancellationToken cancellationToken)
    {
        var compiled = Fingerprint(shape.Compiled);
        var baseline = Fingerprint(shape.Baseline);
        var compiledTimes = new List<double>();
        var baselineTimes = new List<double>();
        (long Members, ulong Hash, ulong RowsRead) compiledRun = default;
        (long Members, ulong Hash, ulong RowsRead) baselineRun = default;
        var complete = false;
        for (var run = -1; run < runs; run++)
        {
            // Alternate which goes first, so neither always runs on the other's warm caches.
            var compiledFirst = run % 2 == 0;
            for (var turn = 0; turn < 2; turn++)
            {
                var isCompiled = (turn == 0) == compiledFirst;
                var watch = Stopwatch.StartNew();
                QueryResult result;
                if (isCompiled && shape.CurrentTraitsCheck is { } check)
                {
                    // As the product reads: the form without the fallback beside the check, kept when it passes.
                    var passed = true;
                    result = await CurrentTraitsCheck.SpeculateAsync(
                        engine,
                        check,
                        ct => engine.QueryAsync(Fingerprint(shape.CompiledComplete!), ct),
                        ct =>
                        {
                            passed = false;
                            return engine.QueryAsync(compiled, ct);
                        },
                        cancellationToken).ConfigureAwait(false);
                    complete = passed;
                }
                else
                {
                    result = await engine.QueryAsync(isCompiled ? compiled : baseline, cancellationToken).ConfigureAwait(false);
                }
                var elapsed = watch.Elapsed.TotalMilliseconds;
                var first = result.RowAt(0);
                var measured = (first.GetInt64(0), first.GetUInt64(1), result.Statistics.RowsRead);
                if (isCompiled)
                {
                    compiledRun = measured;
                }
                else
                {
                    baselineRun = measured;
                }

                if (run >= 0)
                {
                    (isCompiled ? compiledTimes : baselineTimes).Add(elapsed);
                }
            }

            if (compiledRun.Members != baselineRun.Members || compiledRun.Hash != baselineRun.Hash)
            {
                throw new InvalidOperationException(
                    $"Shape '{shape.Name}': the compiled query finds {compiledRun.Members:N0} members, the baseline {baselineRun.Members:N0}"
                    + (compiledRun.Members == baselineRun.Members ? " (same count, different profiles)" : string.Empty)
                    + $". Compiled SQL:{Environment.NewLine}{SqlExplain.Of(shape.Compiled)}");
            }
        }

        return new CompilerBenchmarkResult(complete ? shape.Name + " ‡" : shape.Name, compiledRun.Members, Median(compiledTimes), Median(baselineTimes), compiledRun.RowsRead, baselineRun.RowsRead);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? 0 : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    /// <summary>Saved segments held in memory (the referenced shape of the segment-in-segment shape).</summary>
    private sealed class InMemorySegments(IReadOnlyDictionary<string, SegmentDefinition> segments) : ISegmentDefinitionSource
    {
        public Task<SegmentDefinition?> FindAsync(string tenant, string segmentId, CancellationToken cancellationToken) =>
            Task.FromResult(segments.TryGetValue(segmentId, out var definition) ? definition : null);
    }
}
