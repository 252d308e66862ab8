using System.Text.Json;
using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Tests.Dsl;

public sealed class JsonSchemaTests
{
    private static readonly JsonElement Schema = JsonDocument.Parse(DslJsonSchema.Text).RootElement;

    [Fact]
    public void The_schema_lists_exactly_the_operators_and_comparisons_the_parser_accepts()
    {
        var operators = Schema.GetProperty("$defs").GetProperty("filter").GetProperty("properties").GetProperty("op").GetProperty("enum");
        var comparisons = Schema.GetProperty("$defs").GetProperty("event").GetProperty("properties").GetProperty("event")
            .GetProperty("properties").GetProperty("op").GetProperty("enum");

        Assert.Equal(DslNames.FilterOperators.Order(), operators.EnumerateArray().Select(e => e.GetString()!).Order());
        Assert.Equal(DslNames.Comparisons.Order(), comparisons.EnumerateArray().Select(e => e.GetString()!).Order());
    }

    [Fact]
    public void The_schema_names_every_condition_window_and_measure_and_uses_the_parser_date_pattern()
    {
        var defs = Schema.GetProperty("$defs");
        var windows = defs.GetProperty("window").GetProperty("oneOf").EnumerateArray()
            .SelectMany(w => w.GetProperty("properties").EnumerateObject().Select(p => p.Name));
        var measures = defs.GetProperty("measure").GetProperty("oneOf")[1].GetProperty("properties").EnumerateObject().Select(p => p.Name);

        Assert.All(DslNames.ConditionKinds, kind => Assert.True(defs.TryGetProperty(kind, out _), kind));
        Assert.Equal(DslNames.WindowKinds.Order(), windows.Distinct().Order());
        Assert.Equal(DslNames.CalendarUnits, defs.GetProperty("calendar_period").GetProperty("enum").EnumerateArray().Select(e => e.GetString()!));
        Assert.Equal(DslNames.MeasureKinds.Skip(1).Order(), measures.Order());
        Assert.Equal($"^{IsoTime.SqlPattern}$", defs.GetProperty("timestamp").GetProperty("pattern").GetString());
    }
}
