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

    private static async Task<HashSet<string>> Members(IClickHouseEngine engine, SqlStatement statement)
    {
        var result = await engine.QueryAsync(statement);
        return result.Rows.Select(row => (string)row[0]!).ToHashSet(StringComparer.Ordinal);
    }
}
