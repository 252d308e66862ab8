namespace SegmentMcp.Core.Dsl;

/// <summary>The JSON Schema (draft 2020-12) of segment definitions, served to clients as an MCP resource.</summary>
public static class DslJsonSchema
{
    public const string ResourceName = "SegmentMcp.Core.Dsl.segment-definition.schema.json";

    private static readonly Lazy<string> LazyText = new(() =>
    {
        using var stream = typeof(DslJsonSchema).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from the build.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    public static string Text => LazyText.Value;
}
