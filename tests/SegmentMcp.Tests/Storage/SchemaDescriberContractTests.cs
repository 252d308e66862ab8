using System.Globalization;
using System.Text;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Storage;

/// <summary>
/// The schema statistics (describe_schema, value completions) read profile properties from the current-value table
/// and the history behind it: whatever the table's age, they equal each profile's latest update dated at or before
/// now, computed here from the updates themselves.
/// </summary>
public abstract partial class EngineContractTests
{
    [Fact]
    public async Task Schema_statistics_are_the_values_as_of_now_whatever_the_current_value_tables_age()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var describer = new SchemaDescriber(Engine, schema);
        var refresher = new CurrentTraitsRefresher(Engine, schema);
        var written = new List<(string Profile, int Days, string Property, string Value)>();

        async Task WriteAsync(params (string Profile, int Days, string Property, string Value)[] updates)
        {
            written.AddRange(updates);
            await UpdateAsync(schema, updates);
        }

        async Task AssertStatisticsAsync(DateTime now, string stage)
        {
            // Each pair's latest update at or before now (a later write wins a tie: it was ingested later).
            var current = written
                .Select((update, order) => (update, order))
                .Where(entry => CheckNow.AddDays(entry.update.Days) <= now)
                .GroupBy(entry => (entry.update.Profile, entry.update.Property))
                .Select(group => group.MaxBy(entry => (entry.update.Days, entry.order)).update)
                .Where(update => update.Value.Length > 0)
                .ToList();
            var expected = current
                .GroupBy(update => update.Property, StringComparer.Ordinal)
                .OrderBy(group => group.Key, StringComparer.Ordinal)
                .Select(group => (
                    Name: group.Key,
                    Count: (long)group.Count(),
                    Types: string.Join(",", group.Select(u => TaggedValue.TypeName(u.Value[0])).Distinct().Order(StringComparer.Ordinal)),
                    Values: string.Join(",", group.Select(u => Convert.ToString(TaggedValue.Decode(u.Value), CultureInfo.InvariantCulture)).Distinct().Order(StringComparer.Ordinal))))
                .ToList();

            var statistics = await describer.DescribeAsync("acme", null, null, now, CancellationToken.None);
            var actual = statistics.Properties
                .Where(p => p.ProfilesWithValue > 0)
                .Select(p => (
                    p.Name,
                    Count: p.ProfilesWithValue,
                    Types: string.Join(",", p.Types),
                    Values: string.Join(",", p.SampleValues.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)).Order(StringComparer.Ordinal))))
                .ToList();
            Assert.True(expected.SequenceEqual(actual), $"{stage}: expected {string.Join("; ", expected)}, got {string.Join("; ", actual)}");

            var cities = current.Where(u => u.Property == "city" && u.Value.StartsWith("sB", StringComparison.Ordinal))
                .GroupBy(u => u.Value[1..], StringComparer.Ordinal)
                .OrderByDescending(group => group.Count()).ThenBy(group => group.Key, StringComparer.Ordinal)
                .Select(group => group.Key);
            Assert.Equal(cities, await describer.PropertyValuesAsync("acme", "city", "B", 10, now, CancellationToken.None));

            var one = await describer.DescribeAsync("acme", null, "plan", now, CancellationToken.None);
            Assert.Equal(expected.Where(p => p.Name == "plan").Select(p => p.Count), one.Properties.Select(p => p.ProfilesWithValue));
            Assert.Null(Assert.Single(statistics.Properties, p => p.Name == "plan").TopValues);

            // A property described alone: every value with how many profiles have it (most first, then in value
            // order), how many distinct values, and the numeric range.
            foreach (var name in new[] { "city", "age", "signup" })
            {
                var detail = Assert.Single((await describer.DescribeAsync("acme", null, name, now, CancellationToken.None)).Properties);
                var values = current.Where(u => u.Property == name)
                    .GroupBy(u => u.Value, StringComparer.Ordinal)
                    .OrderByDescending(group => group.Count()).ThenBy(group => group.Key, StringComparer.Ordinal)
                    .Select(group => (Value: TaggedValue.Decode(group.Key), Count: (long)group.Count()))
                    .ToList();
                var numbers = values.Select(v => v.Value).OfType<double>().ToList();
                Assert.Equal(values.Count, detail.DistinctValues);
                Assert.Equal(values, detail.TopValues!.Select(v => (v.Value, v.Count)));
                Assert.Equal(numbers.Count == 0 ? null : numbers.Min(), detail.Min);
                Assert.Equal(numbers.Count == 0 ? null : numbers.Max(), detail.Max);
                var dates = values.Select(v => v.Value).OfType<string>().Where(v => System.Text.RegularExpressions.Regex.IsMatch(v, "^[0-9]{4}-[0-9]{2}-[0-9]{2}")).Order(StringComparer.Ordinal).ToList();
                Assert.Equal(dates.FirstOrDefault(), detail.Earliest);
                Assert.Equal(dates.LastOrDefault(), detail.Latest);
            }
        }

        await WriteAsync(
            ("p1", -3, "city", "sBoston"), ("p1", -3, "plan", "spremium"), ("p1", -3, "age", "n41"),
            ("p2", -3, "city", "sBoston"), ("p2", -3, "plan", "sfree"),
            ("p3", -3, "city", "sBerlin"), ("p3", -3, "plan", "sfree"),
            ("p4", -3, "city", "sParis"), ("p4", -3, "age", "btrue"),
            ("p1", -3, "signup", "s2024-05-01"), ("p2", -3, "signup", "s2023-11-30T08:00:00Z"), ("p3", -3, "signup", "ssoon"), ("p4", -3, "signup", "n20250101"));

        // Nothing refreshed yet: every profile is read from the history.
        await AssertStatisticsAsync(CheckNow, "before any refresh");
        await refresher.RefreshAsync("acme");
        await AssertStatisticsAsync(CheckNow, "refreshed");

        // p1 moves to Berlin tomorrow: the table holds Berlin, the statistics now say Boston, the day after Berlin.
        await WriteAsync(("p1", 1, "city", "sBerlin"));
        await refresher.RefreshAsync("acme");
        await AssertStatisticsAsync(CheckNow, "an update dated after now");
        await AssertStatisticsAsync(CheckNow.AddDays(2), "the day after it");

        // Ingested after the table's watermark: p2 upgrades, p3's city is removed, p5 appears.
        await WriteAsync(("p2", -1, "plan", "spremium"), ("p3", -1, "city", ""), ("p5", -1, "city", "sBoston"), ("p5", -1, "age", "n30"));
        await AssertStatisticsAsync(CheckNow, "ingested after the watermark");
        await refresher.RefreshAsync("acme");
        await AssertStatisticsAsync(CheckNow, "refreshed again");
    }

    [Fact]
    public async Task Schema_statistics_count_each_metrics_events_and_distinct_profiles_and_sample_its_properties()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var rows = new StringBuilder();
        var events = new (string Metric, string Profile, string Category, double? Value)[]
        {
            ("Placed Order", "p1", "sshoes", 12.5), ("Placed Order", "p1", "sshoes", 30), ("Placed Order", "p2", "n7", 12.5),
            ("Viewed Product", "p1", "sbags", null), ("Viewed Product", "p2", "sbags", null), ("Viewed Product", "p3", "sshoes", null), ("Viewed Product", "p3", "sshoes", null),
        };
        for (var i = 0; i < events.Length; i++)
        {
            var value = events[i].Value is { } number ? number.ToString(CultureInfo.InvariantCulture) : "null";
            rows.Append(CultureInfo.InvariantCulture, $"{{\"tenant\":\"acme\",\"metric\":\"{events[i].Metric}\",\"profile_id\":\"{events[i].Profile}\",\"ts\":\"2026-11-{10 + i} 10:00:00.000\",\"value\":{value},\"properties\":{{\"category\":\"{events[i].Category}\"}}}}\n");
        }

        await Engine.InsertJsonEachRowAsync(schema.Events, Encoding.UTF8.GetBytes(rows.ToString()), null);
        var statistics = await new SchemaDescriber(Engine, schema).DescribeAsync("acme", null, null, CheckNow, CancellationToken.None);

        Assert.Equal(events.Length, statistics.Events);
        Assert.Equal(events.Select(e => e.Profile).Distinct().Count(), statistics.Profiles);
        foreach (var metric in events.GroupBy(e => e.Metric))
        {
            var described = Assert.Single(statistics.Metrics, m => m.Name == metric.Key);
            Assert.Equal(metric.Count(), described.Events);
            Assert.Equal(metric.Select(e => e.Profile).Distinct().Count(), described.Profiles);
            var category = Assert.Single(described.Properties);
            Assert.Equal("category", category.Name);
            Assert.Equal(metric.Select(e => TaggedValue.TypeName(e.Category[0])).Distinct().Order(StringComparer.Ordinal), category.Types);
            Assert.Equal(
                metric.Select(e => Convert.ToString(TaggedValue.Decode(e.Category), CultureInfo.InvariantCulture)).Distinct().Order(StringComparer.Ordinal),
                category.SampleValues.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)).Order(StringComparer.Ordinal));

            // The events' numeric value, when they have one, as "$value" beside the properties.
            var values = metric.Where(e => e.Value is not null).Select(e => e.Value!.Value).Distinct().Order().ToList();
            if (values.Count == 0)
            {
                Assert.Null(described.Value);
            }
            else
            {
                Assert.Equal("$value", described.Value!.Name);
                Assert.Equal(["number"], described.Value.Types);
                Assert.Equal(values, described.Value.SampleValues.Select(v => (double)v!).Order());
            }
        }

        Assert.All(statistics.Metrics, m => Assert.Null(m.SampledEvents));
        var one = await new SchemaDescriber(Engine, schema).DescribeAsync("acme", "Viewed Product", null, CheckNow, CancellationToken.None);
        Assert.Equal("Viewed Product", Assert.Single(one.Metrics).Name);
        Assert.Empty(one.Properties);
        Assert.Equal(events.Length, one.Events);

        // A metric described alone: each property's and $value's values with their event counts and numeric range.
        var orders = Assert.Single((await new SchemaDescriber(Engine, schema).DescribeAsync("acme", "Placed Order", null, CheckNow, CancellationToken.None)).Metrics);
        Assert.Equal(3, orders.SampledEvents);
        var orderCategory = Assert.Single(orders.Properties);
        Assert.Equal(2, orderCategory.DistinctValues);
        Assert.Equal(new (object?, long)[] { ("shoes", 2L), (7.0, 1L) }, orderCategory.TopValues!.Select(v => (v.Value, v.Count)));
        Assert.Equal<(double?, double?)>((7.0, 7.0), (orderCategory.Min, orderCategory.Max));
        Assert.Equal(2, orders.Value!.DistinctValues);
        Assert.Equal(new (object?, long)[] { (12.5, 2L), (30.0, 1L) }, orders.Value.TopValues!.Select(v => (v.Value, v.Count)));
        Assert.Equal<(double?, double?)>((12.5, 30.0), (orders.Value.Min, orders.Value.Max));

        // A property alone: no metric is read, the totals stay.
        var property = await new SchemaDescriber(Engine, schema).DescribeAsync("acme", null, "city", CheckNow, CancellationToken.None);
        Assert.Empty(property.Metrics);
        Assert.Equal(events.Length, property.Events);
        Assert.Equal(3, property.Profiles);
    }
}
