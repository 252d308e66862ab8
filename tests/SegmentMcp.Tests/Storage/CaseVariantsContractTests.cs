using System.Globalization;
using System.Text;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Storage;

/// <summary>
/// A property or metric described alone lists its texts that differ only in case ("Boston", "BOSTON", "boston"), as
/// computed here from the values written: groups largest first, spellings most frequent first, capped in both.
/// </summary>
public abstract partial class EngineContractTests
{
    [Fact]
    public async Task A_described_property_lists_its_texts_differing_only_in_case_as_of_now()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var updates = new List<(string Profile, int Days, string Property, string Value)>();
        var profile = 0;

        void Add(string value, int profiles, int days = -2)
        {
            for (var i = 0; i < profiles; i++)
            {
                updates.Add(($"p{profile++}", days, "city", value));
            }
        }

        // Six spellings of Boston (five are listed), accents lowered by the engine as by an ignore_case filter,
        // texts that only look alike (a number, "Berlin " with a space), and more groups than are listed.
        Add("sBoston", 5); Add("sBOSTON", 3); Add("sboston", 2); Add("sbOsToN", 1); Add("sBoStOn", 1); Add("sBOSton", 1);
        Add("sÉcole", 2); Add("sécole", 2);
        Add("sBerlin", 4); Add("sBerlin ", 1); Add("n7", 1); Add("s7", 1); Add("sParis", 3);
        for (var group = 0; group < 11; group++)
        {
            Add($"sTown{group:D2}", 1); Add($"sTOWN{group:D2}", 1);
        }

        // Current values only: a profile that moved away from "BOSTON" no longer counts, nor does one moving tomorrow.
        updates.Add(("p0", -1, "city", "sLisbon"));
        updates.Add(("p1", 1, "city", "sLISBON"));
        await UpdateAsync(schema, [.. updates]);

        var current = updates
            .Where(u => u.Days <= 0)
            .GroupBy(u => u.Profile)
            .Select(g => g.MaxBy(u => u.Days).Value)
            .Where(v => v.StartsWith('s'))
            .ToList();
        var expected = current
            .GroupBy(v => v.ToLowerInvariant(), StringComparer.Ordinal)
            .Select(g => (Key: g.Key, Total: g.Count(), Spellings: g.GroupBy(v => v, StringComparer.Ordinal).Select(s => (Value: (object?)s.Key[1..], Count: (long)s.Count())).ToList()))
            .Where(g => g.Spellings.Count > 1)
            .OrderByDescending(g => g.Total).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Take(SchemaDescriber.CaseVariantGroupCount)
            .Select(g => g.Spellings.OrderByDescending(s => s.Count).ThenBy(s => (string)s.Value!, StringComparer.Ordinal).Take(SchemaDescriber.CaseVariantsPerGroup).ToList())
            .ToList();

        var detail = Assert.Single((await new SchemaDescriber(Engine, schema).DescribeAsync("acme", null, "city", CheckNow, CancellationToken.None)).Properties);
        Assert.Equal(SchemaDescriber.CaseVariantGroupCount, detail.CaseVariants!.Count);
        Assert.Equal(
            expected.Select(g => string.Join(", ", g)),
            detail.CaseVariants.Select(g => string.Join(", ", g.Select(v => (v.Value, v.Count)))));
        Assert.Equal([("Boston", 4L), ("BOSTON", 3L), ("boston", 2L), ("BOSton", 1L), ("BoStOn", 1L)], detail.CaseVariants[0].Select(v => (v.Value, v.Count)));
        Assert.Contains(detail.CaseVariants, g => g.Select(v => v.Value).SequenceEqual(["École", "école"]));
        Assert.DoesNotContain(detail.CaseVariants, g => g.Any(v => v.Value is "Berlin" or "7" or 7.0 or "Lisbon"));

        // Described among all properties, none is listed; a property without variants lists none.
        Assert.Null(Assert.Single((await new SchemaDescriber(Engine, schema).DescribeAsync("acme", null, null, CheckNow, CancellationToken.None)).Properties).CaseVariants);
        await UpdateAsync(schema, ("p0", -1, "plan", "spremium"), ("p1", -1, "plan", "sfree"));
        Assert.Null(Assert.Single((await new SchemaDescriber(Engine, schema).DescribeAsync("acme", null, "plan", CheckNow, CancellationToken.None)).Properties).CaseVariants);

        // Values that never repeat (an email a profile) are not looked at, even where two differ only in case.
        await UpdateAsync(schema, [.. Enumerable.Range(0, SchemaDescriber.TopValueCount + 10).Select(i => ($"p{i}", -1, "email", $"s{(i == 0 ? "ANN" : "ann")}{(i < 2 ? 0 : i)}@example.com"))]);
        var email = Assert.Single((await new SchemaDescriber(Engine, schema).DescribeAsync("acme", null, "email", CheckNow, CancellationToken.None)).Properties);
        Assert.Null(email.TopValues);
        Assert.Null(email.CaseVariants);
    }

    [Fact]
    public async Task A_described_metric_lists_each_event_propertys_texts_differing_only_in_case()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var events = new (string Category, string Brand)[]
        {
            ("sShoes", "sAcme"), ("sShoes", "sacme"), ("sshoes", "sAcme"), ("sSHOES", "sZeta"), ("sHats", "sZeta"), ("n7", "sZETA"), ("shats", "sZeta"),
        };
        var rows = new StringBuilder();
        for (var i = 0; i < events.Length; i++)
        {
            rows.Append(CultureInfo.InvariantCulture, $"{{\"tenant\":\"acme\",\"metric\":\"Viewed Product\",\"profile_id\":\"p{i}\",\"ts\":\"2026-11-{10 + i} 10:00:00.000\",\"value\":null,\"properties\":{{\"category\":\"{events[i].Category}\",\"brand\":\"{events[i].Brand}\",\"sku\":\"s{i}\"}}}}\n");
        }

        await Engine.InsertJsonEachRowAsync(schema.Events, Encoding.UTF8.GetBytes(rows.ToString()), null);
        var metric = Assert.Single((await new SchemaDescriber(Engine, schema).DescribeAsync("acme", "Viewed Product", null, CheckNow, CancellationToken.None)).Metrics);

        IEnumerable<string> Groups(string name) =>
            Assert.Single(metric.Properties, p => p.Name == name).CaseVariants!.Select(g => string.Join(", ", g.Select(v => $"{v.Value}={v.Count}")));

        Assert.Equal(["Shoes=2, SHOES=1, shoes=1", "Hats=1, hats=1"], Groups("category"));
        Assert.Equal(["Zeta=3, ZETA=1", "Acme=2, acme=1"], Groups("brand"));
        Assert.Null(Assert.Single(metric.Properties, p => p.Name == "sku").CaseVariants);
    }
}
