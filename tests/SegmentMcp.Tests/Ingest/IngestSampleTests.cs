using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using SegmentMcp.Core.Ingest;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Ingest;

/// <summary>
/// A dry run's sample is each input's first good records as a load stores them: the same rows a real load then
/// writes, whichever reading path checked them.
/// </summary>
[Trait("Category", "Engine")]
public sealed class IngestSampleTests
{
    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly DateTimeOffset Now = new(2026, 12, 1, 8, 30, 0, TimeSpan.Zero);

    /// <summary>A spreadsheet's orders: money cells, a time as seconds since 1970, a zip code a number's shape would lose.</summary>
    private static readonly string[] Orders =
    [
        "Email,Order Date,Total,Category,Zip",
        "a@x.com,2026-11-20 10:00,\"$1,234.50\",Shoes,02134",
        "b@x.com,1763632800,12,Hats,10001",
        "c@x.com,2026-11-21,,Bags,",
        "d@x.com,someday,3,Bags,1",
        "e@x.com,2026-11-22T09:30:00+02:00,-4.25,TRUE,",
        "f@x.com,2026-11-23,7,Shoes,",
        "g@x.com,2026-11-24,8,Shoes,",
    ];

    /// <summary>A tracking library's identify calls, flattened: nested members, a removal, a record without a time.</summary>
    private const string People = """
        [
          {"userId": "u1", "traits": {"city": "München", "age": 41, "vip": true, "address": {"zip": "02134", "geo": {"lat": 48.1}}}, "timestamp": "2026-11-01T00:00:00Z"},
          {"userId": "u2", "traits": {"city": null, "tags": ["a", "b"]}},
          {"userId": "u3", "traits": {"plan": "pro"}, "timestamp": 1761955200000}
        ]
        """;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_dry_runs_sample_is_the_first_good_records_as_the_load_then_stores_them(bool inParallel)
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var orders = Bytes(string.Join("\n", Orders));
        var people = Bytes(People);
        var ordersMap = new FieldMap([("profile_id", "Email"), ("timestamp", "Order Date"), ("value", "Total")], Metric: "Placed Order");
        var peopleMap = new FieldMap([("profile_id", "userId"), ("properties", "traits"), ("updated_at", "timestamp")]);
        IngestSource OrdersSource() => IngestSource.Reopenable("orders.csv", () => new MemoryStream(orders, writable: false)).AsCsv(ordersMap);
        IngestSource PeopleSource() => IngestSource.Reopenable("people.json", () => new MemoryStream(people, writable: false)).AsJsonArray(peopleMap);
        var options = new IngestOptions { Company = "acme", Now = Now, FlattenProperties = true, ParallelValidationMinBytes = inParallel ? 1 : 1L << 30 };

        var dryRun = await new NdjsonIngestor(engine, schema, options with { DryRun = true }).IngestAsync(OrdersSource(), PeopleSource());

        Assert.False(dryRun.Rejected);
        var ordersSample = dryRun.Sources[0].Sample!;
        var peopleSample = dryRun.Sources[1].Sample!;
        // Line 5's date is bad, so the five are lines 2, 3, 4, 6 and 7 of the csv.
        Assert.Equal([2L, 3, 4, 6, 7], ordersSample.Select(r => r.Line));
        Assert.Equal([1L, 2, 3], peopleSample.Select(r => r.Line));
        Assert.Equal(
            [
                """{"line":2,"profile_id":"a@x.com","metric":"Placed Order","timestamp":"2026-11-20T10:00:00.000Z","value":1234.5,"properties":{"Category":"Shoes","Zip":"02134"}}""",
                """{"line":3,"profile_id":"b@x.com","metric":"Placed Order","timestamp":"2025-11-20T10:00:00.000Z","value":12,"properties":{"Category":"Hats","Zip":10001}}""",
                """{"line":4,"profile_id":"c@x.com","metric":"Placed Order","timestamp":"2026-11-21T00:00:00.000Z","value":null,"properties":{"Category":"Bags"}}""",
                """{"line":6,"profile_id":"e@x.com","metric":"Placed Order","timestamp":"2026-11-22T07:30:00.000Z","value":-4.25,"properties":{"Category":true}}""",
            ],
            ordersSample.Take(4).Select(r => r.ToJson().ToJsonString(Readable)));
        Assert.Equal(
            [
                """{"record":1,"profile_id":"u1","updated_at":"2026-11-01T00:00:00.000Z","properties":{"city":"München","age":41,"vip":true,"address.zip":"02134","address.geo.lat":48.1}}""",
                """{"record":2,"profile_id":"u2","updated_at":"2026-12-01T08:30:00.000Z","properties":{"city":null,"tags":"[\"a\", \"b\"]"}}""",
                """{"record":3,"profile_id":"u3","updated_at":"2025-11-01T00:00:00.000Z","properties":{"plan":"pro"}}""",
            ],
            peopleSample.Select(r => r.ToJson("record").ToJsonString(Readable)));

