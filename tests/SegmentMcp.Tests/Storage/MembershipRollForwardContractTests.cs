using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Storage;

/// <summary>The roll-forward of interrupted writes, checked for several segments in one statement.</summary>
public abstract partial class EngineContractTests
{
    private static readonly DateTime RollT0 = new(2026, 11, 20, 0, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task Roll_forward_of_several_segments_applies_each_ones_log_after_its_own_evaluation()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var store = new MembershipStore(Engine, schema);
        var interrupted = () => ValueTask.FromException(new IOException("interrupted between the log and membership"));

        // a: complete at t0, then a chunk at t0+1h whose log was written but not its membership.
        await store.WriteChangesAsync("acme", "a", RollT0, ["a1", "a3"], [], null, CancellationToken.None);
        await Assert.ThrowsAsync<IOException>(() => store.WriteChangesAsync("acme", "a", RollT0.AddHours(1), ["a2"], ["a3"], interrupted, CancellationToken.None));

        // b: complete up to t0+1h (its entry then must not be replayed), interrupted at t0+2h.
        await store.WriteChangesAsync("acme", "b", RollT0.AddHours(1), ["b1"], [], null, CancellationToken.None);
        await Assert.ThrowsAsync<IOException>(() => store.WriteChangesAsync("acme", "b", RollT0.AddHours(2), ["b2"], [], interrupted, CancellationToken.None));

        // c: complete; another tenant's interrupted log of the same segment id stays its own.
        await store.WriteChangesAsync("acme", "c", RollT0, ["c1"], [], null, CancellationToken.None);
        await Assert.ThrowsAsync<IOException>(() => store.WriteChangesAsync("other", "c", RollT0.AddHours(1), ["x1"], [], interrupted, CancellationToken.None));

        var (rolled, _) = await store.RollForwardAsync("acme", [("a", RollT0), ("b", RollT0.AddHours(1)), ("c", RollT0)], CancellationToken.None);

        Assert.Equal(["a", "b"], rolled.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["a2", "a3"], rolled["a"]);
        Assert.Equal(["b2"], rolled["b"]);
        Assert.Equal(["a1", "a2"], await store.MembersAsync("acme", "a", null, 10, CancellationToken.None));
        Assert.Equal(["b1", "b2"], await store.MembersAsync("acme", "b", null, 10, CancellationToken.None));
        Assert.Equal(["c1"], await store.MembersAsync("acme", "c", null, 10, CancellationToken.None));
        Assert.Empty(await store.MembersAsync("other", "c", null, 10, CancellationToken.None));

        // The lookup phase 2 diffs against (where the engine has one) agrees with membership.
        var (among, _) = await store.MembersAmongAsync("acme", "a", ["a1", "a2", "a3"], CancellationToken.None);
        Assert.Equal(["a1", "a2"], among.Order(StringComparer.Ordinal));

        // Nothing left to apply: a second check finds nothing.
        var (again, _) = await store.RollForwardAsync("acme", [("a", RollT0.AddHours(1)), ("b", RollT0.AddHours(2))], CancellationToken.None);
        Assert.Empty(again);
    }
}
