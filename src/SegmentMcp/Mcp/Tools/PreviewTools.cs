using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.App;

namespace SegmentMcp.Mcp.Tools;

internal sealed record PreviewSegmentResult(
    long Count,
    IReadOnlyList<string> Members,
    string? NextCursor,
    string ReadBack,
    DateTime EvaluatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<MemberProfile>? Profiles = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ValueHint>? ValueHints = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ConditionCount>? ConditionCounts = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PreviewComparison? ComparedTo = null);

/// <summary>preview_segment's compare_to: the draft against a saved segment's definition at the same time.</summary>
internal sealed record PreviewComparison(
    string SegmentId,
    long Matches,
    long InBoth,
    long WouldEnter,
    long WouldExit,
    IReadOnlyList<string> WouldEnterExamples,
    IReadOnlyList<string> WouldExitExamples);

internal sealed record ExplainParameter(string Name, string Type, string Value);

internal sealed record ExplainSegmentResult(string ReadBack, string Sql, IReadOnlyList<ExplainParameter> Parameters, long? EstimatedRowsRead, DateTime EvaluatedAt);

internal sealed record CheckMembershipResult(
    string ProfileId,
    bool Member,
    IReadOnlyList<ConditionCheck> Conditions,
    DateTime EvaluatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? StoredMember = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTime? StoredEvaluatedAt = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Note = null);

