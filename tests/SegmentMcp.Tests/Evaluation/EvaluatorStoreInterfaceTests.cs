using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Tests.Mcp;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>The evaluator reads and writes through the store interfaces it is given, not through stores of its own.</summary>
public sealed class EvaluatorStoreInterfaceTests
{
    [Fact]
    public async Task A_tick_goes_through_the_injected_stores()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        await McpTestData.SeedAsync(engine, schema, "acme", string.Empty);
        var saved = await new SegmentStore(engine, schema).SaveAsync("acme", null, "Buyers", null, McpTestData.Buyers, CancellationToken.None);
        var segments = new RecordingSegmentStates(new SegmentStore(engine, schema));
        var membership = new RecordingMembership(new MembershipStore(engine, schema));

        var report = await new SegmentEvaluator(engine, schema, segments, membership).TickAsync(null, null, null, CancellationToken.None);

        var result = Assert.Single(report.Segments);
        Assert.Equal(saved.Id, result.SegmentId);
        Assert.True(result.Entered > 0);
        Assert.Equal(["acme"], segments.Tenants);
        Assert.Equal([(saved.Id, result.Size)], segments.Written);
        Assert.Equal(result.Entered, membership.Entered);
        Assert.Equal(result.Size, await membership.CountAsync("acme", saved.Id, CancellationToken.None));
    }

    [Fact]
    public async Task The_composition_root_hands_the_evaluator_and_the_tools_one_store_each()
    {
        var schema = await TestEngines.NewSchemaAsync(TestEngines.Embedded);
        await using var services = SegmentServices.Build(TestEngines.Embedded, schema);

        Assert.Same(services.GetRequiredService<SegmentStore>(), services.GetRequiredService<ISegmentStateStore>());
        Assert.Same(services.GetRequiredService<SegmentStore>(), services.GetRequiredService<ISegmentStore>());
        Assert.Same(services.GetRequiredService<MembershipStore>(), services.GetRequiredService<IMembershipStore>());
        Assert.Same(services.GetRequiredService<MembershipStore>(), services.GetRequiredService<IMembershipReader>());
        Assert.IsType<SegmentEvaluator>(services.GetRequiredService<ISegmentEvaluator>());
    }

    private sealed class RecordingSegmentStates(ISegmentStateStore inner) : ISegmentStateStore
    {
        public List<string> Tenants { get; } = [];

        public List<(string SegmentId, long Size)> Written { get; } = [];

        public async Task<IReadOnlyList<string>> TenantsAsync(CancellationToken cancellationToken)
        {
            var tenants = await inner.TenantsAsync(cancellationToken);
            Tenants.AddRange(tenants);
            return tenants;
        }

        public Task<IReadOnlyList<SegmentVersion>> LiveVersionsAsync(string tenant, CancellationToken cancellationToken) =>
            inner.LiveVersionsAsync(tenant, cancellationToken);

        public Task<IReadOnlyDictionary<string, SegmentState>> StatesAsync(string tenant, string? segmentId, CancellationToken cancellationToken) =>
            inner.StatesAsync(tenant, segmentId, cancellationToken);

        public Task WriteStatesAsync(string tenant, IReadOnlyList<(string SegmentId, SegmentState State)> states, CancellationToken cancellationToken)
        {
            lock (Written)
            {
                Written.AddRange(states.Select(s => (s.SegmentId, s.State.Size)));
            }

            return inner.WriteStatesAsync(tenant, states, cancellationToken);
        }

        public Task<IReadOnlyList<string>> DeletedAmongAsync(string tenant, IReadOnlyCollection<string> segmentIds, CancellationToken cancellationToken) =>
            inner.DeletedAmongAsync(tenant, segmentIds, cancellationToken);

        public Task ForgetStatesAsync(string tenant, IReadOnlyCollection<string> segmentIds, CancellationToken cancellationToken) =>
            inner.ForgetStatesAsync(tenant, segmentIds, cancellationToken);
    }
}
