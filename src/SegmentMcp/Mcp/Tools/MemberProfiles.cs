using ModelContextProtocol;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Mcp.Tools;

/// <summary>A listed member with the profile properties asked for (a property the profile lacks is left out).</summary>
internal sealed record MemberProfile(string ProfileId, IReadOnlyDictionary<string, object?> Properties);

/// <summary>
/// The <c>properties</c> argument of the tools that list profiles (<c>list_members</c>, <c>members_at</c>,
/// <c>preview_segment</c>, <c>membership_changes</c>): each listed profile with those properties, read for the whole
/// page in one statement.
/// </summary>
internal sealed class MemberProfiles(ProfileReader profiles, IClickHouseEngine engine, StorageSchema schema)
{
    public const int MaxProperties = 20;

    public const string ArgumentDescription = "Profile property names to return for each listed member (up to 20), e.g. [\"email\", \"city\"]; omit for ids alone.";

    /// <summary>The distinct names asked for, checked against the tenant's profile properties (an McpException names the unknown one).</summary>
    public async Task<string[]> NamesAsync(string tenant, string[]? properties, CancellationToken cancellationToken, int max = MaxProperties)
    {
        string[] names = [.. (properties ?? []).Select(p => p?.Trim() ?? string.Empty).Distinct(StringComparer.Ordinal)];
        if (names.Length > max || names.Any(string.IsNullOrEmpty))
        {
            throw new McpException($"properties: give 1 to {max} profile property names (describe_schema lists them), or omit it.");
        }

        if (names.Length > 0)
        {
            var known = await TenantCatalogReader.ProfilePropertiesAsync(engine, schema, tenant, cancellationToken).ConfigureAwait(false);
            if (names.FirstOrDefault(name => !known.Contains(name, StringComparer.Ordinal)) is { } unknown)
            {
                // A metric or an event property named here is a common slip: say what it is rather than what it resembles.
                var catalog = await TenantCatalogReader.ReadAsync(engine, schema, tenant, cancellationToken).ConfigureAwait(false);
                var hint = catalog.ProfilePropertyElsewhere(unknown, condition: false) ?? Suggestions.DidYouMean(unknown, known);
                throw new McpException($"properties: no profile property '{ToolSupport.Echo(unknown)}' in this workspace.{hint} describe_schema lists them.");
            }
        }

        return names;
    }

    /// <summary>The page's members with the values of <paramref name="names"/> at <paramref name="at"/>; null when none are asked for.</summary>
    public async Task<IReadOnlyList<MemberProfile>?> DescribeAsync(string tenant, IReadOnlyList<string> page, string[] names, DateTime at, CancellationToken cancellationToken)
    {
        if (names.Length == 0)
        {
            return null;
        }

        var values = await profiles.PropertiesOfAsync(tenant, page, names, at, cancellationToken).ConfigureAwait(false);
        return [.. page.Select(id => new MemberProfile(id, values.GetValueOrDefault(id) ?? new Dictionary<string, object?>()))];
    }
}