        // A real load of the same files stores exactly those rows (the bad line left out).
        var loaded = await new NdjsonIngestor(engine, schema, options with { SkipInvalid = true }).IngestAsync(OrdersSource(), PeopleSource());
        Assert.Equal((6L, 3L), (loaded.EventsWritten, loaded.ProfilesWritten));
        Assert.Null(loaded.Sources[0].Sample);
        var events = await Stored(engine, $"SELECT profile_id, metric, toUnixTimestamp64Milli(ts), value, toJSONString(properties) FROM {schema.Events} ORDER BY profile_id");
        var updates = await Stored(engine, $"SELECT profile_id, '', toUnixTimestamp64Milli(updated_at), NULL, toJSONString(properties) FROM {schema.ProfileUpdates} ORDER BY profile_id");
        Assert.Equal(ordersSample.Select(AsStored), events.Take(5));
        Assert.Equal(peopleSample.Select(AsStored), updates);
    }

    [Fact]
    public async Task A_dry_run_samples_as_many_records_as_asked_and_none_of_a_rejected_input()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var lines = Bytes(string.Join("\n", Enumerable.Range(1, 40).Select(i =>
            $$"""{"profile_id":"p{{i}}","metric":"Viewed","timestamp":"2026-11-20T10:00:00Z"}""")));

        var two = await new NdjsonIngestor(engine, schema, new IngestOptions { Company = "acme", DryRun = true, SampleRecords = 2, ParallelValidationMinBytes = 1 })
            .IngestAsync(IngestSource.Reopenable("views.ndjson", () => new MemoryStream(lines, writable: false)), null);
        Assert.Equal(["p1", "p2"], two.Sources[0].Sample!.Select(r => r.ProfileId));

        var none = await new NdjsonIngestor(engine, schema, new IngestOptions { Company = "acme", DryRun = true, SampleRecords = 0 })
            .IngestAsync(IngestSource.Reopenable("views.ndjson", () => new MemoryStream(lines, writable: false)), null);
        Assert.Empty(none.Sources[0].Sample!);

        // A header without the profile id: no record is read, so none is shown.
        var unreadable = await new NdjsonIngestor(engine, schema, new IngestOptions { Company = "acme", DryRun = true })
            .IngestAsync(null, IngestSource.Reopenable("people.csv", () => new MemoryStream(Bytes("email,city\na@x.com,Rome"), writable: false)).AsCsv());
        Assert.True(unreadable.Rejected);
        Assert.Null(unreadable.Sources[0].Sample);

        Assert.Throws<ArgumentException>(() => new NdjsonIngestor(engine, schema, new IngestOptions { SampleRecords = -1 }));
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text + "\n");

    /// <summary>A sampled record as the row the tables hold: properties as their stored type tag and text.</summary>
    private static (string, string, long, double?, string) AsStored(ParsedRecord record) => (
        record.ProfileId,
        record.Metric ?? string.Empty,
        record.Time.ToUnixTimeMilliseconds(),
        record.Value,
        Sorted(record.Properties.ToDictionary(
            p => p.Name,
            p => p.Type switch
            {
                ParsedValueType.Removed => string.Empty,
                ParsedValueType.Number => "n" + p.Text,
                ParsedValueType.Boolean => "b" + p.Text,
                _ => "s" + p.Text,
            })));

    private static async Task<List<(string, string, long, double?, string)>> Stored(IClickHouseEngine engine, string sql) =>
        [.. (await engine.QueryAsync(new SqlStatement(sql))).Rows.Select(r => (
            (string)r[0]!,
            (string)r[1]!,
            Convert.ToInt64(r[2], CultureInfo.InvariantCulture),
            r[3] is null ? (double?)null : Convert.ToDouble(r[3], CultureInfo.InvariantCulture),
            Sorted(JsonSerializer.Deserialize<Dictionary<string, string>>((string)r[4]!)!)))];

    private static string Sorted(Dictionary<string, string> properties) =>
        string.Join("\u0001", properties.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
}
