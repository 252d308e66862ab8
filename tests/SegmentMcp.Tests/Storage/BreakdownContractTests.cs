using System.Globalization;
using System.Text;
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

        var breakdown = (await store.BreakdownAsync("acme", "s1", new BreakdownRequest(["city", "age", "vip", "nickname"], [], 2), CheckNow, CancellationToken.None)).Properties;

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

    [Fact]
    public async Task An_event_breakdown_counts_the_members_events_in_their_days_by_value()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var members = Enumerable.Range(0, 12).Select(i => $"p{i:D2}").ToList();
        string[] categories = ["toys", "books", "home"];

        // Each profile's orders: (days before the time asked, category or none, amount or none, items: a number, a word
        // or none); p12–p14 are not members.
        var orders = new List<(string Profile, double DaysAgo, string? Category, double? Amount, string? Items)>();
        for (var i = 0; i < 15; i++)
        {
            for (var k = 0; k <= i % 4; k++)
            {
                orders.Add((
                    $"p{i:D2}",
                    2 + (5 * k) + (i % 3),
                    k == 3 ? null : categories[(i + k) % 3],
                    k == 2 ? null : ((i * 7) + (k * 3)) % 50 + 0.25,
                    k switch { 1 => "sfew", 3 => null, _ => string.Create(CultureInfo.InvariantCulture, $"n{k + (i % 2) + 1}") }));
            }
        }

        orders.Add(("p00", 40, "garden", 1000, "n9")); // before the 30 days asked
        orders.Add(("p01", -1, "garden", 1000, "n9")); // after the time asked
        var rows = new StringBuilder();
        foreach (var (profile, daysAgo, category, amount, items) in orders)
        {
            var properties = string.Join(",", new[] { ("category", category is null ? null : "s" + category), ("items", items) }.Where(p => p.Item2 is not null).Select(p => $"\"{p.Item1}\":\"{p.Item2}\""));
            var value = amount is { } number ? number.ToString(CultureInfo.InvariantCulture) : "null";
            rows.Append(CultureInfo.InvariantCulture, $"{{\"tenant\":\"acme\",\"metric\":\"Placed Order\",\"profile_id\":\"{profile}\",\"ts\":\"{CheckNow.AddDays(-daysAgo):yyyy-MM-dd HH:mm:ss.fff}\",\"value\":{value},\"properties\":{{{properties}}}}}\n");
        }

        rows.Append(CultureInfo.InvariantCulture, $"{{\"tenant\":\"acme\",\"metric\":\"Opened Email\",\"profile_id\":\"p00\",\"ts\":\"{CheckNow.AddDays(-1):yyyy-MM-dd HH:mm:ss.fff}\",\"value\":null,\"properties\":{{\"category\":\"stoys\"}}}}\n");
        await Engine.InsertJsonEachRowAsync(schema.Events, Encoding.UTF8.GetBytes(rows.ToString()), null);
        var store = new MembershipStore(Engine, schema);
        await store.WriteChangesAsync("acme", "s1", CheckNow, members, [], null, CancellationToken.None);

        var result = await store.BreakdownAsync(
            "acme",
            "s1",
            new BreakdownRequest([], [new EventBreakdownRequest("Placed Order", "category", 30), new EventBreakdownRequest("Placed Order", "$value", 30), new EventBreakdownRequest("Placed Order", "items", 30)], 2),
            CheckNow,
            CancellationToken.None);

        // The reference: the members' orders in [now − 30 days, now], per category the orders and the profiles.
        var read = orders.Where(o => members.Contains(o.Profile) && o.DaysAgo is >= 0 and <= 30).ToList();
        var byValue = read.Where(o => o.Category is not null).GroupBy(o => o.Category!)
            .Select(g => (Value: g.Key, Events: (long)g.Count(), Profiles: (long)g.Select(o => o.Profile).Distinct().Count()))
            .OrderByDescending(v => v.Profiles).ThenByDescending(v => v.Events).ThenBy(v => "s" + v.Value, StringComparer.Ordinal).ToList();
        Assert.Equal(3, result.Events.Count);
        var events = result.Events[0];
        Assert.Empty(result.Properties);
        Assert.Null(events.Numbers);
        Assert.Equal(("Placed Order", "category", 30), (events.Metric, events.Property, events.LastDays));
        Assert.Equal((long)read.Count, events.Events);
        Assert.Equal(read.Select(o => o.Profile).Distinct().Count(), events.Profiles);
        Assert.Equal(byValue.Count, events.DistinctValues);
        Assert.Equal(byValue.Take(2).Select(v => ((object?)v.Value, v.Events, v.Profiles)), events.TopValues.Select(v => (v.Value, v.Events, v.Profiles)));

        // Numbers: the events' own amounts ($value), and the items property's number values (not its words).
        foreach (var (breakdown, numberOf) in new (EventPropertyBreakdown, Func<(string Profile, double DaysAgo, string? Category, double? Amount, string? Items), double?>)[]
        {
            (result.Events[1], o => o.Amount),
            (result.Events[2], o => o.Items is ['n', .. var digits] ? double.Parse(digits, CultureInfo.InvariantCulture) : null),
        })
        {
            var numbered = read.Where(o => numberOf(o) is not null).ToList();
            var numbers = numbered.Select(o => numberOf(o)!.Value).ToList();
            var spread = Assert.IsType<EventNumberSummary>(breakdown.Numbers);
            var profiles = numbered.Select(o => o.Profile).Distinct().Count();
            Assert.Equal((numbers.Count, numbers.Min(), numbers.Max(), profiles), (spread.Events, spread.Min, spread.Max, spread.Profiles));
            Assert.Equal(Math.Round(numbers.Sum(), 4), spread.Sum, 6);
            Assert.Equal(Math.Round(numbers.Average(), 4), spread.Mean, 6);
            Assert.Equal(Math.Round(numbers.Sum() / profiles, 4), spread.MeanPerProfile, 6);
            Assert.Contains(spread.Median, numbers);
            Assert.True(spread.Min <= spread.P25 && spread.P25 <= spread.Median && spread.Median <= spread.P75 && spread.P75 <= spread.Max);
        }

        // $value's values count as numbers.
        Assert.IsType<double>(result.Events[1].TopValues[0].Value);
    }
}
