using System.ComponentModel;
using System.Text.Json.Serialization;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.App;

namespace SegmentMcp.Mcp.Tools;

/// <summary>A saved segment in a schema overview.</summary>
internal sealed record SegmentBrief(string Id, string Name, long? Size);

internal sealed record DescribeSchemaResult(
    string Tenant,
    long Profiles,
    long Events,
    IReadOnlyList<PropertyStatistics> Properties,
    IReadOnlyList<MetricStatistics> Metrics,
    IReadOnlyList<SegmentBrief> Segments,
    string? NextCursor,
    bool Truncated,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Note = null);

[McpServerToolType]
internal sealed class SchemaTools(ITenantAccessor tenant, SchemaDescriber describer, ISegmentStore store, DefinitionService definitions)
{
    private const int PageSize = 100;
    private const int PropertiesPerMetric = 100;

    [McpServerTool(Name = "describe_schema", Title = "Describe the data", ReadOnly = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Describes this workspace's data so you can write segment definitions with real names and values: how many
        profiles and events there are; every profile property with its JSON types, how many profiles have a value and
        the most frequent values; every metric (event name) with event and profile counts, first/last time seen, the
        properties its events carry and, when its events have a numeric value (an order's amount), "value" with sample
        values: conditions read it as "$value" (e.g. "measure": {"sum": "$value"}); and the saved segments. Call it first, before drafting a definition, and again
        with metric or property to look closer at one name: then each property also has distinct_values, top_values (up
        to 50 values with how many profiles have each, or for a metric how many of its sampled_events; left out when
        values never repeat, like emails, or are numbers with many values), min/max of its numbers, earliest/latest
        of its ISO-8601 dates (compare those with the date operators: before, after, in_last_days…) and, when some texts
        differ only in case, case_variants (groups like "Boston", "BOSTON", "boston" with their counts: a filter on one
        spelling misses the others unless it has "ignore_case": true). Check a value
        there (is "Berlin" a city here? how is "premium" spelled?) before writing it into a definition. Example:
        {"property": "city"}.
        Lists are paged 100 at a time; pass next_cursor back as cursor for more.
        """)]
    public async Task<DescribeSchemaResult> DescribeSchema(
        McpServer server,
        [Description("Only this metric (exact event name, e.g. \"Opened Email\"); omit for all.")] string? metric = null,
        [Description("Only this profile property (exact name, e.g. \"city\"); omit for all.")] string? property = null,
        [Description("next_cursor from the previous describe_schema call with the same metric/property; omit for the first page.")] string? cursor = null,
        CancellationToken cancellationToken = default)
    {
        // The page must stay small enough that page × PageSize cannot overflow; a larger one was never issued.
        var page = Cursor.Decode(cursor, "describe_schema", 1) is { } values ? Cursor.Page(values[0], "describe_schema", (int.MaxValue / PageSize) - 1) : 0;
        var company = tenant.Tenant;
        var statistics = await describer.DescribeAsync(company, metric, property, DateTime.UtcNow, cancellationToken).ConfigureAwait(false);
        if ((metric is not null && statistics.Metrics.Count == 0) || (property is not null && statistics.Properties.Count == 0))
        {
            // Only a name that matched nothing reads the catalog (the names events use, and the profile properties), to
            // tell a misspelling from a name without data as of now and to suggest the closest.
            var catalog = await definitions.CatalogAsync(company, fresh: true, cancellationToken).ConfigureAwait(false);
            if (metric is not null && !catalog.HasMetric(metric))
            {
                throw new McpException($"metric: no metric '{ToolSupport.Echo(metric)}' in this workspace.{(catalog.MetricElsewhere(metric, condition: false) is { } elsewhere ? elsewhere + LookCloser(catalog, metric) : Suggestions.DidYouMean(metric, catalog.Metrics))}");
            }

            if (property is not null && !catalog.ProfileProperties.Contains(property))
            {
                throw new McpException($"property: no profile property '{ToolSupport.Echo(property)}' in this workspace.{(catalog.ProfilePropertyElsewhere(property, condition: false) is { } elsewhere ? elsewhere + LookCloser(catalog, property) : Suggestions.DidYouMean(property, catalog.ProfileProperties))}");
            }
        }

        var segments = await store.ListAsync(company, cancellationToken).ConfigureAwait(false);
        var truncated = false;
        var metrics = statistics.Metrics.Skip(page * PageSize).Take(PageSize).Select(m =>
        {
            if (m.Properties.Count <= PropertiesPerMetric)
            {
                return m;
            }

            truncated = true;
            return m with { Properties = [.. m.Properties.Take(PropertiesPerMetric)] };
        }).ToList();
        var properties = statistics.Properties.Skip(page * PageSize).Take(PageSize).ToList();
        var more = statistics.Metrics.Count > (page + 1) * PageSize || statistics.Properties.Count > (page + 1) * PageSize;
        return new DescribeSchemaResult(
            company,
            statistics.Profiles,
            statistics.Events,
            properties,
            metrics,
            page == 0 ? [.. segments.Take(PageSize).Select(s => new SegmentBrief(s.Id, s.Name, s.Size))] : [],
            more ? Cursor.Encode("describe_schema", (page + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)) : null,
            truncated || segments.Count > PageSize,
            statistics.Profiles == 0 && statistics.Events == 0 && metric is null && property is null ? EmptyWorkspaceNote(company, server.ServerOptions.ToolCollection?.TryGetPrimitive("import_file", out _) == true) : null);
    }

    /// <summary>
    /// For a name given as the wrong kind: the call that shows its values. A metric or profile property is looked at
    /// by its own argument; an event property through a metric whose events carry it.
    /// </summary>
    private static string LookCloser(TenantCatalog catalog, string name)
    {
        var quoted = TenantCatalog.Json(name);
        if (catalog.HasMetric(name))
        {
            return $" Call describe_schema with {{\"metric\": {quoted}}} to look closer at it.";
        }

        if (catalog.ProfileProperties.Contains(name))
        {
            return $" Call describe_schema with {{\"property\": {quoted}}} to look closer at it.";
        }

        var metric = catalog.Metrics.Order(StringComparer.Ordinal).FirstOrDefault(m => catalog.EventProperties(m).Contains(name));
        return metric is null ? string.Empty : $" Call describe_schema with {{\"metric\": {TenantCatalog.Json(metric)}}} to see its values on those events.";
    }

    /// <summary>
    /// What to tell the user when there is nothing to segment: the usual cause is data not loaded yet, or a server
    /// started for another company or data directory. Other tenants are never named: the tenant is all a caller sees.
    /// </summary>
    private static string EmptyWorkspaceNote(string company, bool canImport)
    {
        var quoted = ToolSupport.Echo(company);
        var import = canImport ? "import_file loads a CSV, NDJSON or JSON file from their computer (ask for its path), or they can " : string.Empty;
        return $"This workspace ('{quoted}') has no profiles or events yet, so no segment can have members. Tell the user: {import}load " +
            $"data with 'segmentmcp ingest --company {quoted} --events FILE --profiles FILE' (NDJSON, JSON arrays, or CSV exports with a header row), or the demo shop with 'segmentmcp demo " +
            $"--company {quoted}'. If they expected data here, the server may have been started for another company or data " +
            "directory; its first line on standard error names both.";
    }
}
