using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Sql;

/// <summary>
/// Where the compiler reads the current-value table by the key hint alone (<see cref="FilterSql.KeyHintIsExact"/>), the
/// hint must accept exactly the values the test does: both evaluated by the engine over tagged values of every kind.
/// </summary>
[Trait("Category", "Engine")]
public sealed class KeyHintTests
{
    private static readonly string[] TaggedValues =
        ["sBoston", "nBoston", "bBoston", "sboston", "sBoston ", "sParis", "s", "n", "b", "", "btrue", "bfalse", "strue", "n30", "s30", "sBostonia"];

    public static TheoryData<string> ExactFilters() =>
    [
        """{"name": "city", "op": "eq", "value": "Boston"}""",
        """{"name": "city", "op": "in", "value": ["Boston", "Paris"]}""",
        """{"name": "city", "op": "eq", "value": ""}""",
        """{"name": "vip", "op": "eq", "value": true}""",
        """{"name": "vip", "op": "in", "value": [false, "true"]}""",
        """{"name": "city", "op": "eq", "value": "30"}""",
    ];

    [Theory]
    [MemberData(nameof(ExactFilters))]
    public async Task An_exact_hint_accepts_exactly_what_the_test_accepts(string filterJson)
    {
        var filter = ParseFilter(filterJson);
        Assert.True(FilterSql.KeyHintIsExact(filter));

        var now = new DateTime(2026, 11, 20, 12, 0, 0, DateTimeKind.Utc);
        var value = Core.Sql.Sql.Of($"value");
        var hint = FilterSql.KeyHint(filter, value, now)!;
        var test = FilterSql.Predicate(filter, new TaggedValueSql(value), Core.Sql.Sql.Named("now", FilterSql.DateTimeType, now), now);
        var statement = Core.Sql.Sql.Of(
            $"SELECT value, toUInt8({hint}), toUInt8({test}) FROM (SELECT arrayJoin({Core.Sql.Sql.Param("Array(String)", TaggedValues)}) AS value)").ToStatement();

        var rows = (await TestEngines.Embedded.QueryAsync(statement)).Read(row => (Value: row.GetString(0), Hint: row.GetBoolean(1), Test: row.GetBoolean(2)));

        Assert.Equal(TaggedValues.Length, rows.Count);
        Assert.All(rows, row => Assert.True(row.Hint == row.Test, $"'{row.Value}': hint {row.Hint}, test {row.Test}"));
        Assert.Contains(rows, row => row.Test);
    }

    [Fact]
    public void Numbers_and_other_operators_keep_their_test()
    {
        Assert.False(FilterSql.KeyHintIsExact(ParseFilter("""{"name": "age", "op": "eq", "value": 30}""")));
        Assert.False(FilterSql.KeyHintIsExact(ParseFilter("""{"name": "city", "op": "in", "value": ["Boston", 5]}""")));
        Assert.False(FilterSql.KeyHintIsExact(ParseFilter("""{"name": "city", "op": "neq", "value": "Boston"}""")));
        Assert.False(FilterSql.KeyHintIsExact(ParseFilter("""{"name": "signup", "op": "in_last_days", "value": 7}""")));
    }

    private static PropertyFilter ParseFilter(string filterJson)
    {
        var result = SegmentDefinitionJson.Parse("""{"name": "hint", "condition": {"property": """ + filterJson + "}}");
        return ((PropertyCondition)(result.Definition ?? throw new InvalidOperationException(string.Join("; ", result.Errors))).Condition).Filter;
    }
}
