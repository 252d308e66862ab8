using System.ComponentModel;
using System.Text.Json.Serialization;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Mcp.Tools;

internal sealed record MembersAtResult(
    string SegmentId, DateTime At, IReadOnlyList<string> Members, string? NextCursor, DateTime FirstEvaluatedAt, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<MemberProfile>? Profiles = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Note = null);

/// <summary>Time travel: a saved segment's membership at a past time, from its entered/exited log.</summary>
[McpServerToolType]
internal sealed class HistoryTools(ITenantAccessor tenant, ISegmentStore store, IMembershipHistory history, IMembershipReader membership, MemberProfiles memberProfiles)
{
    [McpServerTool(Name = "segment_growth", Title = "A segment's size day by day", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        A saved segment's size at the end of each of the last days (UTC; the last day at its last evaluation), with how
        many profiles entered and exited on each day, from its entered/exited log: days before its first evaluation
        are left out. Use it for "is this segment growing?", "when did it drop?"; membership_changes then lists who
        entered or exited on a day, members_at who was in it. Example: {"segment_id": "boston-openers-3f9a", "days": 14}.
        """)]
    public async Task<SegmentGrowth> Growth(
        [Description("The saved segment's id.")] string segment_id,
        [Description("How many days back, 1–366 (default 30), ending with the day of the last evaluation.")] int? days = null,
        CancellationToken cancellationToken = default)
    {
        if (days is not null and (< 1 or > SegmentGrowth.MaxDays))
        {
            throw new McpException($"days: {days} is out of range; give 1 to {SegmentGrowth.MaxDays} (default {SegmentGrowth.DefaultDays}).");
        }

        var saved = await ToolSupport.RequireSegmentAsync(store, tenant.Tenant, segment_id, cancellationToken).ConfigureAwait(false);
        return await SegmentGrowth.ReadAsync(membership, history, tenant.Tenant, saved, days ?? SegmentGrowth.DefaultDays, cancellationToken).ConfigureAwait(false);
    }

    [McpServerTool(Name = "members_at", Title = "A segment's members at a past time", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Lists the profile ids that were in a saved segment at a past time (as its last evaluation at or before that
        time recorded them), in id order, 100 per page by default (limit up to 1000); pass next_cursor back as cursor.
        Works for any time since the segment's first evaluation (first_evaluated_at); an earlier time is an error that
        names it. Use it for "who was in this segment on 1 November?"; properties adds each member's profile values as
        they were at that time, in profiles. Example:
        {"segment_id": "boston-openers-3f9a", "at": "2026-11-01T00:00:00Z"}.
        """)]
    public async Task<MembersAtResult> MembersAt(
        [Description("The saved segment's id.")] string segment_id,
        [Description("The past time, ISO-8601 (UTC when no offset), e.g. 2026-11-01T00:00:00Z.")] string at,
        [Description("Profile ids per page, 1–1000 (default 100).")] int? limit = null,
        [Description("next_cursor of the previous members_at call with the same segment and time; omit for the first page.")] string? cursor = null,
        [Description(MemberProfiles.ArgumentDescription)] string[]? properties = null,
        CancellationToken cancellationToken = default)
    {
        var take = ToolSupport.Limit(limit);
        var time = ToolSupport.Time(at, "at") ?? throw new McpException("at: required; give an ISO-8601 time such as 2026-11-01T00:00:00Z.");
        var position = Cursor.Decode(cursor, "members_at", 3);
        var saved = await ToolSupport.RequireSegmentAsync(store, tenant.Tenant, segment_id, cancellationToken).ConfigureAwait(false);
        if (position is not null && (position[0] != saved.Id || Cursor.Time(position[1], "members_at") != time))
        {
            throw new McpException("cursor: this cursor belongs to another segment or time; omit it to start from the beginning.");
        }

        var first = await history.FirstEvaluatedAtAsync(tenant.Tenant, saved.Id, cancellationToken).ConfigureAwait(false)
            ?? throw new McpException($"segment_id: '{saved.Id}' has not been evaluated yet, so it has no history; call refresh_segments, then ask for a time after that.");
        if (time < first)
        {
            throw new McpException($"at: {ToolSupport.Iso(time)} is before the segment's first evaluation at {ToolSupport.Iso(first)}; its history starts there. Give a time at or after {ToolSupport.Iso(first)}.");
        }

        var names = await memberProfiles.NamesAsync(tenant.Tenant, properties, cancellationToken).ConfigureAwait(false);
        var members = await history.MembersAtAsync(tenant.Tenant, saved.Id, time, position?[2], take + 1, cancellationToken).ConfigureAwait(false);
        var page = members.Take(take).ToList();
        var next = members.Count > take ? Cursor.Encode("members_at", saved.Id, ToolSupport.Iso(time), page[^1]) : null;
        // The log knows no future: a later time answers with the last stored membership, which a model could take for a forecast.
        var note = time > DateTime.UtcNow
            ? $"{ToolSupport.Iso(time)} is in the future: these are the members the last evaluation{(saved.EvaluatedAt is { } last ? $" ({ToolSupport.Iso(last)})" : string.Empty)} stored, not a forecast. To see whom the definition would match at a given time, call preview_segment with as_of."
            : null;
        return new MembersAtResult(saved.Id, time, page, next, first, await memberProfiles.DescribeAsync(tenant.Tenant, page, names, time, cancellationToken).ConfigureAwait(false), note);
    }
}
