using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Storage;

/// <summary>
/// Static lists on both adapters: membership at any time from the add/remove log, paged in id order, sizes then and
/// now, and a delete that removes one list's whole history and leaves other lists and tenants alone.
/// </summary>
public abstract partial class EngineContractTests
{
    [Fact]
    public async Task A_lists_members_at_any_time_page_in_id_order_and_a_delete_removes_only_that_list()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var clock = new SteppedClock(new DateTimeOffset(2026, 11, 20, 9, 0, 0, TimeSpan.Zero));
        var lists = new ListStore(Engine, schema, clock);
        var created = await lists.CreateAsync("acme", "VIPs", ["p3", "p1", "p2", "it's \"quoted\""], CancellationToken.None);
        var kept = await lists.CreateAsync("acme", "Kept", ["p1"], CancellationToken.None);
        await lists.CreateAsync("other", "VIPs", ["p9"], CancellationToken.None);
        var t0 = clock.Now;
        clock.Now = t0.AddMinutes(1);
        await lists.RemoveAsync("acme", created.Id, ["p2"], CancellationToken.None);
        clock.Now = t0.AddMinutes(2);
        await lists.AddAsync("acme", created.Id, ["p2", "p4"], CancellationToken.None);
        await lists.RemoveAsync("acme", created.Id, ["p3"], CancellationToken.None);

        string[] atFirst = ["it's \"quoted\"", "p1", "p2", "p3"];
        Assert.Equal(atFirst, await lists.MembersAsync("acme", created.Id, t0.UtcDateTime, null, 10, CancellationToken.None));
        Assert.Equal(["p1", "p3"], await lists.MembersAsync("acme", created.Id, t0.AddSeconds(90).UtcDateTime, "it's \"quoted\"", 10, CancellationToken.None));
        Assert.Equal(["p2"], await lists.MembersAsync("acme", created.Id, clock.Now.UtcDateTime, "p1", 1, CancellationToken.None));
        Assert.Equal(["it's \"quoted\"", "p1", "p2", "p4"], await lists.MembersAsync("acme", created.Id, clock.Now.UtcDateTime, null, 10, CancellationToken.None));
        Assert.Empty(await lists.MembersAsync("acme", created.Id, t0.AddDays(-1).UtcDateTime, null, 10, CancellationToken.None));
        Assert.Equal(
            (4L, 3L, 4L),
            (await lists.SizeAsync("acme", created.Id, t0.UtcDateTime, CancellationToken.None),
             await lists.SizeAsync("acme", created.Id, t0.AddSeconds(90).UtcDateTime, CancellationToken.None),
             (await lists.GetAsync("acme", created.Id, CancellationToken.None))!.Size));

        Assert.True(await lists.DeleteAsync("acme", created.Id, CancellationToken.None));
        Assert.Null(await lists.GetAsync("acme", created.Id, CancellationToken.None));
        Assert.Empty(await lists.MembersAsync("acme", created.Id, t0.UtcDateTime, null, 10, CancellationToken.None));
        Assert.False(await lists.DeleteAsync("acme", created.Id, CancellationToken.None));
        Assert.Equal([kept.Id], (await lists.ListAsync("acme", CancellationToken.None)).Select(l => l.Id));
        Assert.Equal(1, (await lists.ListAsync("other", CancellationToken.None)).Single().Size);

        // The id is free again: a list imported under it starts empty, with none of the old history.
        Assert.True(await lists.EnsureAsync("acme", created.Id, CancellationToken.None));
        Assert.Equal(0, (await lists.GetAsync("acme", created.Id, CancellationToken.None))!.Size);
    }

    /// <summary>A clock the test moves: list changes are stamped with the store's time.</summary>
    private sealed class SteppedClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
