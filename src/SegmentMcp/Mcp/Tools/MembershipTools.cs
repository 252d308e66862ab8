using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Mcp.Tools;

internal sealed record CountMembersResult(string SegmentId, long Count, DateTime? EvaluatedAt);

internal sealed record ListMembersResult(
    string SegmentId, long Count, IReadOnlyList<string> Members, string? NextCursor, DateTime? EvaluatedAt, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<MemberProfile>? Profiles = null);

internal sealed record MembershipChangeItem(string ProfileId, DateTime At);

internal sealed record MembershipChangesResult(
    string SegmentId, IReadOnlyList<MembershipChangeItem> Entered, IReadOnlyList<MembershipChangeItem> Exited, string? NextCursor, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<MemberProfile>? Profiles = null);

[McpServerToolType]
internal sealed class MembershipTools(
    ITenantAccessor tenant, ISegmentStore store, IMembershipReader membership, MemberProfiles memberProfiles, DefinitionService definitions, ProfileReader profiles)
{
    [McpServerTool(Name = "count_members", Title = "Count a segment's members", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        How many profiles are in a saved segment, as of its last evaluation (evaluated_at; segments are re-evaluated in
        the background and by refresh_segments). Cheap: use it whenever a person asks "how many" (segment_growth gives
        the count day by day). Example:
        {"segment_id": "boston-openers-3f9a"}.
        """)]
    public async Task<CountMembersResult> CountMembers(
        [Description("The saved segment's id.")] string segment_id,
        CancellationToken cancellationToken = default)
    {
        // The count and the segment's lookup run side by side: the call costs one round trip, not two.
        var counting = segment_id is null ? Task.FromResult(0L) : membership.CountAsync(tenant.Tenant, segment_id, cancellationToken);
        var saved = await ToolSupport.RequireSegmentAsync(store, tenant.Tenant, segment_id, cancellationToken).ConfigureAwait(false);
        var count = await counting.ConfigureAwait(false);
        return new CountMembersResult(saved.Id, count, saved.EvaluatedAt);
    }

    [McpServerTool(Name = "list_members", Title = "List a segment's members", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Lists the profile ids in a saved segment (as of its last evaluation), in id order, 100 per page by default (limit
        up to 1000); pass next_cursor back as cursor for the next page. To see who they are, name profile properties in
        properties (up to 20, from describe_schema): each member then comes with those values as of the same evaluation,
        in profiles, instead of a get_profile call per member. For what the members are like overall (their cities,
        plans, purchases), segment_breakdown answers in one call. Example: {"segment_id": "boston-openers-3f9a", "limit":
        50, "properties": ["email", "city"]}.
        """)]
    public async Task<ListMembersResult> ListMembers(
        [Description("The saved segment's id.")] string segment_id,
        [Description("Profile ids per page, 1–1000 (default 100).")] int? limit = null,
        [Description("next_cursor of the previous list_members call for this segment; omit for the first page.")] string? cursor = null,
        [Description(MemberProfiles.ArgumentDescription)] string[]? properties = null,
        CancellationToken cancellationToken = default)
    {
        var take = ToolSupport.Limit(limit);
        var position = Cursor.Decode(cursor, "list_members", 2);
        var saved = await ToolSupport.RequireSegmentAsync(store, tenant.Tenant, segment_id, cancellationToken).ConfigureAwait(false);
        if (position is not null && position[0] != saved.Id)
        {
            throw new McpException("cursor: this cursor belongs to another segment; omit it to start from the beginning.");
        }

        var names = await memberProfiles.NamesAsync(tenant.Tenant, properties, cancellationToken).ConfigureAwait(false);

        var count = await membership.CountAsync(tenant.Tenant, saved.Id, cancellationToken).ConfigureAwait(false);
        var members = await membership.MembersAsync(tenant.Tenant, saved.Id, position?[1], take + 1, cancellationToken).ConfigureAwait(false);
        var page = members.Take(take).ToList();
        var details = await memberProfiles.DescribeAsync(tenant.Tenant, page, names, saved.EvaluatedAt ?? DateTime.UtcNow, cancellationToken).ConfigureAwait(false);
        return new ListMembersResult(saved.Id, count, page, members.Count > take ? Cursor.Encode("list_members", saved.Id, page[^1]) : null, saved.EvaluatedAt, details);
    }

    [McpServerTool(Name = "segment_overlap", Title = "Compare segments' overlap", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        For 2 to 8 saved segments: each one's size and, for every pair, how many profiles are in both. Use it to compare
        audiences ("how many of my VIPs are also churn risks?"). Example: {"segment_ids": ["vips-1a2b", "churn-risk-9f8e"]}.
        """)]
    public async Task<SegmentOverlapResult> SegmentOverlap(
        [Description("2 to 8 distinct saved segment ids.")] string[] segment_ids,
        CancellationToken cancellationToken = default)
    {
        var ids = (segment_ids ?? []).ToList();
        if (ids.Count is < SegmentOverlapResult.MinSegments or > SegmentOverlapResult.MaxSegments || ids.Distinct(StringComparer.Ordinal).Count() != ids.Count)
        {
            throw new McpException($"segment_ids: give 2 to 8 distinct segment ids (got {ids.Count}{(ids.Distinct(StringComparer.Ordinal).Count() != ids.Count ? ", with repeats" : string.Empty)}).");
        }

        var company = tenant.Tenant;
        foreach (var id in ids)
        {
            await ToolSupport.RequireSegmentAsync(store, company, id, cancellationToken).ConfigureAwait(false);
        }

        return await SegmentOverlapResult.ReadAsync(membership, company, ids, cancellationToken).ConfigureAwait(false);
    }

    [McpServerTool(Name = "segment_breakdown", Title = "Break a segment down by properties", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        What a segment's members are like. By profile property (properties): for each, how many members have a value,
        how many distinct values there are, the most common values with their counts and share of the members (share
        is a fraction of all members, 0–1), the members with other values, and for number values their spread (min,
        p25, median, p75, max, mean). By event property (events, each {"metric", "property", "last_days"}): the
        members' events of that metric in the last days (default 30), the members who had any and who had none, and
        the values carried by the most members, with events and members per value; for number values (property
        "$value" is each event's own number, such as an order's amount) numbers gives their sum, spread and mean over
        the events and mean_per_profile over the members who had any ("average order value", "average spend per
        buyer"). A saved segment (segment_id) is
        read as of its last evaluation; a draft (definition, as for preview_segment) is evaluated now or at as_of,
        nothing saved. Use it for "which cities are they in?", "what plans are they on?", "what did they buy?"
        instead of listing members. Example: {"segment_id": "boston-openers-3f9a", "properties": ["city", "plan"],
        "events": [{"metric": "Placed Order", "property": "category", "last_days": 90}]}.
        """)]
    public async Task<SegmentBreakdown> BreakdownSegment(
        [Description("Up to 10 profile property names (describe_schema lists them), e.g. [\"city\", \"plan\"].")] string[]? properties = null,
        [Description("Up to 5 event properties, each {\"metric\": M, \"property\": P, \"last_days\": N (1–3650, default 30)}: P of the members' M events in the last N days.")] JsonElement? events = null,
        [Description("A saved segment's id (or give definition instead).")] string? segment_id = null,
        [Description("A draft definition (or give segment_id instead).")] JsonElement? definition = null,
        [Description("For a draft: evaluate as of this ISO-8601 UTC time; default now.")] string? as_of = null,
        [Description("How many of the most common values to return per property, 1–50 (default 10).")] int? top = null,
        CancellationToken cancellationToken = default)
    {
        var eventRequests = EventRequests(events);
        if ((properties is null || properties.Length == 0) && eventRequests.Count == 0)
        {
            throw new McpException($"properties: give 1 to {SegmentBreakdown.MaxProperties} profile property names (describe_schema lists them), e.g. [\"city\"], or events to break down by.");
        }

        if (properties is not null && properties.Distinct(StringComparer.Ordinal).Count() > SegmentBreakdown.MaxProperties)
        {
            throw new McpException($"properties: at most {SegmentBreakdown.MaxProperties} names per call (got {properties.Distinct(StringComparer.Ordinal).Count()}); split them over several calls.");
        }

        if (top is not null and (< 1 or > SegmentBreakdown.MaxTop))
        {
            throw new McpException($"top: {top} is out of range; give 1 to {SegmentBreakdown.MaxTop} (default {SegmentBreakdown.DefaultTop}).");
        }

        var hasDefinition = definition is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) };
        if (string.IsNullOrWhiteSpace(segment_id) == !hasDefinition)
        {
            throw new McpException("Give exactly one of segment_id (a saved segment) or definition (a draft).");
        }

        if (!hasDefinition && !string.IsNullOrWhiteSpace(as_of))
        {
            throw new McpException("as_of: only for a draft definition; a saved segment is broken down as of its last evaluation (members_at lists its members at a past time).");
        }

        var company = tenant.Tenant;
        var now = ToolSupport.Time(as_of, "as_of") ?? DateTime.UtcNow;
        var validated = hasDefinition ? await definitions.ValidateAsync(company, definition!.Value, null, cancellationToken, nameIfMissing: SegmentDefinitionJson.DraftName).ConfigureAwait(false) : null;
        var saved = hasDefinition ? null : await ToolSupport.RequireSegmentAsync(store, company, segment_id, cancellationToken).ConfigureAwait(false);
        var names = properties is null or [] ? [] : await memberProfiles.NamesAsync(company, properties, cancellationToken, SegmentBreakdown.MaxProperties).ConfigureAwait(false);
        if (eventRequests.Count > 0)
        {
            var catalog = await definitions.CatalogAsync(company, fresh: false, cancellationToken).ConfigureAwait(false);
            if (eventRequests.Any(e => SegmentBreakdown.UnknownName(e, catalog) is not null))
            {
                catalog = await definitions.CatalogAsync(company, fresh: true, cancellationToken).ConfigureAwait(false);
            }

            for (var i = 0; i < eventRequests.Count; i++)
            {
                if (SegmentBreakdown.UnknownName(eventRequests[i], catalog) is { } problem)
                {
                    throw new McpException($"events[{i}].{problem} describe_schema lists the metrics and their properties.");
                }
            }
        }

        var request = new BreakdownRequest(names, eventRequests, top ?? SegmentBreakdown.DefaultTop);
        return validated is not null
            ? await SegmentBreakdown.ReadAsync(definitions, validated, request, now, cancellationToken).ConfigureAwait(false)
            : await SegmentBreakdown.ReadAsync(membership, company, saved!, request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The CLI's "Metric:property[:days]", the likeliest string given as an event item, answered with its object.</summary>
    private static string EventItemMeant(JsonElement item)
    {
        if (item.ValueKind != JsonValueKind.String || item.GetString()!.Split(':') is not [var metric, var property, .. var rest] || rest.Length > 1)
        {
            return string.Empty;
        }

        var days = rest is [var given] ? $", \"last_days\": {ToolSupport.Echo(given.Trim())}" : string.Empty;
        return $" Did you mean {{\"metric\": {JsonSerializer.Serialize(ToolSupport.Echo(metric.Trim()))}, \"property\": {JsonSerializer.Serialize(ToolSupport.Echo(property.Trim()))}{days}}}?";
    }

    /// <summary>The <c>events</c> argument read: up to <see cref="SegmentBreakdown.MaxEvents"/> objects, each error naming its place.</summary>
    private static List<EventBreakdownRequest> EventRequests(JsonElement? events)
    {
        if (events is not { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } given)
        {
            return [];
        }

        if (given.ValueKind != JsonValueKind.Array || given.GetArrayLength() > SegmentBreakdown.MaxEvents)
        {
            throw new McpException($"events: give an array of up to {SegmentBreakdown.MaxEvents} objects {{\"metric\": M, \"property\": P, \"last_days\": N}}.");
        }

        var requests = new List<EventBreakdownRequest>();
        foreach (var (item, i) in given.EnumerateArray().Select((item, i) => (item, i)))
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw new McpException($"events[{i}]: give an object {{\"metric\": M, \"property\": P, \"last_days\": N}}.{EventItemMeant(item)}");
            }

            if (item.EnumerateObject().FirstOrDefault(p => p.Name is not ("metric" or "property" or "last_days")) is { Value.ValueKind: not JsonValueKind.Undefined } unknown)
            {
                var hint = unknown.Name == "properties"
                    ? " One property per item: {\"metric\": M, \"property\": P}, one item for each property."
                    : Suggestions.DidYouMean(unknown.Name, ["metric", "property", "last_days"]);
                throw new McpException($"events[{i}].{ToolSupport.Echo(unknown.Name)}: not a field.{hint} An event property is {{\"metric\": M, \"property\": P, \"last_days\": N}}.");
            }

            string Text(string field) =>
                item.TryGetProperty(field, out var value) && value.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(value.GetString())
                    ? value.GetString()!
                    : throw new McpException($"events[{i}].{field}: required; give a string ({(field == "metric" ? "a metric name" : "a property of its events")}, as describe_schema lists them).");

            var days = SegmentBreakdown.DefaultLastDays;
            if (item.TryGetProperty("last_days", out var lastDays) && lastDays.ValueKind != JsonValueKind.Null
                && !(lastDays.ValueKind == JsonValueKind.Number && lastDays.TryGetInt32(out days) && days is >= 1 and <= SegmentBreakdown.MaxLastDays))
            {
                throw new McpException($"events[{i}].last_days: give a whole number of days, 1 to {SegmentBreakdown.MaxLastDays} (default {SegmentBreakdown.DefaultLastDays}).");
            }

            requests.Add(new EventBreakdownRequest(Text("metric"), Text("property"), days));
        }

        return requests;
    }

    [McpServerTool(Name = "membership_changes", Title = "Who entered or left a segment", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Who entered and who exited a saved segment between since and until (ISO-8601 UTC; default: all history up to
        now), with the evaluation time of each change, oldest first, 100 changes per page by default (limit up to 1000).
        Use it for "who joined this week?"; properties adds the changed profiles' values as of until (default now), in
        profiles, e.g. their email for a welcome campaign. With profile_id, only that profile's entries and exits: "when
        did she join, and has she left since?". Example: {"segment_id": "boston-openers-3f9a", "since":
        "2026-11-13T00:00:00Z", "properties": ["email"]}.
        """)]
    public async Task<MembershipChangesResult> MembershipChanges(
        [Description("The saved segment's id.")] string segment_id,
        [Description("Changes at or after this ISO-8601 UTC time; default the beginning.")] string? since = null,
        [Description("Changes before this ISO-8601 UTC time; default now.")] string? until = null,
        [Description("Changes per page, 1–1000 (default 100).")] int? limit = null,
        [Description("next_cursor of the previous membership_changes call with the same arguments.")] string? cursor = null,
        [Description(MemberProfiles.ArgumentDescription)] string[]? properties = null,
        [Description("Only this profile's entries and exits (its id, exactly as stored).")] string? profile_id = null,
        CancellationToken cancellationToken = default)
    {
        var take = ToolSupport.Limit(limit);
        var from = ToolSupport.Time(since, "since");
        var to = ToolSupport.Time(until, "until");
        if (from is not null && to is not null && from >= to)
        {
            throw new McpException("since/until: since must be earlier than until.");
        }

        var names = await memberProfiles.NamesAsync(tenant.Tenant, properties, cancellationToken).ConfigureAwait(false);

        var position = Cursor.Decode(cursor, "membership_changes", 3);
        var saved = await ToolSupport.RequireSegmentAsync(store, tenant.Tenant, segment_id, cancellationToken).ConfigureAwait(false);
        (DateTime, string)? after = null;
        if (position is not null)
        {
            if (position[0] != saved.Id)
            {
                throw new McpException("cursor: this cursor belongs to another segment; omit it to start from the beginning.");
            }

            after = (Cursor.Time(position[1], "membership_changes"), position[2]);
        }

        if (profile_id is not null && !await profiles.ExistsAsync(tenant.Tenant, profile_id, cancellationToken).ConfigureAwait(false))
        {
            // An email or a retyped id would otherwise read as "never entered".
            var hint = await ToolSupport.UnknownProfileHintAsync(profiles, "membership_changes", tenant.Tenant, profile_id, DateTime.UtcNow, cancellationToken).ConfigureAwait(false);
            throw new McpException($"profile_id: no profile '{ToolSupport.Echo(profile_id)}' in this workspace.{hint}");
        }

        var changes = await membership.ChangesAsync(tenant.Tenant, saved.Id, from, to, after, take + 1, cancellationToken, profile_id).ConfigureAwait(false);
        var page = changes.Take(take).ToList();
        string[] changed = [.. page.Select(c => c.ProfileId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        return new MembershipChangesResult(
            saved.Id,
            [.. page.Where(c => c.Entered).Select(c => new MembershipChangeItem(c.ProfileId, c.At))],
            [.. page.Where(c => !c.Entered).Select(c => new MembershipChangeItem(c.ProfileId, c.At))],
            changes.Count > take ? Cursor.Encode("membership_changes", saved.Id, ToolSupport.Iso(page[^1].At), page[^1].ProfileId) : null,
            await memberProfiles.DescribeAsync(tenant.Tenant, changed, names, to ?? DateTime.UtcNow, cancellationToken).ConfigureAwait(false));
    }
}
