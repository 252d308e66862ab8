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

        // Every version is kept, newest first, and pages below a version; another tenant's id has none.
        var versions = await store.VersionsAsync("t1", created.Id, null, 10, none);
        Assert.Equal([(2, "Renamed", ""), (1, "Recent openers in Boston!", "desc")], versions.Select(v => (v.Version, v.Name, v.Description)));
        Assert.All(versions, v => Assert.Equal(Definition, v.DefinitionJson));
        Assert.True(versions[0].CreatedAt >= versions[1].CreatedAt);
        Assert.Equal([2], (await store.VersionsAsync("t1", created.Id, null, 1, none)).Select(v => v.Version));
        Assert.Equal([1], (await store.VersionsAsync("t1", created.Id, 2, 10, none)).Select(v => v.Version));
        Assert.Empty(await store.VersionsAsync("t2", created.Id, null, 10, none));

        Assert.True(await store.DeleteAsync("t1", created.Id, none));
        Assert.False(await store.DeleteAsync("t1", created.Id, none));
        Assert.Null(await store.GetAsync("t1", created.Id, none));
        Assert.Null(await store.GetAsync("t2", other.Id, none));
        Assert.Empty(await store.VersionsAsync("t1", created.Id, null, 10, none));
        Assert.Equal([other.Id], (await store.ListAsync("t1", none)).Select(s => s.Id));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.SaveAsync("t1", created.Id, "again", null, Definition, none));
        Assert.Equal(["t1", "t2"], await store.TenantsAsync(none));
    }

    /// <summary>
    /// The live list reads only the versions' numbers once it has read them whole, and keeps up with every save and
    /// delete: its own (remembered, still only the numbers) and another store's on the same database (read whole again).
    /// </summary>
    [Fact]
    public async Task The_live_list_reads_only_numbers_while_they_match_and_follows_every_writer()
    {
        var schema = await TestEngines.NewSchemaAsync(TestEngines.Embedded);
        var recording = new RecordingEngine(TestEngines.Embedded);
        var lister = new SegmentStore(recording, schema);
        var writer = new SegmentStore(TestEngines.Embedded, schema);
        var none = CancellationToken.None;

        var first = await writer.SaveAsync("t1", null, "First", null, Definition, none);
        var second = await writer.SaveAsync("t1", null, "Second", null, Definition, none);
        Assert.Equal(("First | Second", "whole"), await ListAsync());
        Assert.Equal(("First | Second", "numbers"), await ListAsync());

        // Another writer's edit: the numbers differ, so the list is read whole.
        const string Other = """{"name":"x","condition":{"property":{"name":"city","op":"eq","value":"Paris"}}}""";
        await writer.SaveAsync("t1", first.Id, "First, edited", "now Paris", Other, none);
        Assert.Equal(("First, edited | Second", "whole"), await ListAsync());
        var edited = (await lister.LiveVersionsAsync("t1", none)).Single(v => v.SegmentId == first.Id);
        Assert.Equal((2, "First, edited", "now Paris", Other), (edited.Version, edited.Name, edited.Description, edited.DefinitionJson));

        // This store's own saves and deletes are remembered.
        var third = await lister.SaveAsync("t1", null, "Third", null, Definition, none);
        await lister.SaveAsync("t1", second.Id, "Second, renamed", null, Definition, none);
        Assert.Equal(("First, edited | Second, renamed | Third", "numbers"), await ListAsync());
        Assert.True(await lister.DeleteAsync("t1", third.Id, none));
        Assert.Equal(("First, edited | Second, renamed", "numbers"), await ListAsync());

        // Another writer's delete, and a tenant with none.
        Assert.True(await writer.DeleteAsync("t1", second.Id, none));
        Assert.Equal(("First, edited", "whole"), await ListAsync());
        Assert.Empty(await lister.LiveVersionsAsync("t2", none));

        async Task<(string Names, string Read)> ListAsync()
        {
            recording.Statements.Clear();
            var names = string.Join(" | ", (await lister.LiveVersionsAsync("t1", none)).Select(v => v.Name).Order(StringComparer.Ordinal));
            return (names, recording.Statements.Any(s => s.Contains("argMax(definition", StringComparison.Ordinal)) ? "whole" : "numbers");
        }
    }
}
