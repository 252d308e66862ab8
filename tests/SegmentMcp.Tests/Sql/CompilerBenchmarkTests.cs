using SegmentMcp.Benchmarks;
using SegmentMcp.Core.Demo;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Sql;

/// <summary>
/// Keeps the compiler benchmark's hand-written baselines honest: on a small demo tenant, every shape's compiled
/// query and its baseline find exactly the same profiles, at the demo's reference time and at earlier times.
/// </summary>
[Trait("Category", "Engine")]
public sealed class CompilerBenchmarkTests
{
    private static readonly DateTime Reference = new(2026, 11, 30, 18, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task Every_shape_finds_the_same_members_compiled_and_by_hand()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        await DemoLoader.LoadAsync(engine, schema, new DemoOptions { Profiles = 1_000, Seed = 11, ReferenceTime = Reference });

        var nonEmpty = new HashSet<string>(StringComparer.Ordinal);
        var checkedComplete = new HashSet<string>(StringComparer.Ordinal);
        await new CurrentTraitsRefresher(engine, schema).RefreshAsync(CompilerBenchmark.Tenant);
        var afterLatestUpdate = (await engine.QueryScalarAsync<DateTime>(new SqlStatement(
            $"SELECT max(updated_at) FROM {schema.Traits} WHERE tenant = {{tenant:String}}", [new SqlParameter("tenant", "String", CompilerBenchmark.Tenant)]))).AddSeconds(1);

        // The reference time, a time inside the history, and one just before 29 February of a leap year.
        // At the reference time (no update dated later) also against the current-value baselines.
        foreach (var (now, currentValue) in new[]
        {
            (Reference, true), (Reference, false), (Reference.AddDays(-101).AddHours(-7.5), false), (new DateTime(2026, 2, 24, 9, 0, 0, DateTimeKind.Utc), false),
            (afterLatestUpdate, true),
        })
        {
            var shapes = await CompilerBenchmark.PrepareAsync(engine, schema, CompilerBenchmark.Tenant, now, currentValue);
            Assert.Equal(CompilerBenchmark.Shapes.Count, shapes.Count);
            foreach (var shape in shapes)
            {
                var compiled = await Members(engine, shape.Compiled);
                var baseline = await Members(engine, shape.Baseline);
                Assert.True(
                    compiled.SetEquals(baseline),
                    $"{shape.Name} at {now:O}: compiled {compiled.Count}, baseline {baseline.Count}, only compiled: {string.Join(", ", compiled.Except(baseline).Take(5))}, only baseline: {string.Join(", ", baseline.Except(compiled).Take(5))}");
                if (compiled.Count > 0)
                {
                    nonEmpty.Add(shape.Name.TrimEnd(' ', '†'));
                }

                // As the product runs it: after a passing current-value check, without the history fallback.
                if (shape.CurrentTraitsCheck is { } check && (await engine.QueryAsync(check)).ReadSingle(row => row.GetBoolean(0)))
                {
                    Assert.True(compiled.SetEquals(await Members(engine, shape.CompiledComplete!)), $"{shape.Name} at {now:O}: checked, without the fallback, finds other members");
                    checkedComplete.Add(shape.Name.TrimEnd(' ', '†'));
                }
            }
        }

        // After the latest update every shape reading properties passes its check, so the path is exercised.
        Assert.Contains("premium in Boston (properties)", checkedComplete);
        Assert.Contains("signed up 30d (property date)", checkedComplete);
        Assert.Contains("birthday in 7 days (anniversary)", checkedComplete);

        // The comparison means something only where there are members.
        Assert.True(nonEmpty.Count == CompilerBenchmark.Shapes.Count, "empty everywhere: " + string.Join(", ", CompilerBenchmark.Shapes.Select(s => s.Name).Except(nonEmpty)));
    }

    [Fact]
    public void There_are_at_least_twelve_shapes_with_distinct_names()
    {
        Assert.True(CompilerBenchmark.Shapes.Count >= 12);
        Assert.Equal(CompilerBenchmark.Shapes.Count, CompilerBenchmark.Shapes.Select(s => s.Name).Distinct().Count());
    }

    [Fact]
    public void The_evaluation_time_is_the_clock_or_at_and_never_before_the_latest_property_update()
    {
        var clock = new DateTime(2026, 12, 6, 1, 19, 51, 700, DateTimeKind.Utc);
        var latestUpdate = new DateTime(2026, 12, 4, 15, 59, 57, 250, DateTimeKind.Utc);

        // The clock, to the second; and just past an update dated ahead of the clock.
        Assert.Equal(new DateTime(2026, 12, 6, 1, 19, 51, DateTimeKind.Utc), CompilerBenchmark.EvaluationTime(clock, latestUpdate, at: null));
        Assert.Equal(new DateTime(2026, 12, 4, 15, 59, 58, DateTimeKind.Utc), CompilerBenchmark.EvaluationTime(latestUpdate.AddHours(-1), latestUpdate, at: null));

        // --at wins over the clock when it is not before the latest update, to the second too.
        var at = new DateTime(2026, 12, 4, 16, 0, 0, 900, DateTimeKind.Utc);
        Assert.Equal(new DateTime(2026, 12, 4, 16, 0, 0, DateTimeKind.Utc), CompilerBenchmark.EvaluationTime(clock, latestUpdate, at));

        // Before it (also once cut to the second), the run is refused with both times named.
        var refused = Assert.Throws<BenchUsageException>(() => CompilerBenchmark.EvaluationTime(clock, latestUpdate, latestUpdate.AddMilliseconds(500)));
        Assert.Contains("--at 2026-12-04T15:59:57Z", refused.Message, StringComparison.Ordinal);
        Assert.Contains("2026-12-04T15:59:57.250Z", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2026-12-04T16:00:00Z", "2026-12-04T16:00:00")]
    [InlineData("2026-12-04T17:00:00+01:00", "2026-12-04T16:00:00")]
    [InlineData("2026-12-04 16:00", "2026-12-04T16:00:00")]
    public void At_reads_an_iso_time_as_utc(string text, string expected)
    {
        var time = new BenchArguments(["--at", text]).Time("at");
        Assert.Equal(DateTime.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), time);
        Assert.Equal(DateTimeKind.Utc, time!.Value.Kind);
    }

    [Fact]
    public void At_that_is_not_a_time_is_refused_naming_the_flag_and_the_text()
    {
        var refused = Assert.Throws<BenchUsageException>(() => new BenchArguments(["--at", "yesterday"]).Time("at"));
        Assert.Equal("--at must be a time in ISO 8601 such as 2026-12-04T16:00:00Z, not 'yesterday'", refused.Message);
    }

    private static async Task<HashSet<string>> Members(IClickHouseEngine engine, SqlStatement statement)
    {
        var result = await engine.QueryAsync(statement);
        return result.Rows.Select(row => (string)row[0]!).ToHashSet(StringComparer.Ordinal);
    }
}
