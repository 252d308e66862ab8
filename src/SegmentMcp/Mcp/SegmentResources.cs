using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
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

    /// <summary>Saved segments listed per resources/list page.</summary>
    internal const int SegmentsPerPage = 200;

    /// <summary>
    /// resources/list: the workspace's saved segments, each as its <c>segmentmcp://segments/{id}</c>, in id order (the SDK
    /// adds the static resources to the first page). A client's resource picker then offers the segments themselves,
    /// not only the template to type an id into. The cursor is the last id of the previous page.
    /// </summary>
    internal static async ValueTask<ListResourcesResult> ListSavedAsync(RequestContext<ListResourcesRequestParams> request, CancellationToken cancellationToken)
    {
        var services = request.Services!;
        var tenant = services.GetRequiredService<ITenantAccessor>().Tenant;
        var after = request.Params?.Cursor;
        var saved = (await services.GetRequiredService<ISegmentStore>().ListAsync(tenant, cancellationToken).ConfigureAwait(false))
            .Where(s => after is null || string.CompareOrdinal(s.Id, after) > 0)
            .OrderBy(s => s.Id, StringComparer.Ordinal)
            .Take(SegmentsPerPage + 1)
            .ToList();
        var page = saved.Take(SegmentsPerPage).ToList();
        return new ListResourcesResult
        {
            Resources = [.. page.Select(s => new Resource
            {
                Uri = $"segmentmcp://segments/{Uri.EscapeDataString(s.Id)}",
                Name = s.Id,
                Title = s.Name,
                Description = string.Create(
                    CultureInfo.InvariantCulture,
                    $"Saved segment \"{s.Name}\": {(s.EvaluatedAt is { } at ? $"{s.Size:N0} members as of {ToolSupport.Iso(at)}" : "not evaluated yet")}, version {s.Version}.{(string.IsNullOrWhiteSpace(s.Description) ? string.Empty : " " + s.Description)}"),
                MimeType = "application/json",
            })],
            NextCursor = saved.Count > SegmentsPerPage ? page[^1].Id : null,
        };
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