[McpServerToolType]
internal sealed class PreviewTools(
    ITenantAccessor tenant, ISegmentStore store, DefinitionService definitions, MembershipCheck membershipCheck, ProfileReader profiles, MemberProfiles memberProfiles)
{
    [McpServerTool(Name = "preview_segment", Title = "Preview a definition", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Evaluates a segment definition without saving anything: how many profiles match now (or at as_of), the first
        page of matching profile ids and an English read-back. Use it to draft and check a definition before
        create_segment; if the definition is invalid the error lists every problem with its JSON path and the closest
        existing names, so fix those and preview again. Name profile properties in properties to see who the listed
        members are (their values at the same time, in profiles). Values are compared exactly, case included (a filter
        with "ignore_case": true compares text without case): when a
        compared value (eq, neq, in, not_in) is one no profile or event has, value_hints names it with the closest
        values the data holds, and a number or date comparison (gt, between, before, in_last_days, a sum) on a property
        holding no numbers or dates is named with its most common values; fix the value or operator and preview again.
        A value the data also holds in other cases ("BOSTON", "boston" beside "Boston") is named with those cases:
        add "ignore_case": true to the filter unless the person meant that exact spelling. When an {"all": [...]} matches no one, condition_counts
        gives each of its conditions' count alone, so you can say which one empties it. Before update_segment, pass the
        saved segment's id as compare_to: compared_to then says how many profiles its current definition matches at the
        same time, how many both match, and how many would enter and exit with this draft (with the first few ids of
        each), so the person confirms the change in members as well as in words. Example: {"definition": {"name": "Big spenders", "condition":
        {"event": {"metric": "Placed Order", "window": {"last_days": 90}, "measure": {"sum": "$value"}, "op": "gte", "value": 500}}}, "limit": 10}
        """)]
    public async Task<PreviewSegmentResult> PreviewSegment(
        [Description("The segment definition to try: {\"name\", \"description\"?, \"condition\"}; a draft may leave out the name.")] JsonElement definition,
        [Description("Evaluate as of this ISO-8601 UTC time (e.g. \"2026-11-20T10:00:00Z\"); default now.")] string? as_of = null,
        [Description("Member ids per page, 1–1000 (default 100).")] int? limit = null,
        [Description("next_cursor of the previous preview of the same definition; omit for the first page.")] string? cursor = null,
        [Description(MemberProfiles.ArgumentDescription)] string[]? properties = null,
        [Description("A saved segment's id to compare the draft with (its definition at the same time): who would enter and exit if it took this draft. First page only.")] string? compare_to = null,
        CancellationToken cancellationToken = default)
    {
        var take = ToolSupport.Limit(limit);
        var position = Cursor.Decode(cursor, "preview_segment", 2);
        var compared = compare_to is null ? null : await ToolSupport.RequireSegmentAsync(store, tenant.Tenant, compare_to, cancellationToken, "compare_to").ConfigureAwait(false);
        var now = position is null
            ? ToolSupport.Time(as_of, "as_of") ?? DateTime.UtcNow
            : Cursor.Time(position[1], "preview_segment");
        var validated = await definitions.ValidateAsync(tenant.Tenant, definition, null, cancellationToken, nameIfMissing: SegmentDefinitionJson.DraftName).ConfigureAwait(false);
        var names = await memberProfiles.NamesAsync(tenant.Tenant, properties, cancellationToken).ConfigureAwait(false);
        var hints = position is null ? ValueHints.ForAsync(definitions, validated, now, cancellationToken) : Task.FromResult<IReadOnlyList<ValueHint>?>(null);
        var (count, members) = await definitions.PreviewAsync(validated, now, position?[0], take + 1, cancellationToken).ConfigureAwait(false);
        var page = members.Take(take).ToList();

        // No one: say which of the conditions (counted alone) leaves no one, or that each leaves some and together none.
        var conditionCounts = count == 0 && position is null
            ? await definitions.ConditionCountsAsync(validated, now, cancellationToken).ConfigureAwait(false)
            : [];
        var comparison = compared is null || position is not null ? null : await CompareAsync(validated, count, compared, now, cancellationToken).ConfigureAwait(false);
        return new PreviewSegmentResult(
            count,
            page,
            members.Count > take ? Cursor.Encode("preview_segment", page[^1], ToolSupport.Iso(now)) : null,
            DefinitionService.ReadBack(validated.Definition, validated.References),
            now,
            await memberProfiles.DescribeAsync(tenant.Tenant, page, names, now, cancellationToken).ConfigureAwait(false),
            await hints.ConfigureAwait(false),
            conditionCounts.Count == 0 ? null : conditionCounts,
            comparison);
    }

    [McpServerTool(Name = "explain_segment", Title = "Show a segment's query", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Shows how a saved segment (segment_id) or a draft (definition) is evaluated: the English read-back, the one
        ClickHouse query it compiles to with its parameters, and ClickHouse's estimate of the rows it reads. Use it when
        a person asks why a segment is slow or how it is computed. A sum or an average is compared with a bound a
        billionth beyond the value (at least 500 reads ">= 499.9999995"), so that totals landing exactly on it hold
        whatever order the rows are added in. Give exactly one of segment_id or definition.
        Example: {"segment_id": "boston-openers-3f9a"}.
        """)]
    public async Task<ExplainSegmentResult> ExplainSegment(
        [Description("A saved segment's id (or give definition instead).")] string? segment_id = null,
        [Description("A draft definition (or give segment_id instead).")] JsonElement? definition = null,
        [Description("Compile as of this ISO-8601 UTC time; default now.")] string? as_of = null,
        CancellationToken cancellationToken = default)
    {
        var now = ToolSupport.Time(as_of, "as_of") ?? DateTime.UtcNow;
        var validated = await ResolveAsync(segment_id, definition, cancellationToken).ConfigureAwait(false);
        var statement = definitions.Compile(validated, new CompileOptions(now));
        var explain = SqlExplain.Of(statement);
        long? estimate = null;
        try
        {
            estimate = await definitions.EstimateRowsAsync(validated, now, cancellationToken).ConfigureAwait(false);
        }
        catch (ClickHouseException)
        {
            // The estimate is a courtesy; the SQL and parameters above are still right.
        }

        return new ExplainSegmentResult(
            DefinitionService.ReadBack(validated.Definition, validated.References),
            explain.Sql,
            [.. explain.Parameters.Select(p => new ExplainParameter(p.Name, p.ClickHouseType, p.Value))],
            estimate,
            now);
    }

    [McpServerTool(Name = "check_membership", Title = "Check one profile against a segment", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Says whether one profile is in a segment (saved: segment_id, or draft: definition) now or at as_of, and why:
        every condition of the definition with its JSON path, a read-back, whether it matched for this profile, and the
        evidence (the property's value; the profile's events of that metric in the window, those passing the where
        filters as matching_events, and measured_value, the number op compares; for first_time, sequence, stopped,
        restarted, regularly and last_event the events in each range the condition reads, per step or period, or the
        last event's value). Use it to answer "why is
        (or isn't) this person in the segment?". For a saved segment, stored_member says whether its stored members
        (list_members, as of its last evaluation at stored_evaluated_at) include the profile; a note explains when that
        differs from the answer now. An id no data has comes back with a note saying so. Example: {"profile_id": "p-000042", "segment_id": "boston-openers-3f9a"}.
        """)]
    public async Task<CheckMembershipResult> CheckMembership(
        [Description("The profile id to check.")] string profile_id,
        [Description("A saved segment's id (or give definition instead).")] string? segment_id = null,
        [Description("A draft definition (or give segment_id instead).")] JsonElement? definition = null,
        [Description("Evaluate as of this ISO-8601 UTC time; default now.")] string? as_of = null,
        CancellationToken cancellationToken = default)
    {
        ToolSupport.Required(profile_id, "profile_id");
        var now = ToolSupport.Time(as_of, "as_of") ?? DateTime.UtcNow;
        var validated = await ResolveAsync(segment_id, definition, cancellationToken).ConfigureAwait(false);
        var known = profiles.ExistsAsync(tenant.Tenant, profile_id, cancellationToken);
        var (member, checks) = await membershipCheck.CheckAsync(validated, profile_id, now, cancellationToken).ConfigureAwait(false);

        // An id no data has still gets an answer (a negated condition holds for it), but one about nobody: say so.
        var note = await known.ConfigureAwait(false)
            ? null
            : $"No event or profile record in this workspace has the id '{ToolSupport.Echo(profile_id)}', so this is the answer for a profile with no data at all.{await ToolSupport.UnknownProfileHintAsync(profiles, "check_membership", tenant.Tenant, profile_id, now, cancellationToken).ConfigureAwait(false)} Ids are exact and case-sensitive; list_members, preview_segment and get_profile use real ids.";

        // A saved segment's stored members are as of its last evaluation: when they disagree with the answer now, say
        // which is which, so list_members and this answer do not seem to contradict each other.
        (bool Member, DateTime EvaluatedAt)? stored = null;
        if (segment_id is not null && await store.GetAsync(tenant.Tenant, segment_id, cancellationToken).ConfigureAwait(false) is { } saved)
        {
            stored = await membershipCheck.StoredAsync(tenant.Tenant, saved, profile_id, cancellationToken).ConfigureAwait(false);
            if (as_of is null && stored is { } kept && MembershipCheck.StoredDiffers(member, kept, "refresh_segments, or the background one") is { } pending)
            {
                note = note is null ? pending : $"{note} {pending}";
            }
        }

        return new CheckMembershipResult(profile_id, member, checks, now, stored?.Member, stored?.EvaluatedAt, note);
    }

    private async Task<PreviewComparison> CompareAsync(ValidatedDefinition draft, long draftCount, SavedSegment compared, DateTime now, CancellationToken cancellationToken)
    {
        ValidatedDefinition saved;
        try
        {
            saved = await definitions.ValidateSavedAsync(tenant.Tenant, compared, cancellationToken).ConfigureAwait(false);
        }
        catch (DefinitionException invalid)
        {
            // A saved definition can stop being valid (a segment it used was deleted by hand): say so, not the draft.
            var problem = invalid.Errors.Count > 0 ? $" ({invalid.Errors[0].Path}: {invalid.Errors[0].Message})" : string.Empty;
            throw new McpException($"compare_to: '{compared.Id}' no longer evaluates{problem}; compare with another segment or fix it first.");
        }

        var comparison = await definitions.CompareAsync(draft, draftCount, compared.Id, saved, now, cancellationToken).ConfigureAwait(false);
        return new PreviewComparison(
            comparison.SegmentId, comparison.SavedMatches, comparison.InBoth, comparison.WouldEnter, comparison.WouldExit, comparison.WouldEnterExamples, comparison.WouldExitExamples);
    }

    private async Task<ValidatedDefinition> ResolveAsync(string? segmentId, JsonElement? definition, CancellationToken cancellationToken)
    {
        var hasDefinition = definition is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) };
        if (string.IsNullOrWhiteSpace(segmentId) == !hasDefinition)
        {
            throw new McpException("Give exactly one of segment_id (a saved segment) or definition (a draft).");
        }

        var company = tenant.Tenant;
        if (hasDefinition)
        {
            return await definitions.ValidateAsync(company, definition!.Value, null, cancellationToken, nameIfMissing: SegmentDefinitionJson.DraftName).ConfigureAwait(false);
        }

        var saved = await ToolSupport.RequireSegmentAsync(store, company, segmentId, cancellationToken).ConfigureAwait(false);
        return await definitions.ValidateSavedAsync(company, saved, cancellationToken).ConfigureAwait(false);
    }
}
