using SegmentMcp.Cli;
using SegmentMcp.Core.Evaluation;

namespace SegmentMcp.Tests.Cli;

/// <summary>What <c>segmentmcp evaluate</c> prints for a tick.</summary>
public sealed class TickReportTextTests
{
    [Fact]
    public void Sizes_line_up_however_long_the_segment_ids_are()
    {
        var report = new TickReport(
            new DateTime(2026, 12, 5, 5, 43, 46, 477, DateTimeKind.Utc),
            [
                new SegmentTickResult("recent-openers-in-boston-who-have-not-or-a159", 40, 0, 1, 1),
                new SegmentTickResult("abandoned-carts-this-week-770e", 1068, 2, 0, 3),
            ],
            new TickStatistics(4, 2, 2, 1, 159344, TimeSpan.FromMilliseconds(190), TimeSpan.FromMilliseconds(191)))
        {
            Purged = ["demo/old-segment"],
        };

        var lines = TickReportText.Format(report).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();

        Assert.Equal("evaluated at 2026-12-05T05:43:46.477Z: 2 segment(s)", lines[0]);
        Assert.Equal("  abandoned-carts-this-week-770e                size       1068  +2 -0  candidates 3", lines[1]);
        Assert.Equal("  recent-openers-in-boston-who-have-not-or-a159 size         40  +0 -1  candidates 1", lines[2]);
        Assert.Equal("candidates 4, chunks 2, entered 2, exited 1, rows read 159344", lines[3]);
        Assert.Equal("phase 1 190 ms, phase 2 191 ms", lines[4]);
        Assert.Equal("removed the stored membership of 1 deleted segment(s): demo/old-segment", lines[5]);
    }
}
