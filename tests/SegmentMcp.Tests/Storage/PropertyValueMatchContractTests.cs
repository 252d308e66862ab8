using System.Text;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Storage;

/// <summary>
/// A text given as a profile id that is a property value instead (an email address, a city): the profiles that have it
/// now when only a few ever had it, a count when many did; case and white space slips undone; other tenants, values
/// moved away from and future-dated updates left out.
/// </summary>
public abstract partial class EngineContractTests
{
    [Fact]
    public async Task A_property_value_given_as_an_id_names_its_few_current_holders_or_counts_a_crowd()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var crowd = Enumerable.Range(1, ProfileReader.FewHolders + 3).Select(i => ($"p{i}", -9, "city", "sBoston")).ToArray();
        await UpdateAsync(
            schema,
            [
                .. crowd,
                ("p1", -9, "email", "sAnn@x.com"),
                ("p2", -9, "email", "sbob@x.com"), ("p2", -2, "email", "sbob@y.com"),
                ("p3", 5, "email", "szed@x.com"),
                ("p4", -9, "nickname", "sann@x.com"),
                ("p5", -9, "email", "stwin@x.com"), ("p6", -9, "email", "stwin@x.com"),
                ("p7", -9, "code", "n42"),
            ]);
        await Engine.InsertJsonEachRowAsync(
            schema.ProfileUpdates,
            Encoding.UTF8.GetBytes("{\"tenant\":\"other\",\"profile_id\":\"x\",\"updated_at\":\"2026-11-10 10:00:00.000\",\"properties\":{\"email\":\"sann@x.com\"}}\n"),
            null);
        var reader = new ProfileReader(Engine, schema);

        async Task<string> MatchesAsync(string text) => string.Join(
            "; ",
            (await reader.PropertyValueMatchesAsync("acme", text, CheckNow, CancellationToken.None))
                .Select(m => $"{m.Property}={m.Value} {m.ProfilesEver} [{string.Join(",", m.Holders)}]"));

        // "ann@x.com" is p4's nickname as typed and p1's email capitalised: both, fewest holders first, then by name.
        Assert.Equal("email=Ann@x.com 1 [p1]; nickname=ann@x.com 1 [p4]", await MatchesAsync(" ann@x.com"));
        Assert.Equal("email=twin@x.com 2 [p5,p6]", await MatchesAsync("twin@x.com"));
        Assert.Equal($"city=Boston {crowd.Length} []", await MatchesAsync("boston"));

        // p2 has moved to another address; p3's arrives in five days; a number is no text someone takes for an id.
        Assert.Equal(string.Empty, await MatchesAsync("bob@x.com"));
        Assert.Equal(string.Empty, await MatchesAsync("zed@x.com"));
        Assert.Equal(string.Empty, await MatchesAsync("42"));
        Assert.Equal(string.Empty, await MatchesAsync("  "));
    }
}
