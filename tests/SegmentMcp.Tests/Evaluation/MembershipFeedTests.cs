using System.Globalization;
using System.Text;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Tests.Mcp;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// The feed behind <c>segments watch</c> delivers each evaluation's entries and exits, oldest first: the same again
/// until a round is acknowledged, then only what later evaluations record.
/// </summary>
[Trait("Category", "Engine")]
public sealed class MembershipFeedTests
{
    [Fact]
    public async Task Delivers_each_evaluations_changes_again_until_acknowledged_then_only_later_ones()
    {
        var (engine, schema, store, membership) = await SeededAsync();
        await using var evaluator = new SegmentEvaluator(engine, schema);
        var openers = await store.SaveAsync("acme", null, "Boston openers", null, McpTestData.BostonOpeners, CancellationToken.None);
        var buyers = await store.SaveAsync("acme", null, "Buyers", null, McpTestData.Buyers, CancellationToken.None);
        // Evaluations in the past: a tick is never asked to evaluate after the engine's now.
        var t1 = Millisecond(McpTestData.Now.AddMinutes(-10));
        var t2 = t1.AddMinutes(1);
        var t3 = t1.AddMinutes(2);
        var feed = new MembershipFeed(store, membership, "acme", null, t1.AddHours(-1));

        Assert.Empty((await feed.NextAsync(CancellationToken.None)).Changes); // Nothing evaluated yet.

        await evaluator.TickAsync("acme", t1, null, CancellationToken.None);
        var first = await feed.NextAsync(CancellationToken.None);
        (string, string, bool, DateTime)[] firstChanges =
            [(openers.Id, "p1", true, t1), (openers.Id, "p2", true, t1), (buyers.Id, "p1", true, t1), (buyers.Id, "p3", true, t1)];
        Assert.Equal(Sorted(firstChanges), Changes(first));

        // Not acknowledged (a delivery failed): the next round reads the same.
        Assert.Equal(Changes(first), Changes(await feed.NextAsync(CancellationToken.None)));
        feed.Acknowledge(first);
        var none = await feed.NextAsync(CancellationToken.None);
        Assert.Empty(none.Changes);
        feed.Acknowledge(none);

        await engine.InsertJsonEachRowAsync(
            schema.Events,
            Encoding.UTF8.GetBytes($$"""{"tenant":"acme","profile_id":"p4","metric":"Opened Email","ts":"{{t1.AddDays(-1):yyyy-MM-dd HH:mm:ss.fff}}"}""" + "\n"),
            null);
        await evaluator.TickAsync("acme", t2, null, CancellationToken.None);
        var second = await feed.NextAsync(CancellationToken.None);
        Assert.Equal([(openers.Id, "p4", true, t2)], Changes(second));
        feed.Acknowledge(second);

        // p2 moves to Denver before t3.
        await engine.InsertJsonEachRowAsync(
            schema.ProfileUpdates,
            Encoding.UTF8.GetBytes($$$"""{"tenant":"acme","profile_id":"p2","updated_at":"{{{t3.AddSeconds(-1):yyyy-MM-dd HH:mm:ss.fff}}}","properties":{"city":"sDenver"}}""" + "\n"),
            null);
        await evaluator.TickAsync("acme", t3, null, CancellationToken.None);
        var third = await feed.NextAsync(CancellationToken.None);
        Assert.Equal([(openers.Id, "p2", false, t3)], Changes(third));
        feed.Acknowledge(third);

        // A feed resumed where this one stopped (a restarted watch) reads nothing twice.
        var resumed = new MembershipFeed(store, membership, "acme", null, feed.Since, feed.Positions);
        Assert.Empty((await resumed.NextAsync(CancellationToken.None)).Changes);
        Assert.Equal(first.Changes.Select(c => c.SegmentId).Distinct().Order(StringComparer.Ordinal), resumed.Positions.Keys.Order(StringComparer.Ordinal));

        // A deleted segment is reported once.
        Assert.True(await store.DeleteAsync("acme", buyers.Id, CancellationToken.None));
        var deleted = await feed.NextAsync(CancellationToken.None);
        Assert.Equal([buyers.Id], deleted.Deleted);
        Assert.Empty(deleted.Changes);
        feed.Acknowledge(deleted);
        Assert.Empty((await feed.NextAsync(CancellationToken.None)).Deleted);

        // A feed of one segment from a later time reads that segment's changes from then on, in one round.
        var named = new MembershipFeed(store, membership, "acme", [openers.Id], t2);
        Assert.Equal(
            [(openers.Id, "p4", true, t2), (openers.Id, "p2", false, t3)],
            Changes(await named.NextAsync(CancellationToken.None)));
        Assert.Equal([openers.Id], (await named.WatchedAsync(CancellationToken.None)).Select(s => s.Id));
    }

