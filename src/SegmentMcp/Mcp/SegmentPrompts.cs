using System.Globalization;
using System.Text;
using Microsoft.SemanticKernel;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;

namespace SegmentMcp.Mcp;

/// <summary>
/// The prompts of <c>prompts/NAME/</c>: Semantic Kernel prompt templates in the core template format (skprompt.txt
/// with <c>{{$variable}}</c>, config.json a <see cref="PromptTemplateConfig"/>), rendered with the caller's arguments
/// and the tenant's catalog (<c>$tenant</c>, <c>$catalog</c>, <c>$segments</c>).
/// </summary>
internal sealed class SegmentPrompts
{
    private readonly IReadOnlyList<PromptTemplateConfig> configs;
    private readonly KernelPromptTemplateFactory factory = new() { AllowDangerouslySetContent = true };
    private readonly Kernel kernel = new();

    public SegmentPrompts(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new InvalidOperationException($"No prompts directory at '{directory}'.");
        }

        configs = [.. Directory.GetDirectories(directory).Order(StringComparer.Ordinal).Select(Load)];
    }

    public static string DefaultDirectory => Path.Combine(AppContext.BaseDirectory, "prompts");

    public ListPromptsResult List() => new()
    {
        Prompts = [.. configs.Select(c => new Prompt
        {
            Name = c.Name!,
            Description = c.Description,
            Arguments = [.. c.InputVariables.Select(v => new PromptArgument { Name = v.Name, Description = v.Description, Required = v.IsRequired })],
        })],
    };

    public async Task<GetPromptResult> GetAsync(
        string name, IDictionary<string, string?> arguments, string tenant, ISegmentStore store, DefinitionService definitions, CancellationToken cancellationToken)
    {
        var config = configs.FirstOrDefault(c => c.Name == name)
            ?? throw new McpException($"No prompt '{name}'.{Suggestions.DidYouMean(name, configs.Select(c => c.Name!))}");
        var missing = config.InputVariables.Where(v => v.IsRequired && (!arguments.TryGetValue(v.Name, out var value) || string.IsNullOrWhiteSpace(value))).Select(v => v.Name).ToList();
        var unknown = arguments.Keys.Where(k => config.InputVariables.All(v => v.Name != k)).ToList();
        if (missing.Count > 0 || unknown.Count > 0)
        {
            var problems = missing.Select(m => $"- {m}: required")
                .Concat(unknown.Select(u => $"- {u}: not an argument of {name}.{Suggestions.DidYouMean(u, config.InputVariables.Select(v => v.Name))}"));
            throw new McpException($"Invalid arguments for prompt {name}:\n{string.Join('\n', problems)}");
        }

        var values = new KernelArguments();
        foreach (var variable in config.InputVariables)
        {
            values[variable.Name] = arguments.TryGetValue(variable.Name, out var value) && value is not null ? value : variable.Default?.ToString() ?? string.Empty;
        }

        var catalog = await definitions.CatalogAsync(tenant, fresh: false, cancellationToken).ConfigureAwait(false);
        var segments = await store.ListAsync(tenant, cancellationToken).ConfigureAwait(false);
        values["tenant"] = tenant;
        values["catalog"] = CatalogText(catalog);
        values["segments"] = segments.Count == 0
            ? "(none yet)"
            : string.Join('\n', segments.Take(100).Select(s => $"- {s.Id}: {s.Name} ({(s.Size is { } size ? size.ToString(CultureInfo.InvariantCulture) + " members" : "not evaluated yet")})"));
        var text = await factory.Create(config).RenderAsync(kernel, values, cancellationToken).ConfigureAwait(false);
        return new GetPromptResult
        {
            Description = config.Description,
            Messages = [new PromptMessage { Role = Role.User, Content = new TextContentBlock { Text = text } }],
        };
    }

    private static string CatalogText(TenantCatalog catalog)
    {
        var text = new StringBuilder();
        foreach (var metric in catalog.Metrics.Order(StringComparer.Ordinal).Take(200))
        {
            text.Append("- metric \"").Append(metric).Append("\": ").AppendJoin(", ", catalog.EventProperties(metric).Order(StringComparer.Ordinal).Take(50)).Append('\n');
        }

        text.Append("- profile properties: ").AppendJoin(", ", catalog.ProfileProperties.Order(StringComparer.Ordinal).Take(300));
        return text.ToString();
    }

    private static PromptTemplateConfig Load(string folder)
    {
        var config = PromptTemplateConfig.FromJson(File.ReadAllText(Path.Combine(folder, "config.json")));
        config.Template = File.ReadAllText(Path.Combine(folder, "skprompt.txt"));
        config.Name ??= Path.GetFileName(folder);
        return config;
    }
}
