using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.App;

/// <summary>The one composition root: every front end (MCP server, CLI verbs, benchmarks) gets its services here.</summary>
public static class SegmentServices
{
    /// <summary>
    /// Registers the engine, the schema, the stores, the definition service and the evaluator. Registrations made
    /// before (a test's own <see cref="EvaluatorOptions"/>, say) win.
    /// </summary>
    public static IServiceCollection AddSegmentServices(this IServiceCollection services, IClickHouseEngine engine, StorageSchema schema)
    {
        services.TryAddSingleton(engine);
        services.TryAddSingleton(schema);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SchemaDescriber>();
        services.TryAddSingleton<ProfileReader>();
        services.TryAddSingleton<SegmentStore>();
        services.TryAddSingleton<MembershipStore>();
        services.TryAddSingleton<ISegmentStore>(sp => sp.GetRequiredService<SegmentStore>());
        services.TryAddSingleton<ISegmentStateStore>(sp => sp.GetRequiredService<SegmentStore>());
        services.TryAddSingleton<IMembershipStore>(sp => sp.GetRequiredService<MembershipStore>());
        services.TryAddSingleton<IMembershipReader>(sp => sp.GetRequiredService<IMembershipStore>());
        services.TryAddSingleton<IMembershipHistory>(sp => sp.GetRequiredService<MembershipStore>());
        services.TryAddSingleton<ListStore>();
        services.TryAddSingleton<ProfileEraser>();
        services.TryAddSingleton<ITenantCatalogSource, EngineCatalogSource>();
        services.TryAddSingleton<DefinitionService>();
        services.TryAddSingleton<MembershipCheck>();
        services.TryAddSingleton(new EvaluatorOptions { EvaluateEverySeconds = 0 });
        services.TryAddSingleton<QueryEstimates>();
        services.TryAddSingleton<ISegmentEvaluator>(sp => new SegmentEvaluator(
            sp.GetRequiredService<IClickHouseEngine>(),
            sp.GetRequiredService<StorageSchema>(),
            sp.GetRequiredService<ISegmentStateStore>(),
            sp.GetRequiredService<IMembershipStore>(),
            sp.GetRequiredService<EvaluatorOptions>(),
            sp.GetService<ILogger<SegmentEvaluator>>(),
            estimates: sp.GetRequiredService<QueryEstimates>()));
        return services;
    }

    /// <summary>A service provider with just these services (for CLI verbs and benchmarks that host no server).</summary>
    public static ServiceProvider Build(IClickHouseEngine engine, StorageSchema schema, EvaluatorOptions? options = null, QueryEstimates? estimates = null)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        if (options is not null)
        {
            services.AddSingleton(options);
        }

        if (estimates is not null)
        {
            services.AddSingleton(estimates);
        }

        return services.AddSegmentServices(engine, schema).BuildServiceProvider();
    }
}
