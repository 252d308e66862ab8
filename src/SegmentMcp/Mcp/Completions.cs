using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Mcp;

/// <summary>
/// Argument completions for prompts and the segment resource template, by argument name: segment ids
/// (<c>segment_id</c>, <c>segment_ids</c>, <c>id</c>), metric names (<c>metric</c>), profile property names
/// (<c>property</c>) and property values (<c>value</c>, most frequent first, for the <c>property</c> given in the context).
/// </summary>
internal static class Completions
{
    private const int MaxValues = 100;

    public static async ValueTask<CompleteResult> CompleteAsync(RequestContext<CompleteRequestParams> request, CancellationToken cancellationToken)
    {
        var services = request.Services!;
        var tenant = services.GetRequiredService<ITenantAccessor>().Tenant;
        var argument = request.Params?.Argument;
        var prefix = argument?.Value ?? string.Empty;
        IReadOnlyList<string> values = [];
        switch (argument?.Name)
        {
            case "segment_id" or "segment_ids" or "id":
                {
                    var segments = await services.GetRequiredService<ISegmentStore>().ListAsync(tenant, cancellationToken).ConfigureAwait(false);
                    var last = prefix.Split(',')[^1].TrimStart();
                    var head = prefix[..(prefix.Length - last.Length)];
                    values = [.. segments.Select(s => s.Id).Where(id => id.StartsWith(last, StringComparison.Ordinal)).Select(id => head + id)];
                    break;
                }

            case "metric":
                values = await services.GetRequiredService<SchemaDescriber>().MetricNamesAsync(tenant, prefix, MaxValues + 1, cancellationToken).ConfigureAwait(false);
                break;
            case "property":
                values = await services.GetRequiredService<SchemaDescriber>().PropertyNamesAsync(tenant, prefix, MaxValues + 1, cancellationToken).ConfigureAwait(false);
                break;
            case "value" when request.Params?.Context?.Arguments?.TryGetValue("property", out var property) == true && !string.IsNullOrEmpty(property):
                values = await services.GetRequiredService<SchemaDescriber>().PropertyValuesAsync(tenant, property, prefix, MaxValues + 1, DateTime.UtcNow, cancellationToken).ConfigureAwait(false);
                break;
        }

        return new CompleteResult
        {
            Completion = new Completion { Values = [.. values.Take(MaxValues)], Total = values.Count, HasMore = values.Count > MaxValues },
        };
    }
}
