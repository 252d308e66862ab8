using System.ComponentModel;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Mcp.Tools;

internal sealed record RefreshedSegment(string SegmentId, long Size, long Entered, long Exited);

internal sealed record RefreshStatistics(long Candidates, int Chunks, long Entered, long Exited, ulong RowsRead, double Phase1Seconds, double Phase2Seconds);

internal sealed record RefreshSegmentsResult(DateTime EvaluatedAt, IReadOnlyList<RefreshedSegment> Segments, RefreshStatistics Statistics, IReadOnlyList<string> PurgedSegmentIds);

[McpServerToolType]
internal sealed class RefreshTools(ITenantAccessor tenant, ISegmentEvaluator evaluator, ISegmentStore store)
{
    [McpServerTool(Name = "refresh_segments", Title = "Re-evaluate saved segments", ReadOnly = false, Destructive = false, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Brings every saved segment of this workspace up to date now (or up to as_of) and reports, per segment, its size
        and how many profiles entered and exited, plus what the evaluation cost; purged_segment_ids lists deleted segments
        whose stored members and history it removed. Segments are also refreshed in the
        background; call this when a person wants current numbers or just loaded new data, then use
        membership_changes to see who moved. Sends progress notifications. Example: {} or {"as_of": "2026-11-20T10:00:00Z"}.
        """)]
    public async Task<RefreshSegmentsResult> RefreshSegments(
        IProgress<ProgressNotificationValue> progress,
        [Description("Evaluate up to this ISO-8601 UTC time; default now. Not in the future, and not before a segment's last evaluation (saved segments only move forward; use preview_segment to look at other times).")] string? as_of = null,
        CancellationToken cancellationToken = default)
    {
        var asOf = ToolSupport.Time(as_of, "as_of");
        if (asOf is { } requested)
        {
            // Stored evaluation times only move forward: a time in the future would freeze the segments until then,
            // and one before their last evaluation cannot be stored without rewriting history.
            if (requested > DateTime.UtcNow + SegmentEvaluator.ClockSkewAllowance)
            {
                throw new McpException($"as_of: {ToolSupport.Iso(requested)} is in the future; refresh_segments evaluates up to now at the latest (omit as_of for now). To see who would match at a future time use preview_segment with as_of; it stores nothing.");
            }

            var saved = await store.ListAsync(tenant.Tenant, cancellationToken).ConfigureAwait(false);
            var ahead = saved.Where(s => s.EvaluatedAt > requested).OrderByDescending(s => s.EvaluatedAt).ToList();
            if (ahead.Count > 0)
            {
                throw new McpException(
                    $"as_of: {ToolSupport.Iso(requested)} is before the last evaluation of {Core.Dsl.Suggestions.JoinQuoted([.. ahead.Take(3).Select(s => s.Id)], "and")}{(ahead.Count > 3 ? $" and {ahead.Count - 3} more" : string.Empty)} (latest {ToolSupport.Iso(ahead[0].EvaluatedAt!.Value)}); saved segments only move forward in time, so nothing was evaluated. Omit as_of to refresh up to now; to see membership at an earlier time use members_at (stored history), preview_segment with as_of, or membership_changes.");
            }
        }

        var report = await evaluator.TickAsync(
            tenant.Tenant,
            asOf,
            new SyncProgress<TickProgress>(p => progress.Report(new ProgressNotificationValue { Progress = p.SegmentsDone, Total = p.SegmentsTotal, Message = p.Message })),
            cancellationToken).ConfigureAwait(false);
        var s = report.Statistics;
        return new RefreshSegmentsResult(
            report.EvaluatedAt,
            [.. report.Segments.Select(r => new RefreshedSegment(r.SegmentId, r.Size, r.Entered, r.Exited))],
            new RefreshStatistics(s.Candidates, s.Chunks, s.Entered, s.Exited, s.RowsRead, s.Phase1.TotalSeconds, s.Phase2.TotalSeconds),
            [.. report.Purged.Where(p => p.StartsWith(tenant.Tenant + "/", StringComparison.Ordinal)).Select(p => p[(tenant.Tenant.Length + 1)..])]);
    }
}
