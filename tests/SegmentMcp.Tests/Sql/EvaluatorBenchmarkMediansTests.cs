using SegmentMcp.Benchmarks;

namespace SegmentMcp.Tests.Sql;

/// <summary>The evaluator benchmark's medians over repeated tick rounds (<c>--tick-rounds N</c>).</summary>
public sealed class EvaluatorBenchmarkMediansTests
{
    [Fact]
    public void Each_worker_count_gets_the_median_of_its_runs_and_the_cold_first_run_stays_out()
    {
        (string, double, double, double)[] runs =
        [
            ("1", 0.90, 0, 0),
            ("2", 0.30, 0, 0), ("4", 0.40, 0, 0), ("1 again", 0.50, 0, 0),
            ("2 again", 0.20, 0, 0), ("4 again", 0.25, 0, 0), ("1 again", 0.45, 0, 0),
            ("2 again", 0.60, 0, 0), ("4 again", 0.35, 0, 0), ("1 again", 0.40, 0, 0),
        ];

        var line = EvaluatorBenchmark.Medians(runs, TimeSpan.FromMilliseconds(2000));

        Assert.Equal(
            "medians over the rounds: 2 workers 600 ms (30.0%; 3 runs, 20.0%–60.0%); 4 workers 700 ms (35.0%; 3 runs, 25.0%–40.0%); 1 worker again 900 ms (45.0%; 3 runs, 40.0%–50.0%)",
            line.Replace(" %", "%", StringComparison.Ordinal));
    }
}
