using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Cli;

/// <summary>The quickstart verb as a new user runs it: the real executable on an empty data directory, then again.</summary>
[Trait("Category", "Engine")]
public sealed class QuickstartCommandTests(TemporaryDirectory data) : IClassFixture<TemporaryDirectory>
{
    [Fact]
    public async Task Quickstart_loads_builds_the_timelines_once_and_shows_the_example_segments()
    {
        var first = await HostProcess.RunAsync(null, "quickstart", "--profiles", "400", "--data", data.Path);
        Assert.True(first.ExitCode == 0, first.StandardError);
        Assert.Contains("Loaded 400 profiles", first.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Built the evaluator's per-profile timelines", first.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Evaluated 5 saved segments", first.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(": 0 rows written", first.StandardError, StringComparison.Ordinal);
        Assert.Equal(5, first.StandardOutput.Split('\n').Count(line => line.Contains(" member", StringComparison.Ordinal)));
        Assert.Contains($"serve --company demo --data {data.Path}", first.StandardOutput, StringComparison.Ordinal);
        var segments = Segments(first.StandardOutput);
        Assert.Equal(5, segments.Count);

        // The data is reused: nothing is loaded or built again, and the same saved segments are shown (their sizes may
        // move with the clock: the windows are relative to now).
        var again = await HostProcess.RunAsync(null, "quickstart", "--profiles", "400", "--data", data.Path);
        Assert.True(again.ExitCode == 0, again.StandardError);
        Assert.DoesNotContain("Loading the demo shop", again.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("Built the evaluator's", again.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(segments, Segments(again.StandardOutput));
    }

    /// <summary>The "name  [id]" lines the verb prints for each saved segment.</summary>
    private static List<string> Segments(string output) =>
        [.. output.Split('\n').Select(line => line.Trim()).Where(line => line.EndsWith(']') && line.Contains("  [", StringComparison.Ordinal))];
}
