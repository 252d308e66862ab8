using System.Text.Json;

namespace SegmentMcp.Core.Dsl;

public sealed partial class DefinitionValidator
{
    private static readonly string[] MetricConditions = ["event", "first_time", "stopped", "regularly"];

    /// <summary>
    /// A definition that does not parse still has its metric and property names checked, wherever the JSON has them
    /// in the expected place, so one answer lists a missing field and a misspelt metric together instead of the second
    /// showing up only after the first is fixed.
    /// </summary>
    public static IReadOnlyList<DslError> WithUnknownNames(IReadOnlyList<DslError> syntax, JsonElement definition, TenantCatalog catalog)
    {
        var names = new List<DslError>();
        try
        {
            if (definition.ValueKind == JsonValueKind.Object && definition.TryGetProperty("condition", out var condition))
            {
                ScanNames(condition, "condition", catalog, names, depth: 0);
            }
        }
        catch (InvalidOperationException)
        {
            // Text that is not valid Unicode: the syntax errors say so.
            return syntax;
        }

        var reported = syntax.Select(e => e.Path).ToHashSet(StringComparer.Ordinal);
        return [.. syntax, .. names.Where(e => !reported.Contains(e.Path))];
    }

    private static IReadOnlyList<DslError> WithUnknownNames(IReadOnlyList<DslError> syntax, string json, TenantCatalog catalog)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return WithUnknownNames(syntax, document.RootElement, catalog);
        }
        catch (JsonException)
        {
            return syntax;
        }
    }

    private static void ScanNames(JsonElement condition, string path, TenantCatalog catalog, List<DslError> errors, int depth)
    {
        // Deeper than the language allows is a syntax error already; the scan only needs to stop.
        if (condition.ValueKind != JsonValueKind.Object || depth > 64)
        {
            return;
        }

        foreach (var member in condition.EnumerateObject())
        {
            var at = $"{path}.{member.Name}";
            var body = member.Value;
            switch (member.Name)
            {
                case "all" or "any" when body.ValueKind == JsonValueKind.Array:
                    var index = 0;
                    foreach (var item in body.EnumerateArray())
                    {
                        ScanNames(item, $"{at}[{index++}]", catalog, errors, depth + 1);
                    }

                    break;
                case "not":
                    ScanNames(body, at, catalog, errors, depth + 1);
                    break;
                case "property" when Text(body, "name") is { } name:
                    CheckName(name, catalog.ProfileProperties, $"{at}.name", "profile property", errors, Elsewhere(name, catalog));
                    break;
                case var kind when MetricConditions.Contains(kind):
                    ScanMetric(body, at, catalog, errors);
                    break;
                case "restarted" when Text(body, "metric") is { } metric:
                    CheckName(metric, catalog.Metrics, $"{at}.metric", "metric", errors, Elsewhere(metric, null, catalog));
                    break;
                case "last_event" when Text(body, "metric") is { } metric:
                    if (CheckName(metric, catalog.Metrics, $"{at}.metric", "metric", errors, Elsewhere(metric, null, catalog))
                        && Text(body, "property") is { } property && property != PropertyFilter.ValueProperty)
                    {
                        CheckName(property, catalog.EventProperties(metric), $"{at}.property", $"property of '{metric}' events", errors, Elsewhere(property, metric, catalog));
                    }

                    break;
                case "sequence" when body.ValueKind == JsonValueKind.Object
                    && body.TryGetProperty("steps", out var steps) && steps.ValueKind == JsonValueKind.Array:
                    var step = 0;
                    foreach (var item in steps.EnumerateArray())
                    {
                        var stepPath = $"{at}.steps[{step++}]";
                        ScanMetric(item, stepPath, catalog, errors);
                        if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("then_not", out var thenNot) && Text(thenNot, "metric") is { } metric)
                        {
                            CheckName(metric, catalog.Metrics, $"{stepPath}.then_not.metric", "metric", errors, Elsewhere(metric, null, catalog));
                        }
                    }

                    break;
            }
        }
    }

    /// <summary>A metric and the names of its <c>where</c> filters, where they are strings.</summary>
    private static void ScanMetric(JsonElement body, string path, TenantCatalog catalog, List<DslError> errors)
    {
        if (Text(body, "metric") is not { } metric || !CheckName(metric, catalog.Metrics, $"{path}.metric", "metric", errors, Elsewhere(metric, null, catalog))
            || !body.TryGetProperty("where", out var where) || where.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        var properties = catalog.EventProperties(metric);
        var index = 0;
        foreach (var filter in where.EnumerateArray())
        {
            if (Text(filter, "name") is { } name && name != PropertyFilter.ValueProperty)
            {
                CheckName(name, properties, $"{path}.where[{index}].name", $"property of '{metric}' events", errors, Elsewhere(name, metric, catalog));
            }

            index++;
        }
    }

    private static string? Text(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