    [Fact]
    public async Task A_feed_begun_now_delivers_an_evaluation_that_began_before_it_and_completed_after()
    {
        var (engine, schema, store, membership) = await SeededAsync();
        await using var evaluator = new SegmentEvaluator(engine, schema);
        var openers = await store.SaveAsync("acme", null, "Boston openers", null, McpTestData.BostonOpeners, CancellationToken.None);
        var t1 = Millisecond(McpTestData.Now.AddMinutes(-10));
        var t2 = t1.AddMinutes(1);
        await evaluator.TickAsync("acme", t1, null, CancellationToken.None);
        var buyers = await store.SaveAsync("acme", null, "Buyers", null, McpTestData.Buyers, CancellationToken.None);

        // Both feeds start now; Buyers was saved but not evaluated yet.
        var now = DateTime.UtcNow;
        var begun = new MembershipFeed(store, membership, "acme", null, now);
        await begun.BeginAsync(CancellationToken.None);
        var plain = new MembershipFeed(store, membership, "acme", null, now);
        Assert.Empty((await begun.NextAsync(CancellationToken.None)).Changes); // t1's evaluation completed before.

        // An evaluation that began at t2, before the feeds started (logged at t2), completes now.
        await engine.InsertJsonEachRowAsync(
            schema.Events,
            Encoding.UTF8.GetBytes($$"""{"tenant":"acme","profile_id":"p4","metric":"Opened Email","ts":"{{t1.AddDays(-1):yyyy-MM-dd HH:mm:ss.fff}}"}""" + "\n"),
            null);
        await evaluator.TickAsync("acme", t2, null, CancellationToken.None);

        Assert.Equal(
            Sorted([(openers.Id, "p4", true, t2), (buyers.Id, "p1", true, t2), (buyers.Id, "p3", true, t2)]),
            Changes(await begun.NextAsync(CancellationToken.None)));
        Assert.Empty((await plain.NextAsync(CancellationToken.None)).Changes); // Taken for history: why BeginAsync exists.
    }

    [Fact]
    public async Task Reads_a_segments_changes_a_page_at_a_time_without_losing_or_repeating_any()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var count = MembershipFeed.Page * 2 + 17;
        var at = Millisecond(DateTime.UtcNow.AddDays(-1));
        var events = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            events.Append(CultureInfo.InvariantCulture, $$"""{"tenant":"acme","profile_id":"p{{i:D6}}","metric":"Placed Order","ts":"{{at.AddHours(-1):yyyy-MM-dd HH:mm:ss.fff}}"}""").Append('\n');
        }

        await engine.InsertJsonEachRowAsync(schema.Events, Encoding.UTF8.GetBytes(events.ToString()), null);
        var store = new SegmentStore(engine, schema);
        var buyers = await store.SaveAsync("acme", null, "Buyers", null, McpTestData.Buyers, CancellationToken.None);
        await using var evaluator = new SegmentEvaluator(engine, schema);
        await evaluator.TickAsync("acme", at, null, CancellationToken.None);

        var round = await new MembershipFeed(store, new MembershipStore(engine, schema), "acme", null, at).NextAsync(CancellationToken.None);

        Assert.Equal(Enumerable.Range(0, count).Select(i => $"p{i:D6}"), round.Changes.Select(c => c.ProfileId));
        Assert.All(round.Changes, c => Assert.Equal((buyers.Id, true, at), (c.SegmentId, c.Entered, c.At)));
    }

    /// <summary>A new database holding the seeded tenant "acme", with its segment and membership stores.</summary>
    private static async Task<(IClickHouseEngine Engine, StorageSchema Schema, SegmentStore Store, MembershipStore Membership)> SeededAsync()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        await McpTestData.SeedAsync(engine, schema, "acme", string.Empty);
        return (engine, schema, new SegmentStore(engine, schema), new MembershipStore(engine, schema));
    }

    private static DateTime Millisecond(DateTime time) => new(time.Ticks - (time.Ticks % TimeSpan.TicksPerMillisecond), DateTimeKind.Utc);

    private static List<(string, string, bool, DateTime)> Changes(FeedRound round) =>
        [.. round.Changes.Select(c => (c.SegmentId, c.ProfileId, c.Entered, c.At))];

    private static List<(string, string, bool, DateTime)> Sorted((string, string, bool, DateTime)[] changes) =>
        [.. changes.OrderBy(c => c.Item4).ThenBy(c => c.Item1, StringComparer.Ordinal).ThenBy(c => c.Item2, StringComparer.Ordinal)];
}
