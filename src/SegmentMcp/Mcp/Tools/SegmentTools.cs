using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.App;

namespace SegmentMcp.Mcp.Tools;

/// <param name="Entered">With changes_since: the entries recorded since then.</param>
/// <param name="Exited">With changes_since: the exits recorded since then.</param>
internal sealed record SegmentListItem(
    string Id,
    string Name,
    string? Description,
    long? Size,
    int Version,
    DateTime? EvaluatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Entered = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Exited = null);

internal sealed record ListSegmentsResult(IReadOnlyList<SegmentListItem> Segments, string? NextCursor);

internal sealed record GetSegmentResult(
    string Id,
    string Name,
    string? Description,
    JsonObject Definition,
    int Version,
    long? Size,
    DateTime? EvaluatedAt,
    string ReadBack,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ValueHint>? ValueHints = null);

internal sealed record SaveSegmentResult(
    string SegmentId,
    int Version,
    long? Size,
    string ReadBack,
    DateTime? EvaluatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ValueHint>? ValueHints = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Note = null);

internal sealed record DeleteSegmentResult(string SegmentId, bool Deleted);

[McpServerToolType]
internal sealed partial class SegmentTools(
    ITenantAccessor tenant, ISegmentStore store, IMembershipReader membership, ISegmentEvaluator evaluator, DefinitionService definitions, SegmentSubscriptions subscriptions)
{
    [McpServerTool(Name = "list_segments", Title = "List saved segments", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Lists the saved segments of this workspace in id order: id, name, description, current size, version and when
        the size was last evaluated. Use it to find a segment's id; with search, only the segments whose id, name or
        description contains that text (ignoring case). With changes_since, each segment also carries entered and exited:
        how many profiles its evaluations added and removed since then, for "which segments moved most this week?"
        (segment_growth gives one segment's days, membership_changes who). Pages of 100 by default (limit up to 1000);
        pass next_cursor back as cursor (with the same search) for the next page.
        Example: {"search": "boston", "changes_since": "2026-11-30T00:00:00Z"}.
        """)]
    public async Task<ListSegmentsResult> ListSegments(
        [Description("next_cursor from the previous list_segments call; omit for the first page.")] string? cursor = null,
        [Description("Segments per page, 1–1000 (default 100).")] int? limit = null,
        [Description("Only segments whose id, name or description contains this text, ignoring case (e.g. \"churn\"); omit for all.")] string? search = null,
        [Description("Add entered and exited to each segment: the changes recorded at or after this ISO-8601 UTC time (e.g. a week ago).")] string? changes_since = null,
        CancellationToken cancellationToken = default)
    {
        var since = ToolSupport.Time(changes_since, "changes_since");
        var take = ToolSupport.Limit(limit);
        var after = Cursor.Decode(cursor, "list_segments", 1)?[0];
        var all = await store.ListAsync(tenant.Tenant, cancellationToken).ConfigureAwait(false);
        var text = string.IsNullOrWhiteSpace(search) ? null : search.Trim();
        var rest = all
            .Where(s => after is null || string.CompareOrdinal(s.Id, after) > 0)
            .Where(s => text is null || s.Mentions(text))
            .OrderBy(s => s.Id, StringComparer.Ordinal)
            .ToList();
        var page = rest.Take(take).ToList();
        var activity = since is { } from
            ? await SegmentActivity.SinceAsync(membership, tenant.Tenant, [.. page.Select(s => s.Id)], from, cancellationToken).ConfigureAwait(false)
            : null;
        return new ListSegmentsResult(
            [.. page.Select(s => new SegmentListItem(s.Id, s.Name, s.Description, s.Size, s.Version, s.EvaluatedAt, activity?[s.Id].Entered, activity?[s.Id].Exited))],
            rest.Count > take ? Cursor.Encode("list_segments", page[^1].Id) : null);
    }

    [McpServerTool(Name = "get_segment", Title = "Show a saved segment", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Shows one saved segment: its definition (the JSON of the segment language), an English read-back to show a
        person, its version, size and evaluation time, and value_hints when a value it compares with is one no data
        holds or a number or date comparison is on a property holding none (as preview_segment). Use it before update_segment to start from the current definition. Example: {"segment_id": "recent-openers-3f9a"}.
        """)]
    public async Task<GetSegmentResult> GetSegment(
        [Description("The segment id from list_segments or create_segment.")] string segment_id,
        CancellationToken cancellationToken = default)
    {
        var saved = await RequireAsync(segment_id, cancellationToken).ConfigureAwait(false);
        using var document = JsonDocument.Parse(saved.DefinitionJson);
        var parsed = SegmentDefinitionJson.Parse(document.RootElement);
        return new GetSegmentResult(
            saved.Id,
            saved.Name,
            saved.Description,
            JsonNode.Parse(saved.DefinitionJson)!.AsObject(),
            saved.Version,
            saved.Size,
            saved.EvaluatedAt,
            parsed.Definition is { } definition ? DefinitionService.ReadBack(definition) : saved.Name,
            parsed.Definition is { } compared
                ? await ValueHints.ForAsync(definitions, ValidatedDefinition.Unchecked(tenant.Tenant, compared), DateTime.UtcNow, cancellationToken).ConfigureAwait(false)
                : null);
    }

    [McpServerTool(Name = "create_segment", Title = "Save a new segment", ReadOnly = false, Destructive = false, Idempotent = false, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Saves a new segment and evaluates its membership now; returns its id, size and an English read-back (and
        value_hints when a compared value is one no data holds or a comparison reads a kind of value the property
        never has, as preview_segment does). Draft and
        check the definition with preview_segment first, show the read-back to the person and create only once they
        confirm. The definition's language is in the resource segmentmcp://dsl/schema. Example:
        {"definition": {"name": "Boston openers", "condition": {"all": [
          {"event": {"metric": "Opened Email", "window": {"last_days": 30}, "op": "gte", "value": 1}},
          {"property": {"name": "city", "op": "eq", "value": "Boston"}}]}}}
        """)]
    public async Task<SaveSegmentResult> CreateSegment(
        [Description("The segment definition: {\"name\", \"description\"?, \"condition\"} in the segment language.")] JsonElement definition,
        McpServer? server = null,
        CancellationToken cancellationToken = default)
    {
        var company = tenant.Tenant;
        var validated = await definitions.ValidateAsync(company, definition, null, cancellationToken).ConfigureAwait(false);
        var parsed = validated.Definition;
        var json = SegmentDefinitionJson.Write(parsed);
        var namesakes = (await store.ListAsync(company, cancellationToken).ConfigureAwait(false))
            .Where(s => string.Equals(s.Name.Trim(), parsed.Name.Trim(), StringComparison.OrdinalIgnoreCase)).ToList();
        var saved = await store.SaveAsync(company, null, parsed.Name, parsed.Description, json, cancellationToken).ConfigureAwait(false);
        var result = await EvaluateAsync(company, saved, validated, cancellationToken).ConfigureAwait(false);
        await subscriptions.SegmentListChangedAsync(company, server, cancellationToken).ConfigureAwait(false);
        return result with { Note = NamesakeNote(saved.Id, json, namesakes) };
    }

    /// <summary>
    /// Names need not be unique, but a second segment of the same name is most often a create_segment retried after it
    /// seemed to fail, or one meant as update_segment: say which segment it repeats and how to undo it.
    /// </summary>
    private static string? NamesakeNote(string id, string json, IReadOnlyList<SavedSegment> namesakes)
    {
        if (namesakes.FirstOrDefault(s => s.DefinitionJson == json) is { } twin)
        {
            return $"Segment '{twin.Id}' already has this exact definition, so '{id}' is a copy of it. If an earlier create_segment only seemed to fail, delete_segment '{id}'.";
        }

        return namesakes.Count == 0
            ? null
            : $"{Suggestions.JoinQuoted([.. namesakes.Select(s => s.Id)], "and")} {(namesakes.Count == 1 ? "has" : "have")} this name too. Names need not be unique, but to change a saved segment call update_segment with its id (and delete_segment '{id}').";
    }

    [McpServerTool(Name = "update_segment", Title = "Change a saved segment", ReadOnly = false, Destructive = false, Idempotent = false, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Replaces a saved segment's definition with a new version and re-evaluates its membership; profiles that no
        longer match are logged as exited. Start from get_segment's definition, preview the change with
        preview_segment's compare_to set to this segment (it says how many would enter and exit), confirm the
        read-back and that change with the person, then update. Example: {"segment_id": "boston-openers-3f9a", "definition": {"name":
        "Boston openers", "condition": {"property": {"name": "city", "op": "in", "value": ["Boston", "Cambridge"]}}}}
        """)]
    public async Task<SaveSegmentResult> UpdateSegment(
        [Description("The id of the segment to change.")] string segment_id,
        [Description("The complete new definition (not a patch); without a name it keeps the segment's name.")] JsonElement definition,
        McpServer? server = null,
        CancellationToken cancellationToken = default)
    {
        var company = tenant.Tenant;
        var current = await RequireAsync(segment_id, cancellationToken).ConfigureAwait(false);
        var validated = await definitions.ValidateAsync(company, definition, segment_id, cancellationToken, nameIfMissing: current.Name).ConfigureAwait(false);
        var parsed = validated.Definition;
        SavedSegment saved;
        try
        {
            saved = await store.SaveAsync(company, segment_id, parsed.Name, parsed.Description, SegmentDefinitionJson.Write(parsed), cancellationToken).ConfigureAwait(false);
        }
        catch (KeyNotFoundException)
        {
            throw ToolSupport.UnknownSegment(segment_id, []);
        }

        var result = await EvaluateAsync(company, saved, validated, cancellationToken).ConfigureAwait(false);
        if (saved.Name != current.Name)
        {
            // resources/list titles a segment by its name.
            await subscriptions.SegmentListChangedAsync(company, server, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }

    [McpServerTool(Name = "delete_segment", Title = "Delete a saved segment", ReadOnly = false, Destructive = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Deletes a saved segment: it stops being evaluated and disappears from list_segments, and its stored members and
        membership history are removed. This cannot be undone: confirm with the person first. Refused while another segment refers
        to it. Deleting a segment that does not exist returns deleted = false. Example: {"segment_id": "boston-openers-3f9a"}.
        """)]
    public async Task<DeleteSegmentResult> DeleteSegment(
        [Description("The id of the segment to delete.")] string segment_id,
        McpServer? server = null,
        CancellationToken cancellationToken = default)
    {
        ToolSupport.Required(segment_id, "segment_id");
        var company = tenant.Tenant;
        var users = await definitions.UsersOfAsync(company, segment_id, cancellationToken).ConfigureAwait(false);
        if (users.Count > 0)
        {
            throw new McpException($"segment_id: '{segment_id}' is used by {Suggestions.JoinQuoted(users, "and")}; change or delete those segments first.");
        }

        var deleted = await store.DeleteAsync(company, segment_id, cancellationToken).ConfigureAwait(false);
        if (deleted)
        {
            await subscriptions.SegmentDeletedAsync(company, segment_id, cancellationToken).ConfigureAwait(false);
            await subscriptions.SegmentListChangedAsync(company, server, cancellationToken).ConfigureAwait(false);
        }

        return new DeleteSegmentResult(segment_id, deleted);
    }

    private async Task<SaveSegmentResult> EvaluateAsync(string company, SavedSegment saved, ValidatedDefinition validated, CancellationToken cancellationToken)
    {
        // Saved either way: a value no data holds may be one the data will hold; the hint says so beside the size.
        var hints = ValueHints.ForAsync(definitions, validated, DateTime.UtcNow, cancellationToken);
        await evaluator.TickAsync(company, null, null, cancellationToken).ConfigureAwait(false);
        var evaluated = await store.GetAsync(company, saved.Id, cancellationToken).ConfigureAwait(false) ?? saved;
        return new SaveSegmentResult(
            evaluated.Id, evaluated.Version, evaluated.Size, DefinitionService.ReadBack(validated.Definition), evaluated.EvaluatedAt, await hints.ConfigureAwait(false));
    }

    private Task<SavedSegment> RequireAsync(string segmentId, CancellationToken cancellationToken) =>
        ToolSupport.RequireSegmentAsync(store, tenant.Tenant, segmentId, cancellationToken);
}
