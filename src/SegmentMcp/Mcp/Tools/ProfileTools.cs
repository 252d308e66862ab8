using System.ComponentModel;
using System.Text.Json.Serialization;
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
    bool Truncated,
    IReadOnlyList<MetricActivity> Activity,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTime? AsOf = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Note = null);

[McpServerToolType]
internal sealed class ProfileTools(ITenantAccessor tenant, ProfileReader profiles, IMembershipReader membership, Core.App.DefinitionService definitions)
{
    private const int RecentEvents = 20;
    private const int MaxRecentEvents = 100;
    private const int MaxProperties = 200;

    [McpServerTool(Name = "get_profile", Title = "Show one profile", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Shows one profile: its current property values, its most recent events (metric, time, value, properties; 20 by
        default, or those of one metric), its activity (for every metric it has events of: how many, the first and the
        last) and the saved segments it is a member of. Use it to explain to a person who someone is, or to understand
        why a profile is or is not in a segment (check_membership gives the per-condition evidence); with metric, to
        answer "what did they order?" when other events crowd out the ones asked about. With as_of, the profile as it
        was then (its values then, its events up to then; segments stay the current ones): with check_membership at
        the same as_of, "why did they leave the segment on Tuesday?". Given an email address or another property value
        instead of an id, the error names the profile that has it.
        Example: {"profile_id": "p-000042", "metric": "Placed Order"}.
        """)]
    public async Task<GetProfileResult> GetProfile(
        [Description("The profile id, exactly as stored (e.g. \"p-000042\").")] string profile_id,
        [Description("Only this metric's events in recent_events (exact event name, e.g. \"Placed Order\"); omit for every metric.")] string? metric = null,
        [Description("How many recent events, 1–100 (default 20).")] int? limit = null,
        [Description("The profile as of this ISO-8601 UTC time (its property values then and its events up to then); default now.")] string? as_of = null,
        CancellationToken cancellationToken = default)
    {
        var asOf = ToolSupport.Time(as_of, "as_of");
        ToolSupport.Required(profile_id, "profile_id");
        var take = ToolSupport.Limit(limit, RecentEvents, MaxRecentEvents);
        var company = tenant.Tenant;
        if (metric is not null)
        {
            // The cached names first; a metric new since they were read is looked for again before it is refused.
            var catalog = await definitions.CatalogAsync(company, fresh: false, cancellationToken).ConfigureAwait(false);
            if (!catalog.HasMetric(metric))
            {
                catalog = await definitions.CatalogAsync(company, fresh: true, cancellationToken).ConfigureAwait(false);
            }

            if (!catalog.HasMetric(metric))
            {
                throw new McpException($"metric: no metric '{ToolSupport.Echo(metric)}' in this workspace.{catalog.MetricElsewhere(metric, condition: false) ?? Suggestions.DidYouMean(metric, catalog.Metrics)}");
            }
        }

        var snapshot = await profiles.ReadAsync(company, profile_id, take, asOf, cancellationToken, metric).ConfigureAwait(false);
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
            snapshot.Properties.Count > MaxProperties,
            snapshot.Activity,
            asOf,
            asOf is null ? null : "properties, recent_events and activity are as of as_of; segments are the saved segments it is in now (as of their last evaluation): members_at gives a segment's members at a past time.");
    }
}
