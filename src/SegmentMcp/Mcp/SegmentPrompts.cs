using System.Globalization;
using System.Text;
using Microsoft.SemanticKernel;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.App;

namespace SegmentMcp.Mcp;

/// <summary>
/// The prompts of <c>prompts/NAME/</c>: Semantic Kernel prompt templates in the core template format (skprompt.txt
/// with <c>{{$variable}}</c>, config.json a <see cref="PromptTemplateConfig"/>), rendered with the caller's arguments
/// and the tenant's catalog (<c>$tenant</c>, <c>$catalog</c>, <c>$segments</c>), and <c>$given</c>: the optional
/// arguments the caller set, so a template need not print the empty ones.
/// </summary>
internal sealed class SegmentPrompts
{
    /// <summary>The variables the server fills in itself; never prompt arguments.</summary>
    private static readonly string[] ServerVariables = ["tenant", "catalog", "segments", "given"];

    private readonly IReadOnlyList<PromptFiles> configs;
    private readonly KernelPromptTemplateFactory factory = new() { AllowDangerouslySetContent = true };
    private readonly Kernel kernel = new();
    private readonly string directory;

    public SegmentPrompts(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new InvalidOperationException($"No prompts directory at '{directory}'.");
        }

        // A folder without config.json is not an MCP prompt: agent/ holds the ask/chat agent's system prompt (a
        // template for this product's own model, not for an MCP client) and eval/ the natural-language benchmark.
        configs = [.. Directory.GetDirectories(directory)
            .Where(folder => File.Exists(Path.Combine(folder, "config.json")))
            .Order(StringComparer.Ordinal)
            .Select(Load)];
        this.directory = directory;
    }

    /// <summary>The folder of the agent's system prompt (<c>prompts/agent/system</c>).</summary>
    public const string AgentPrompt = "agent/system";

    public static string DefaultDirectory => Path.Combine(AppContext.BaseDirectory, "prompts");

    public ListPromptsResult List() => new()
    {
        Prompts = [.. configs.Select(c => new Prompt
        {
            Name = c.Name,
            Description = c.Description,
            Arguments = [.. c.Arguments.Select(v => new PromptArgument { Name = v.Name, Description = v.Description, Required = v.IsRequired })],
        })],
    };

    public async Task<GetPromptResult> GetAsync(
        string name, IDictionary<string, string?> arguments, string tenant, ISegmentStore store, DefinitionService definitions, CancellationToken cancellationToken)
    {
        var files = configs.FirstOrDefault(c => c.Name == name)
            ?? throw new McpProtocolException($"No prompt '{ToolSupport.Echo(name)}'.{Suggestions.DidYouMean(ToolSupport.Echo(name), configs.Select(c => c.Name))}", McpErrorCode.InvalidParams);

        // Semantic Kernel's template adds the variables it finds in the text to its config's InputVariables, marked
        // required: each render gets a config of its own so the shared one (and prompts/list) never changes.
        var config = files.Config();
        var declared = files.Arguments;
        var missing = declared.Where(v => v.IsRequired && (!arguments.TryGetValue(v.Name, out var value) || string.IsNullOrWhiteSpace(value))).Select(v => v.Name).ToList();
        var unknown = arguments.Keys.Where(k => declared.All(v => v.Name != k)).ToList();
        if (missing.Count > 0 || unknown.Count > 0)
        {
            var problems = missing.Select(m => $"- {m}: required")
                .Concat(unknown.Select(u => $"- {ToolSupport.Echo(u)}: not an argument of {name}.{Suggestions.DidYouMean(ToolSupport.Echo(u), declared.Select(v => v.Name))}"));
            // The spec's code for an unknown prompt or missing arguments: invalid params, not an internal error.
            throw new McpProtocolException($"Invalid arguments for prompt {name}:\n{string.Join('\n', problems)}", McpErrorCode.InvalidParams);
        }

        var values = new KernelArguments();
        foreach (var variable in declared)
        {
            values[variable.Name] = arguments.TryGetValue(variable.Name, out var value) && value is not null ? value : variable.Default?.ToString() ?? string.Empty;
        }

        var given = declared
            .Where(v => !v.IsRequired && arguments.TryGetValue(v.Name, out var value) && !string.IsNullOrWhiteSpace(value))
            .Select(v => $"{v.Name} \"{arguments[v.Name]}\"")
            .ToList();
        values["given"] = given.Count == 0 ? "none" : string.Join(", ", given);

        var text = await RenderAsync(config, values, tenant, store, definitions, cancellationToken).ConfigureAwait(false);
        return new GetPromptResult
        {
            Description = config.Description,
            Messages = [new PromptMessage { Role = Role.User, Content = new TextContentBlock { Text = text } }],
        };
    }

    /// <summary>
    /// The agent's system prompt (<see cref="AgentPrompt"/>) rendered for <paramref name="tenant"/>, with the server
    /// variables and <paramref name="extra"/> (such as <c>$now</c>).
    /// </summary>
    public async Task<string> RenderAgentAsync(
        string tenant, IReadOnlyDictionary<string, string> extra, ISegmentStore store, DefinitionService definitions, CancellationToken cancellationToken)
    {
        var folder = Path.Combine(directory, AgentPrompt);
        if (!File.Exists(Path.Combine(folder, "config.json")))
        {
            throw new InvalidOperationException($"No agent prompt at '{folder}' (config.json and skprompt.txt).");
        }

        var files = Load(folder);
        var values = new KernelArguments();
        foreach (var (name, value) in extra)
        {
            values[name] = value;
        }

        return await RenderAsync(files.Config(), values, tenant, store, definitions, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Fills in the server variables (<c>$tenant</c>, <c>$catalog</c>, <c>$segments</c>) and renders.</summary>
    private async Task<string> RenderAsync(
        PromptTemplateConfig config, KernelArguments values, string tenant, ISegmentStore store, DefinitionService definitions, CancellationToken cancellationToken)
    {
        var catalog = await definitions.CatalogAsync(tenant, fresh: false, cancellationToken).ConfigureAwait(false);
        var segments = await store.ListAsync(tenant, cancellationToken).ConfigureAwait(false);
        values["tenant"] = tenant;
        values["catalog"] = CatalogText(catalog);
        if (!values.ContainsName("given"))
        {
            values["given"] = "none";
        }

        values["segments"] = segments.Count == 0
            ? "(none yet)"
            : string.Join('\n', segments.Take(100).Select(s => $"- {s.Id}: {s.Name} ({(s.Size is { } size ? size.ToString(CultureInfo.InvariantCulture) + " members" : "not evaluated yet")})"));
        return await factory.Create(config).RenderAsync(kernel, values, cancellationToken).ConfigureAwait(false);
    }

    private static string CatalogText(TenantCatalog catalog)
    {
        var text = new StringBuilder();
        foreach (var metric in catalog.Metrics.Order(StringComparer.Ordinal).Take(200))
        {
            var properties = catalog.EventProperties(metric).Order(StringComparer.Ordinal).Take(50).ToList();
            text.Append("- metric \"").Append(metric).Append("\": ");
            (properties.Count == 0 ? text.Append("(no event properties)") : text.AppendJoin(", ", properties)).Append('\n');
        }

        text.Append("- profile properties: ").AppendJoin(", ", catalog.ProfileProperties.Order(StringComparer.Ordinal).Take(300));
        return text.ToString();
    }

    /// <summary>
    /// One prompt folder, checked whole at start-up (its config, the template beside it and the template's syntax), so
    /// a broken prompt stops the server with the file named rather than failing a client's prompts/get later.
    /// </summary>
    private PromptFiles Load(string folder)
    {
        var configPath = Path.Combine(folder, "config.json");
        var templatePath = Path.Combine(folder, "skprompt.txt");
        if (!File.Exists(templatePath))
        {
            throw new InvalidOperationException($"{folder}: no skprompt.txt beside config.json");
        }

        PromptTemplateConfig parsed;
        try
        {
            parsed = PromptTemplateConfig.FromJson(File.ReadAllText(configPath));
        }
        catch (Exception exception) when (exception is System.Text.Json.JsonException or ArgumentException or KernelException)
        {
            throw new InvalidOperationException($"{configPath}: not a Semantic Kernel prompt config: {exception.Message}", exception);
        }

        var reserved = parsed.InputVariables.Select(v => v.Name).Intersect(ServerVariables, StringComparer.Ordinal).ToList();
        if (reserved.Count > 0)
        {
            throw new InvalidOperationException($"{configPath}: {string.Join(", ", reserved)} are filled in by the server and cannot be prompt arguments.");
        }

        var files = new PromptFiles(parsed.Name ?? Path.GetFileName(folder), parsed.Description, [.. parsed.InputVariables], File.ReadAllText(configPath), File.ReadAllText(templatePath));
        // A trial render with every variable empty: Semantic Kernel parses a template only when it renders it. The
        // templates call no functions and read no data, so this completes synchronously.
        var trial = new KernelArguments();
        foreach (var name in files.Arguments.Select(v => v.Name).Concat(ServerVariables))
        {
            trial[name] = string.Empty;
        }

        try
        {
            _ = factory.Create(files.Config()).RenderAsync(kernel, trial).GetAwaiter().GetResult();
        }
        catch (Exception exception) when (exception is KernelException or KeyNotFoundException)
        {
            // A function call such as {{ name }} names a function no plugin provides: the templates have none.
            throw new InvalidOperationException($"{templatePath}: {exception.Message}", exception);
        }

        return files;
    }

    /// <summary>One prompt folder as read at start-up; <see cref="Config"/> makes a fresh, unshared template config.</summary>
    private sealed record PromptFiles(string Name, string? Description, IReadOnlyList<InputVariable> Arguments, string Json, string Template)
    {
        public PromptTemplateConfig Config()
        {
            var config = PromptTemplateConfig.FromJson(Json);
            config.Template = Template;
            config.Name = Name;
            return config;
        }
    }
}
