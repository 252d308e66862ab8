using System.Globalization;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Storage;

/// <summary>
/// A segment's members broken down by profile properties, against a plain C# reading of the same updates: each
/// member's latest value by the time asked (later updates and removals as the history says), non-members left out,
/// top values by count then text, number spread over number values only.
/// </summary>
public abstract partial class EngineContractTests
{
    [Fact]
    public async Task A_breakdown_counts_each_members_value_as_of_the_time_asked()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        string[] cities = ["Boston", "Denver", "Austin"];
        var updates = new List<(string Profile, int Days, string Property, string Value)>();
        for (var i = 0; i < 40; i++)
        {
            updates.Add(($"p{i:D2}", -9, "city", "s" + cities[i % 3]));
            if (i % 2 == 0)
            {
                updates.Add(($"p{i:D2}", -9, "age", string.Create(CultureInfo.InvariantCulture, $"n{20 + i}")));
            }
        }

        updates.AddRange(
        [
            ("p01", -1, "city", "sDenver"), // moved (already Denver's count shows it once)
            ("p09", -1, "city", "sDenver"), // moved from Boston
            ("p02", -1, "city", string.Empty), // removed
            ("p03", 2, "city", "sParis"), // after the time asked
            ("p06", -1, "age", "sforty"), // a value, but no number
            ("p01", -9, "vip", "btrue"),
        ]);
        await UpdateAsync(schema, [.. updates]);
        var store = new MembershipStore(Engine, schema);
        var members = Enumerable.Range(0, 20).Select(i => $"p{i:D2}").ToList();
        await store.WriteChangesAsync("acme", "s1", CheckNow, members, [], null, CancellationToken.None);

        var breakdown = await store.BreakdownAsync("acme", "s1", ["city", "age", "vip", "nickname"], CheckNow, 2, CancellationToken.None);

        // The reference: each member's latest update by then (the last one written wins a tie), empty = none.
        Dictionary<string, string> ValuesOf(string property) => members
            .Select(m => (m, updates.Where(u => u.Profile == m && u.Property == property && u.Days <= 0).Select(u => (u.Days, u.Value)).ToList()))
            .Where(x => x.Item2.Count > 0)
            .Select(x => (x.m, Value: x.Item2.OrderBy(u => u.Days).Last().Value))
            .Where(x => x.Value.Length > 0)
            .ToDictionary(x => x.m, x => x.Value, StringComparer.Ordinal);

        Assert.Equal(["city", "age", "vip", "nickname"], breakdown.Select(b => b.Property));
        foreach (var (property, actual) in breakdown.Select(b => (b.Property, b)))
        {
            var values = ValuesOf(property);
            var counts = values.Values.GroupBy(v => v).Select(g => (Tagged: g.Key, Count: (long)g.Count()))
                .OrderByDescending(g => g.Count).ThenBy(g => g.Tagged, StringComparer.Ordinal).ToList();
            Assert.Equal(values.Count, actual.WithValue);
            Assert.Equal(counts.Count, actual.DistinctValues);
            Assert.Equal(counts.Take(2).Select(c => (TaggedValue.Decode(c.Tagged), c.Count)), actual.TopValues.Select(v => (v.Value, v.Count)));
            var numbers = values.Values.Where(v => v[0] == 'n').Select(v => double.Parse(v[1..], CultureInfo.InvariantCulture)).ToList();
            if (numbers.Count == 0)
            {
                Assert.Null(actual.Numbers);
                continue;
            }

            var spread = Assert.IsType<NumberSummary>(actual.Numbers);
            Assert.Equal((numbers.Count, numbers.Min(), numbers.Max()), (spread.Count, spread.Min, spread.Max));
            Assert.Equal(Math.Round(numbers.Average(), 4), spread.Mean, 6);
            Assert.Contains(spread.Median, numbers);
            Assert.True(spread.Min <= spread.P25 && spread.P25 <= spread.Median && spread.Median <= spread.P75 && spread.P75 <= spread.Max);
        }

        // The case it is for: Boston lost p09, Denver gained it, p02 has none, p03 is still in Boston until its move.
        Assert.Equal(("Denver", 8L), ((string)breakdown[0].TopValues[0].Value!, breakdown[0].TopValues[0].Count));
        Assert.Equal(19, breakdown[0].WithValue);
    }
}
