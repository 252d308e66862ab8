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

    [Fact]
    public void Each_way_a_flag_runs_side_by_side_gets_its_own_median_and_both_cold_first_runs_stay_out()
    {
        (string, double, double, double)[] runs =
        [
            ("1 s2", 0.90, 0, 0), ("1 s1", 0.95, 0, 0),
            ("2 s1", 0.40, 0, 0), ("2 s2", 0.30, 0, 0), ("1 again s2", 0.35, 0, 0), ("1 again s1", 0.45, 0, 0),
            ("2 again s2", 0.20, 0, 0), ("2 again s1", 0.50, 0, 0), ("1 again s1", 0.55, 0, 0), ("1 again s2", 0.25, 0, 0),
        ];

        var line = EvaluatorBenchmark.Medians(runs, TimeSpan.FromMilliseconds(1000));

        Assert.Equal(
            "medians over the rounds: 2 workers s1 450 ms (45.0%; 2 runs, 40.0%–50.0%); 2 workers s2 250 ms (25.0%; 2 runs, 20.0%–30.0%); 1 worker again s2 300 ms (30.0%; 2 runs, 25.0%–35.0%); 1 worker again s1 500 ms (50.0%; 2 runs, 45.0%–55.0%)",
            line.Replace(" %", "%", StringComparison.Ordinal));
    }

    [Fact]
    public void A_journaled_run_prints_its_peaks_without_judging_them_and_still_judges_time_and_rows()
    {
        (string, double, double, double)[] runs = [("1", 0.02, 0.01, 700), ("2", 0.025, 0.015, 1100)];

        var plain = EvaluatorBenchmark.LevelGoals(0.1, runs, embedded: true).ToList();
        var journaled = EvaluatorBenchmark.LevelGoals(0.1, runs, embedded: true, journaled: true).ToList();

        Assert.Equal(3, plain.Count);
        Assert.StartsWith("  not met  tick at 0.1% changed, peak resident set: 1: 700 MiB, 2: 1100 MiB", plain[2], StringComparison.Ordinal);
        Assert.Equal(plain[..2], journaled[..2]);
        Assert.StartsWith("  met      tick at 0.1% changed, time against the full recompute", journaled[0], StringComparison.Ordinal);
        Assert.StartsWith("  not judged  tick at 0.1% changed, peak resident set: 1: 700 MiB, 2: 1100 MiB, goal < 1,024 MiB (with --journal", journaled[2], StringComparison.Ordinal);
        Assert.DoesNotContain(EvaluatorBenchmark.LevelGoals(0.1, runs, embedded: false, journaled: true), line => line.Contains("peak", StringComparison.Ordinal));
    }

    [Fact]
    public void The_proposed_absolute_goals_are_printed_apart_from_the_issues_ratios()
    {
        (string, double, double, double)[] runs = [("2 workers", 0.20, 0.01, 700), ("4 workers", 0.25, 0.01, 700)];

        var atTenth = EvaluatorBenchmark.LevelGoals(0.1, runs, embedded: false, fullRecompute: TimeSpan.FromMilliseconds(2_500)).ToList();
        var atOne = EvaluatorBenchmark.LevelGoals(1, [("2 workers", 0.9, 0.05, 800)], embedded: false, fullRecompute: TimeSpan.FromMilliseconds(2_500)).ToList();

        Assert.StartsWith("  not met  tick at 0.1% changed, time against the full recompute", atTenth[0], StringComparison.Ordinal);
        Assert.Equal(
            "  met      (proposed in README, not the issue's) tick at 0.1% changed, wall time: 2 workers: 500 ms, 4 workers: 625 ms, goal < 1,000 ms",
            atTenth[2]);
        Assert.Equal(
            "  not met  (proposed in README, not the issue's) tick at 1% changed, wall time: 2 workers: 2250 ms, goal < 2,000 ms",
            atOne[1]);
        Assert.DoesNotContain(EvaluatorBenchmark.LevelGoals(0.1, runs, embedded: false), line => line.Contains("proposed", StringComparison.Ordinal));
    }
}
