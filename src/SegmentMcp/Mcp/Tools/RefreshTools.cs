using System.ComponentModel;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.Evaluation;

namespace SegmentMcp.Mcp.Tools;

internal sealed record RefreshedSegment(string SegmentId, long Size, long Entered, long Exited);

internal sealed record RefreshStatistics(long Candidates, int Chunks, long Entered, long Exited, ulong RowsRead, double Phase1Seconds, double Phase2Seconds);

internal sealed record RefreshSegmentsResult(DateTime EvaluatedAt, IReadOnlyList<RefreshedSegment> Segments, RefreshStatistics Statistics);

[McpServerToolType]
internal sealed class RefreshTools(ITenantAccessor tenant, ISegmentEvaluator evaluator)
{
    [McpServerTool(Name = "refresh_segments", Title = "Re-evaluate saved segments", ReadOnly = false, Destructive = false, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Brings every saved segment of this workspace up to date now (or up to as_of) and reports, per segment, its size
        and how many profiles entered and exited, plus what the evaluation cost. Segments are also refreshed in the
        background; call this when a person wants current numbers or just loaded new data, then use
        membership_changes to see who moved. Sends progress notifications. Example: {} or {"as_of": "2026-11-20T10:00:00Z"}.
        """)]
    public async Task<RefreshSegmentsResult> RefreshSegments(
        IProgress<ProgressNotificationValue> progress,
        [Description("Evaluate up to this ISO-8601 UTC time; default now.")] string? as_of = null,
        CancellationToken cancellationToken = default)
    {
        var asOf = ToolSupport.Time(as_of, "as_of");
        var report = await evaluator.TickAsync(
            tenant.Tenant,
            asOf,
            new SyncProgress<TickProgress>(p => progress.Report(new ProgressNotificationValue { Progress = p.SegmentsDone, Total = p.SegmentsTotal, Message = p.Message })),
            cancellationToken).ConfigureAwait(false);
        var s = report.Statistics;
        return new RefreshSegmentsResult(
            report.EvaluatedAt,
            [.. report.Segments.Select(r => new RefreshedSegment(r.SegmentId, r.Size, r.Entered, r.Exited))],
            new RefreshStatistics(s.Candidates, s.Chunks, s.Entered, s.Exited, s.RowsRead, s.Phase1.TotalSeconds, s.Phase2.TotalSeconds));
    }
}
