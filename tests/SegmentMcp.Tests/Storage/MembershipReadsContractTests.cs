using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Tests.Mcp;

namespace SegmentMcp.Tests.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>
/// Every reader of current membership agrees with the changes written, on both adapters (where membership is held in
/// the buckets on one engine): members page by page, counts, overlaps, a profile's live segments, single lookups,
/// with changes applied twice, entries of profiles already in and exits of profiles never in.
/// </summary>
public abstract partial class EngineContractTests
{
    [Fact]
    public Task Membership_readers_agree_with_the_changes_written_also_when_a_write_is_repeated() => MembershipReadersAgreeAsync(null);

    /// <summary>The same with the bucket rewrite an engine without <c>arrayExcept</c> (an older server) gets.</summary>
    [Fact]
    public Task Membership_readers_agree_with_the_changes_written_by_the_rewrite_without_arrayExcept() => MembershipReadersAgreeAsync(false);

    /// <summary>
    /// A whole evaluation's changes, diffed against the stored members inside the engine and written from the log:
    /// the buckets take them as exact (the exited removed, the entered appended), with and without <c>arrayExcept</c>.
    /// </summary>
    [Theory]
    [InlineData(null)]
    [InlineData(false)]
    public async Task Changes_written_from_a_statement_leave_exactly_the_new_members(bool? removesWithArrayExcept)
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var store = new MembershipStore(Engine, schema) { RemovesWithArrayExcept = removesWithArrayExcept };
        var t0 = new DateTime(2026, 11, 20, 0, 0, 0, DateTimeKind.Utc);
        var many = Enumerable.Range(0, 300).Select(i => $"p{i:D3}").ToList();
        await store.WriteChangesAsync("acme", "s1", t0, many, [], null, CancellationToken.None);
        await store.WriteChangesAsync("acme", "s2", t0, many, [], null, CancellationToken.None);

        // Every third profile leaves, and as many new ones enter (spread over the same buckets).
        var leaving = many.Where((_, i) => i % 3 == 0).ToList();
        var entering = Enumerable.Range(0, 100).Select(i => $"q{i:D3}").ToList();
        var changes = Sql.Of(
            $"SELECT c.1 AS candidate, c.2 AS now_member FROM (SELECT arrayJoin(arrayConcat(arrayMap(p -> (p, toUInt8(0)), {Sql.Param("Array(String)", leaving.ToArray())}), arrayMap(p -> (p, toUInt8(1)), {Sql.Param("Array(String)", entering.ToArray())}))) AS c)");
        var written = await store.WriteChangesFromAsync("acme", "s1", t0.AddHours(1), changes, null, CancellationToken.None);

