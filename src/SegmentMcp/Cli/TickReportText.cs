using System.Globalization;
using SegmentMcp.Core.Evaluation;

namespace SegmentMcp.Cli;

/// <summary>A tick report as printed by <c>segmentmcp evaluate</c>.</summary>
internal static class TickReportText
{
    public static string Format(TickReport report)
    {
        var s = report.Statistics;
        var text = new System.Text.StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"evaluated at {report.EvaluatedAt:yyyy-MM-ddTHH:mm:ss.fffZ}: {report.Segments.Count} segment(s)");
        // Ids are as long as the names they come from: the column is as wide as the longest, so sizes line up.
        var idWidth = report.Segments.Select(r => r.SegmentId.Length).DefaultIfEmpty(0).Max();
        foreach (var segment in report.Segments.OrderBy(r => r.SegmentId, StringComparer.Ordinal))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {segment.SegmentId.PadRight(idWidth)} size {segment.Size,10}  +{segment.Entered} -{segment.Exited}  candidates {segment.Candidates}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"candidates {s.Candidates}, chunks {s.Chunks}, entered {s.Entered}, exited {s.Exited}, rows read {s.RowsRead}");
        text.AppendLine(CultureInfo.InvariantCulture, $"phase 1 {s.Phase1.TotalMilliseconds:0} ms, phase 2 {s.Phase2.TotalMilliseconds:0} ms");
        if (report.Purged.Count > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"removed the stored membership of {report.Purged.Count} deleted segment(s): {string.Join(", ", report.Purged)}");
        }
        return text.ToString();
    }
}
