using System.ComponentModel;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Mcp.Tools;

internal sealed record ProfileEventView(string Metric, DateTime At, double? Value, IReadOnlyDictionary<string, object?> Properties);

internal sealed record GetProfileResult(
    string ProfileId,
    IReadOnlyDictionary<string, object?> Properties,
    IReadOnlyList<ProfileEventView> RecentEvents,
    IReadOnlyList<string> Segments,
    bool Truncated);

[McpServerToolType]
internal sealed class ProfileTools(ITenantAccessor tenant, ProfileReader profiles, IMembershipReader membership)
{
    private const int RecentEvents = 20;
    private const int MaxProperties = 200;

    [McpServerTool(Name = "get_profile", Title = "Show one profile", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Shows one profile: its current property values, its 20 most recent events (metric, time, value, properties) and
        the saved segments it is a member of. Use it to explain to a person who someone is, or to understand why a
        profile is or is not in a segment (check_membership gives the per-condition evidence). Given an email address
        or another property value instead of an id, the error names the profile that has it.
        Example: {"profile_id": "p-000042"}.
        """)]
    public async Task<GetProfileResult> GetProfile(
        [Description("The profile id, exactly as stored (e.g. \"p-000042\").")] string profile_id,
        CancellationToken cancellationToken = default)
    {
        ToolSupport.Required(profile_id, "profile_id");
        var company = tenant.Tenant;
        var snapshot = await profiles.ReadAsync(company, profile_id, RecentEvents, asOf: null, cancellationToken).ConfigureAwait(false);
        if (!snapshot.Exists && snapshot.Properties.Count == 0)
        {
            var hint = await ToolSupport.UnknownProfileHintAsync(profiles, "get_profile", company, profile_id, DateTime.UtcNow, cancellationToken).ConfigureAwait(false);
            throw new McpException($"profile_id: no profile '{ToolSupport.Echo(profile_id)}' in this workspace.{hint} Ids are exact and case-sensitive; list_members or preview_segment return real ids.");
        }

        var segments = await membership.SegmentsOfProfileAsync(company, profile_id, cancellationToken).ConfigureAwait(false);
        var properties = snapshot.Properties.Take(MaxProperties).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        return new GetProfileResult(
            profile_id,
            properties,
            [.. snapshot.RecentEvents.Select(e => new ProfileEventView(e.Metric, e.Timestamp, e.Value, e.Properties))],
            segments,
            snapshot.Properties.Count > MaxProperties);
    }
}