        Assert.Equal((100L, 100L), (written.Entered, written.Exited));
        var expected = many.Except(leaving).Concat(entering).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, await store.MembersAsync("acme", "s1", null, 1_000, CancellationToken.None));
        Assert.Equal(expected.Count, await store.CountAsync("acme", "s1", CancellationToken.None));
        Assert.Equal(many, await store.MembersAsync("acme", "s2", null, 1_000, CancellationToken.None));
        Assert.True(await store.IsMemberAsync("acme", "s1", "q050", CancellationToken.None));
        Assert.False(await store.IsMemberAsync("acme", "s1", "p003", CancellationToken.None));
    }

    /// <summary>
    /// Phase 1's rows with their one-sided ones resolved in the same statement: a row that can only leave stays when its
    /// profile is a stored member of its own segment, one that can only enter when it is not, and a row that can move
    /// either way always stays, whatever the other segments hold.
    /// </summary>
    [Fact]
    public async Task Phase_one_keeps_a_one_sided_row_only_where_its_own_segments_stored_members_let_it_change()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var store = new MembershipStore(Engine, schema);
        var t0 = new DateTime(2026, 11, 20, 0, 0, 0, DateTimeKind.Utc);
        var many = Enumerable.Range(0, 300).Select(i => $"p{i:D3}").ToList();
        await store.WriteChangesAsync("acme", "s1", t0, many.Where((_, i) => i % 2 == 0).ToList(), [], null, CancellationToken.None);
        await store.WriteChangesAsync("acme", "s2", t0, many.Where((_, i) => i % 2 == 1).ToList(), [], null, CancellationToken.None);

        // Every profile in both segments (positions 0 and 1), with each kind of direction; p999 is in neither.
        var rows = many.Append("p999")
            .SelectMany((p, i) => new[] { (Segment: 0u, Profile: p, Directions: (byte)(1 << (i % 3))), (Segment: 1u, Profile: p, Directions: (byte)(1 << ((i + 1) % 3))) })
            .ToList();
        var phaseOne = Sql.Of(
            $"""
            SELECT r.1 AS segment, r.2 AS profile_id, r.3 AS directions
            FROM (SELECT arrayJoin(arrayZip({Sql.Param("Array(UInt32)", rows.Select(r => r.Segment).ToArray())}, {Sql.Param("Array(String)", rows.Select(r => r.Profile).ToArray())}, {Sql.Param("Array(UInt8)", rows.Select(r => r.Directions).ToArray())})) AS r)
            """);
        var resolved = store.OneSidedResolved("acme", ["s1", "s2"], phaseOne);
        Assert.NotNull(resolved);
        var kept = await Engine.QueryAsync(resolved!.ToStatement(), row => (Segment: row.Get<int>(0), Profile: row.GetString(1), Directions: row.Get<int>(2)));

        bool Member(uint segment, string profile) =>
            profile != "p999" && int.Parse(profile[1..], System.Globalization.CultureInfo.InvariantCulture) % 2 == (int)segment;
        var expected = rows
            .Where(r => r.Directions == 1 || (r.Directions == 2) == Member(r.Segment, r.Profile))
            .Select(r => (Segment: (int)r.Segment, r.Profile, Directions: (int)r.Directions))
            .Order()
            .ToList();
        Assert.Equal(expected, kept.Order().ToList());
        Assert.Contains(expected, r => r.Directions == 2);
        Assert.Contains(expected, r => r.Directions == 4);
        Assert.Contains((0, "p999", 1), expected);
        Assert.DoesNotContain(expected, r => r is { Profile: "p999", Directions: 2 });
    }

    /// <summary>
    /// A first evaluation written into the buckets alone (no log) and counted from them; the changes after it logged.
    /// members_at at every time since the first evaluation and the changes feed (its first evaluation's entries derived),
    /// page by page, agree with what was written.
    /// </summary>
    [Fact]
    public async Task A_first_evaluation_written_without_its_log_is_read_back_by_members_at_and_the_changes()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var segments = new SegmentStore(Engine, schema);
        var id = (await segments.SaveAsync("acme", null, "A", null, McpTestData.Buyers, CancellationToken.None)).Id;
        var store = new MembershipStore(Engine, schema);
        var t0 = new DateTime(2026, 11, 20, 0, 0, 0, DateTimeKind.Utc);
        var first = Enumerable.Range(0, 300).Select(i => $"p{i:D3}").ToList();
        Assert.True(store.WritesFirstEvaluationUnlogged);

        var written = await store.WriteFirstEvaluationAsync(
            "acme", id, t0, Sql.Of($"SELECT arrayJoin({Sql.Param("Array(String)", first.ToArray())}) AS profile_id"), null, CancellationToken.None);
        var (counts, _) = await store.ApplyWholeAsync("acme", t0, [written], CancellationToken.None);
        Assert.Equal((300L, 0L), counts[id]);
        await segments.WriteStatesAsync("acme", [(id, new SegmentState(1, t0, t0, 300))], CancellationToken.None);
        Assert.Empty(await Engine.QueryAsync(
            Sql.Of($"SELECT profile_id FROM {Sql.Table(schema.MembershipLog)} WHERE tenant = 'acme'"), row => row.GetString(0)));

        // An hour later every even profile leaves and two enter; an hour after that one of them leaves and p000 is back.
        var t1 = t0.AddHours(1);
        var t2 = t0.AddHours(2);
        await store.WriteChangesAsync("acme", id, t1, ["q1", "q2"], [.. first.Where((_, i) => i % 2 == 0)], null, CancellationToken.None);
        await store.WriteChangesAsync("acme", id, t2, ["p000"], ["q1"], null, CancellationToken.None);
        var atT1 = first.Where((_, i) => i % 2 == 1).Append("q1").Append("q2").Order(StringComparer.Ordinal).ToList();
        var atT2 = atT1.Where(p => p != "q1").Append("p000").Order(StringComparer.Ordinal).ToList();

        Assert.Empty(await MembersAtAsync(t0.AddMilliseconds(-1)));
        Assert.Equal(first, await MembersAtAsync(t0));
        Assert.Equal(first, await MembersAtAsync(t1.AddMilliseconds(-1)));
        Assert.Equal(atT1, await MembersAtAsync(t1));
        Assert.Equal(atT2, await MembersAtAsync(t2.AddMinutes(5)));
        Assert.Equal(atT2, await store.MembersAsync("acme", id, null, 1_000, CancellationToken.None));

        var changes = await ChangesAsync(null, null);
        Assert.Equal(first.Select(p => (p, t0, true)), changes.Take(300).Select(c => (c.ProfileId, c.At, c.Entered)));
        Assert.Equal(300 + 152 + 2, changes.Count);
        Assert.Equal(first, (await ChangesAsync(null, t1)).Select(c => c.ProfileId));
        Assert.DoesNotContain(await ChangesAsync(t1, null), c => c.At == t0);
        Assert.Equal(changes.Skip(300), await ChangesAsync(t0.AddMilliseconds(1), null));

        async Task<List<string>> MembersAtAsync(DateTime at)
        {
            var all = new List<string>();
            string? after = null;
            while (true)
            {
                var page = await store.MembersAtAsync("acme", id, at, after, 37, CancellationToken.None);
                all.AddRange(page);
                if (page.Count < 37)
                {
                    return all;
                }

                after = page[^1];
            }
        }

        async Task<List<MembershipChange>> ChangesAsync(DateTime? since, DateTime? until)
        {
            var all = new List<MembershipChange>();
            (DateTime, string)? after = null;
            while (true)
            {
                var page = await store.ChangesAsync("acme", id, since, until, after, 41, CancellationToken.None);
                all.AddRange(page);
                if (page.Count < 41)
                {
                    return all;
                }

                after = (page[^1].At, page[^1].ProfileId);
            }
        }
    }

    private async Task MembershipReadersAgreeAsync(bool? removesWithArrayExcept)
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var segments = new SegmentStore(Engine, schema);
        var a = (await segments.SaveAsync("acme", null, "A", null, McpTestData.Buyers, CancellationToken.None)).Id;
        var b = (await segments.SaveAsync("acme", null, "B", null, McpTestData.BostonOpeners, CancellationToken.None)).Id;
        var gone = (await segments.SaveAsync("acme", null, "Gone", null, McpTestData.Buyers, CancellationToken.None)).Id;
        var store = new MembershipStore(Engine, schema) { RemovesWithArrayExcept = removesWithArrayExcept };
        var t0 = new DateTime(2026, 11, 20, 0, 0, 0, DateTimeKind.Utc);
        var many = Enumerable.Range(0, 300).Select(i => $"p{i:D3}").ToList();

        await store.WriteChangesAsync("acme", a, t0, many, [], null, CancellationToken.None);
        await store.WriteChangesAsync("acme", b, t0, many.Where((_, i) => i % 3 == 0).ToList(), [], null, CancellationToken.None);
        await store.WriteChangesAsync("acme", gone, t0, ["p000"], [], null, CancellationToken.None);
        await store.WriteChangesAsync("other", a, t0, ["p001", "x1"], [], null, CancellationToken.None);

        // An hour later a leaves every even profile; the same write runs twice (a retried chunk), and an entry of a
        // profile already in and an exit of one never in change nothing.
        var exited = many.Where((_, i) => i % 2 == 0).ToList();
        for (var attempt = 0; attempt < 2; attempt++)
        {
            await store.WriteChangesAsync("acme", a, t0.AddHours(1), ["p001", "q1"], [.. exited, "never"], null, CancellationToken.None);
        }

        Assert.True(await segments.DeleteAsync("acme", gone, CancellationToken.None));

        var expectedA = many.Where((_, i) => i % 2 == 1).Append("q1").Order(StringComparer.Ordinal).ToList();
        var pages = new List<string>();
        string? after = null;
        while (await store.MembersAsync("acme", a, after, 40, CancellationToken.None) is { Count: > 0 } page)
        {
            Assert.True(page.Count <= 40);
            pages.AddRange(page);
            after = page[^1];
        }

        Assert.Equal(expectedA, pages);
        Assert.Equal(expectedA.Count, await store.CountAsync("acme", a, CancellationToken.None));
        Assert.Equal(100L, await store.CountAsync("acme", b, CancellationToken.None));
        Assert.Equal(0L, await store.CountAsync("acme", "unknown", CancellationToken.None));

        // Common members: b's multiples of 3 that are odd.
        Assert.Equal(many.Where((_, i) => i % 3 == 0 && i % 2 == 1).Count(), await store.OverlapAsync("acme", a, b, CancellationToken.None));
        Assert.Equal(100L, await store.OverlapAsync("acme", b, b, CancellationToken.None));

        Assert.Equal(new[] { a, b }.Order(StringComparer.Ordinal), await store.SegmentsOfProfileAsync("acme", "p003", CancellationToken.None));
        // p000 left a, and the deleted segment's membership is not reported.
        Assert.Equal([b], await store.SegmentsOfProfileAsync("acme", "p000", CancellationToken.None));
        Assert.Equal([a], await store.SegmentsOfProfileAsync("acme", "q1", CancellationToken.None));
        Assert.True(await store.IsMemberAsync("acme", a, "p001", CancellationToken.None));
        Assert.False(await store.IsMemberAsync("acme", a, "p002", CancellationToken.None));
        Assert.False(await store.IsMemberAsync("acme", a, "never", CancellationToken.None));
        Assert.Equal(["p001", "x1"], await store.MembersAsync("other", a, null, 10, CancellationToken.None));
    }
}
