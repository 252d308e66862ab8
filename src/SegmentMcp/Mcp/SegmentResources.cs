using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.App;

namespace SegmentMcp.Mcp;

[McpServerResourceType]
internal sealed class SegmentResources(ITenantAccessor tenant, ISegmentStore store, DefinitionService definitions)
{
    [McpServerResource(UriTemplate = "segmentmcp://dsl/schema", Name = "dsl_schema", Title = "Segment language (JSON Schema)", MimeType = "application/schema+json")]
    [Description("The JSON Schema of segment definitions: what create_segment, update_segment, preview_segment, explain_segment and check_membership accept as definition.")]
    public static string DslSchemaResource() => DslJsonSchema.Text;

    [McpServerResource(UriTemplate = "segmentmcp://schema", Name = "catalog", Title = "This workspace's names", MimeType = "application/json")]
    [Description("This workspace's metrics (event names) with the properties their events carry, and its profile properties: the names a definition may use. describe_schema adds counts and sample values.")]
    public async Task<string> Catalog(CancellationToken cancellationToken)
    {
        var catalog = await definitions.CatalogAsync(tenant.Tenant, fresh: false, cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Serialize(CatalogJson(tenant.Tenant, catalog), McpJson.Options);
    }

    [McpServerResource(UriTemplate = "segmentmcp://segments/{id}", Name = "segment", Title = "A saved segment", MimeType = "application/json")]
    [Description("One saved segment: id, name, description, definition, version, size, evaluation time and read-back.")]
    public async Task<string> Segment([Description("The segment id.")] string id, CancellationToken cancellationToken)
    {
        var saved = id.Length <= ArgumentGuard.MaxIdLength ? await store.GetAsync(tenant.Tenant, id, cancellationToken).ConfigureAwait(false) : null;
        if (saved is null)
        {
            // The spec's "resource not found": invalid params, with the URI in data.
            var uri = $"segmentmcp://segments/{Uri.EscapeDataString(ToolSupport.Echo(id))}";
            var notFound = new McpProtocolException($"Resource not found: no saved segment '{ToolSupport.Echo(id)}' in this workspace ({uri}). List them with list_segments.", McpErrorCode.InvalidParams);
            notFound.Data["uri"] = uri;
            throw notFound;
        }

        var parsed = SegmentDefinitionJson.Parse(saved.DefinitionJson).Definition;
        var json = new JsonObject
        {
            ["id"] = saved.Id,
            ["name"] = saved.Name,
            ["description"] = saved.Description,
            ["definition"] = JsonNode.Parse(saved.DefinitionJson),
            ["version"] = saved.Version,
            ["size"] = saved.Size,
            ["evaluated_at"] = saved.EvaluatedAt is { } at ? ToolSupport.Iso(at) : null,
            ["read_back"] = parsed is null ? saved.Name : DefinitionService.ReadBack(parsed),
        };
        return json.ToJsonString(McpJson.Options);
    }

    internal static JsonObject CatalogJson(string company, TenantCatalog catalog)
    {
        var metrics = new JsonObject();
        foreach (var metric in catalog.Metrics.Order(StringComparer.Ordinal))
        {
            metrics[metric] = new JsonArray([.. catalog.EventProperties(metric).Order(StringComparer.Ordinal).Select(p => (JsonNode)p)]);
        }

        return new JsonObject
        {
            ["tenant"] = company,
            ["metrics"] = metrics,
            ["profile_properties"] = new JsonArray([.. catalog.ProfileProperties.Order(StringComparer.Ordinal).Select(p => (JsonNode)p)]),
        };
    }
}
