using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Server;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Mcp.Tools;

/// <summary>One saved version of a segment, as saved, with its read-back.</summary>
internal sealed record SegmentVersionItem(int Version, string Name, string? Description, DateTime SavedAt, string ReadBack, JsonObject Definition);

internal sealed record SegmentVersionsResult(string SegmentId, int CurrentVersion, IReadOnlyList<SegmentVersionItem> Versions, string? NextCursor);

internal sealed partial class SegmentTools
{
    private const int DefaultVersions = 20;
    private const int MaxVersions = 100;

    [McpServerTool(Name = "segment_versions", Title = "A segment's saved versions", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Lists a saved segment's versions, newest first: each version's number, name, description, when it was saved,
        its English read-back and its definition. Every create_segment is version 1 and every update_segment adds one.
        Use it to say what changed in a segment and when ("who narrowed this audience?"), or to restore an earlier
        version: pass that version's definition to update_segment (which saves it as the newest version). 20 versions
        per page by default (limit up to 100); pass next_cursor back as cursor for older ones.
        Example: {"segment_id": "recent-openers-3f9a"}.
        """)]
    public async Task<SegmentVersionsResult> SegmentVersions(
        [Description("The segment id from list_segments or create_segment.")] string segment_id,
        [Description("Versions per page, 1–100 (default 20).")] int? limit = null,
        [Description("next_cursor from the previous segment_versions call for this segment; omit for the newest versions.")] string? cursor = null,
        CancellationToken cancellationToken = default)
    {
        var take = ToolSupport.Limit(limit, DefaultVersions, MaxVersions);
        var values = Cursor.Decode(cursor, "segment_versions", 2);
        if (values is not null && values[0] != segment_id)
        {
            throw new ModelContextProtocol.McpException($"cursor: it pages the versions of '{ToolSupport.Echo(values[0])}', not of '{ToolSupport.Echo(segment_id)}'. Omit cursor to start from this segment's newest version.");
        }

        var before = values is null ? (int?)null : Cursor.Page(values[1], "segment_versions", int.MaxValue);
        var current = await RequireAsync(segment_id, cancellationToken).ConfigureAwait(false);
        var versions = await store.VersionsAsync(tenant.Tenant, segment_id, before, take + 1, cancellationToken).ConfigureAwait(false);
        var page = versions.Take(take).ToList();
        return new SegmentVersionsResult(
            current.Id,
            current.Version,
            [.. page.Select(Item)],
            versions.Count > take ? Cursor.Encode("segment_versions", segment_id, page[^1].Version.ToString(CultureInfo.InvariantCulture)) : null);
    }

    private static SegmentVersionItem Item(SegmentVersion version)
    {
        using var document = JsonDocument.Parse(version.DefinitionJson);
        var parsed = SegmentDefinitionJson.Parse(document.RootElement);
        return new SegmentVersionItem(
            version.Version,
            version.Name,
            version.Description.Length == 0 ? null : version.Description,
            version.CreatedAt,
            parsed.Definition is { } definition ? DefinitionService.ReadBack(definition) : version.Name,
            JsonNode.Parse(version.DefinitionJson)!.AsObject());
    }
}
