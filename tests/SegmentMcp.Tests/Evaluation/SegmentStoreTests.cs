using SegmentMcp.Core.Evaluation;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Tests.Evaluation;

[Trait("Category", "Engine")]
public sealed class SegmentStoreTests
{
    private const string Definition = """{"name":"x","condition":{"property":{"name":"city","op":"eq","value":"Boston"}}}""";

    [Fact]
    public async Task Segments_are_versioned_listed_and_deleted_by_tombstone()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var store = new SegmentStore(engine, schema);
        var none = CancellationToken.None;

        var created = await store.SaveAsync("t1", null, "Recent openers in Boston!", "desc", Definition, none);
        Assert.Matches("^recent-openers-in-boston-[0-9a-f]{4}$", created.Id);
        Assert.Equal(1, created.Version);
        Assert.Null(created.EvaluatedAt);

        var updated = await store.SaveAsync("t1", created.Id, "Renamed", null, Definition, none);
        Assert.Equal(2, updated.Version);
        var other = await store.SaveAsync("t1", null, "Café ☕", null, Definition, none);
        Assert.StartsWith("cafe-", other.Id, StringComparison.Ordinal);
        await store.SaveAsync("t2", null, "Other tenant", null, Definition, none);

        var list = await store.ListAsync("t1", none);
        Assert.Equal(new[] { created.Id, other.Id }.Order(StringComparer.Ordinal), list.Select(s => s.Id));
        Assert.Equal("Renamed", list.Single(s => s.Id == created.Id).Name);

        Assert.True(await store.DeleteAsync("t1", created.Id, none));
        Assert.False(await store.DeleteAsync("t1", created.Id, none));
        Assert.Null(await store.GetAsync("t1", created.Id, none));
        Assert.Null(await store.GetAsync("t2", other.Id, none));
        Assert.Equal([other.Id], (await store.ListAsync("t1", none)).Select(s => s.Id));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.SaveAsync("t1", created.Id, "again", null, Definition, none));
        Assert.Equal(["t1", "t2"], await store.TenantsAsync(none));
    }
}
