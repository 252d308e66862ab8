using SegmentMcp.Core.Evaluation;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Tests.Mcp;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>Ticks hold a lock per tenant: one tenant's slow or stuck tick never holds up another tenant's.</summary>
[Trait("Category", "Engine")]
public sealed class EvaluatorTenantIsolationTests
{
    [Fact]
    public async Task A_tick_stuck_in_one_tenant_does_not_block_another_tenants_tick()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        await McpTestData.SeedAsync(engine, schema, "acme", string.Empty);
        await McpTestData.SeedAsync(engine, schema, "globex", "g-");
        var store = new SegmentStore(engine, schema);
        await store.SaveAsync("acme", null, "Buyers", null, McpTestData.Buyers, CancellationToken.None);
        var globex = await store.SaveAsync("globex", null, "Buyers", null, McpTestData.Buyers, CancellationToken.None);

        var evaluator = new SegmentEvaluator(engine, schema, new EvaluatorOptions { EvaluateEverySeconds = 0 });
        var acmeInside = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseAcme = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        evaluator.BeforeChunk = async work =>
        {
            if (work.Tenant == "acme")
            {
                acmeInside.TrySetResult();
                await releaseAcme.Task;
            }
        };

        var acmeTick = evaluator.TickAsync("acme", null, null, CancellationToken.None);
        await acmeInside.Task;

        // acme's tick is parked inside phase 2; globex's tick runs to the end meanwhile.
        var globexReport = await evaluator.TickAsync("globex", null, null, CancellationToken.None);
        Assert.Equal(globex.Id, Assert.Single(globexReport.Segments).SegmentId);
        Assert.Equal(2, Assert.Single(globexReport.Segments).Size);
        Assert.False(acmeTick.IsCompleted);

        // A second acme tick waits for the first, as before.
        var secondAcme = evaluator.TickAsync("acme", null, null, CancellationToken.None);
        Assert.False(secondAcme.IsCompleted);
        releaseAcme.SetResult();
        Assert.Equal(2, Assert.Single((await acmeTick).Segments).Size);
        await secondAcme;
    }
}
