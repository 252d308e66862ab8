using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Storage;

public class ScratchTests
{
    [Fact]
    public async Task Scratch()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var r = await engine.QueryAsync(new SqlStatement("SELECT {a:String} AS a, {n:Int64} AS n, {xs:Array(String)} AS xs, {t:DateTime64(3, 'UTC')} AS t, map('k', 1) AS m, (1, 'x') AS tup, toUInt64(5) AS u, 1.5 AS f, true AS b, NULL AS nn",
            [new SqlParameter("a", "String", "it's a \\ \"test\"\n\ttab"), new SqlParameter("n", "Int64", 42L), new SqlParameter("xs", "Array(String)", new[] { "a'b", "c\\d", "e\nf" }), new SqlParameter("t", "DateTime64(3, 'UTC')", new DateTime(2026, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc))]));
        foreach (var (n, i) in r.ColumnNames.Select((n, i) => (n, i))) Console.WriteLine($"{n} {r.ColumnTypes[i]} {r.Rows[0][i]?.GetType().Name} {System.Text.Json.JsonSerializer.Serialize(r.Rows[0][i])}");
        var rows = new List<object?[]>();
        await foreach (var row in engine.StreamAsync(new SqlStatement("SELECT number, toString(number) FROM numbers(200000)"))) rows.Add(row);
        Console.WriteLine($"streamed {rows.Count}");
        Assert.Equal(200000, rows.Count);
        Console.WriteLine(await schema.ReadVersionAsync(engine));
    }
}
