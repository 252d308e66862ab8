using System.Globalization;
using System.Text;
using SegmentMcp.Core.Ingest;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Ingest;

/// <summary>
/// JSON records exported by other tools (a tracking library's userId/event/traits) load through a
/// <see cref="FieldMap"/> as the same rows as records written with the field names, whichever reading path they take;
/// a record lacking a field is answered with the key it has instead.
/// </summary>
[Trait("Category", "Engine")]
public sealed class IngestFieldMapTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 8, 30, 0, TimeSpan.Zero);

    /// <summary>Track calls: identified (userId) or not (userId null, anonymousId), one without an event name.</summary>
    private static readonly string[] TrackCalls =
    [
        """{"type":"track","event":"Order Completed","userId":"u1","anonymousId":"a1","timestamp":"2026-11-20T10:00:00Z","revenue":30,"properties":{"currency":"USD"}}""",
        """{"type":"track","anonymousId":"a2","userId":null,"event":"Order Completed","timestamp":"2026-11-21T10:00:00Z","properties":{"currency":"EUR"}}""",
        """{"type":"track","userId":"u2","timestamp":"2026-11-22T10:00:00Z"}""",
    ];

    /// <summary>The same events as records written with the field names.</summary>
    private static readonly string[] TrackRows =
    [
        """{"profile_id":"u1","metric":"Order Completed","timestamp":"2026-11-20T10:00:00Z","value":30,"properties":{"currency":"USD"}}""",
        """{"profile_id":"a2","metric":"Order Completed","timestamp":"2026-11-21T10:00:00Z","properties":{"currency":"EUR"}}""",
        """{"profile_id":"u2","metric":"Tracked","timestamp":"2026-11-22T10:00:00Z"}""",
    ];

    /// <summary>Identify calls as a JSON array; the last uses the field names, as a second export might.</summary>
    private const string IdentifyCalls = """
        [
          {"type": "identify", "userId": "u1", "traits": {"city": "Boston", "plan": "pro"}, "timestamp": "2026-11-01T00:00:00Z"},
          {"type": "identify", "userId": "u2", "traits": null, "properties": {"city": "Denver"}, "timestamp": "2026-11-02T00:00:00Z"},
          {"profile_id": "u3", "properties": {"city": "Rome"}, "updated_at": "2026-11-03T00:00:00Z"}
        ]
        """;

    private static readonly string[] IdentifyRows =
    [
        """{"profile_id":"u1","properties":{"city":"Boston","plan":"pro"},"updated_at":"2026-11-01T00:00:00Z"}""",
        """{"profile_id":"u2","properties":{"city":"Denver"},"updated_at":"2026-11-02T00:00:00Z"}""",
        """{"profile_id":"u3","properties":{"city":"Rome"},"updated_at":"2026-11-03T00:00:00Z"}""",
    ];

    // Several keys for one field: the first a record holds other than null is read.
    private static readonly FieldMap TrackingLibrary = new(
        [("profile_id", "userId"), ("profile_id", "anonymousId"), ("metric", "event"), ("value", "revenue"), ("properties", "traits"), ("updated_at", "timestamp")],
        Metric: "Tracked");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Mapped_records_land_as_the_rows_the_field_names_give_in_every_reading_path(bool inParallel)
    {
        var engine = TestEngines.Embedded;
        var mappedSchema = await TestEngines.NewSchemaAsync(engine);
        var namedSchema = await TestEngines.NewSchemaAsync(engine);
        var options = new IngestOptions { Company = "acme", Now = Now, ParallelValidationMinBytes = inParallel ? 1 : 1L << 30 };

        // NDJSON checked in slices in parallel, or read once (standard input, copied aside while it is checked);
        // and a JSON array of records.
        using var stdin = new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", TrackCalls) + "\n"));
        var track = (inParallel ? Source("track.ndjson", string.Join("\n", TrackCalls)) : IngestSource.OneShot("stdin", stdin)).WithMap(TrackingLibrary);
        var identify = Source("identify.json", IdentifyCalls).AsJsonArray(TrackingLibrary);
        var mapped = await new NdjsonIngestor(engine, mappedSchema, options).IngestAsync(track, identify);
        await new NdjsonIngestor(engine, namedSchema, options).IngestAsync(
            Source("events.ndjson", string.Join("\n", TrackRows)), Source("profiles.ndjson", string.Join("\n", IdentifyRows)));

        Assert.False(mapped.Rejected, string.Join("\n", mapped.Errors));
        Assert.Equal((3, 3), (mapped.EventsWritten, mapped.ProfilesWritten));
        foreach (var (sql, table) in new[]
        {
            ("SELECT tenant, profile_id, metric, toString(ts), value, toJSONString(mapSort(properties)) FROM {0} ORDER BY ts", (Func<StorageSchema, string>)(s => s.Events)),
            ("SELECT tenant, profile_id, property, value, toString(updated_at) FROM {0} ORDER BY profile_id, property", s => s.Traits),
        })
        {
            var expected = await Rows(engine, string.Format(CultureInfo.InvariantCulture, sql, table(namedSchema)));
            Assert.Equal(3, expected.Select(r => r[1]).Distinct().Count());
            Assert.Equal(expected, await Rows(engine, string.Format(CultureInfo.InvariantCulture, sql, table(mappedSchema))));
        }
    }

    [Fact]
    public async Task A_record_lacking_a_field_is_told_the_key_it_has_instead_or_the_mapped_key_it_lacks()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var options = new IngestOptions { Company = "acme", DryRun = true };

        var unmapped = await new NdjsonIngestor(engine, schema, options).IngestAsync(
            Source("events.ndjson", string.Join("\n", TrackCalls[0], TrackCalls[1], """{"user id":"u1","name":"Signed Up","time":"2026-11-20T10:00:00Z","id":"e1"}""", """{"id":"e1","event_type":"Viewed","ts":"2026-11-20T10:00:00Z"}""")),
            Source("profiles.ndjson", string.Join("\n", """{"id":"u1","$set":{"city":"Boston"}}""", """{"user_id":"u1","city":"Boston"}""", """{"$distinct_id":"u1","$properties":{"$city":"Boston"}}""")));
        Assert.Equal(
            [
                "line 1: missing field 'profile_id' (the record has 'userId': --map profile_id=userId reads it); missing field 'metric' (the record has 'event': --map metric=event reads it)",
                "line 2: missing field 'profile_id' (the record has 'anonymousId': --map profile_id=anonymousId reads it); missing field 'metric' (the record has 'event': --map metric=event reads it)",
                "line 3: missing field 'profile_id' (the record has 'user id': --map profile_id='user id' reads it); missing field 'metric' (the record has 'name': --map metric=name reads it); missing field 'timestamp' (the record has 'time': --map timestamp=time reads it)",
                "line 4: missing field 'profile_id'; missing field 'metric' (the record has 'event_type': --map metric=event_type reads it); missing field 'timestamp' (the record has 'ts': --map timestamp=ts reads it)",
                "line 1: missing field 'profile_id' (the record has 'id': --map profile_id=id reads it); missing field 'properties' (the record has '$set': --map properties='$set' reads it)",
                "line 2: missing field 'profile_id' (the record has 'user_id': --map profile_id=user_id reads it); missing field 'properties'",
                "line 3: missing field 'profile_id' (the record has '$distinct_id': --map profile_id='$distinct_id' reads it); missing field 'properties' (the record has '$properties': --map properties='$properties' reads it)",
            ],
            unmapped.Errors.Select(e => e.ToString()));

        var map = new FieldMap([("profile_id", "userId"), ("profile_id", "anonymousId"), ("timestamp", "time")]);
        var lacking = await new NdjsonIngestor(engine, schema, options).IngestAsync(
            Source("events.ndjson", string.Join("\n", """{"userId":null,"metric":"M","time":"2026-11-20T10:00:00Z"}""", """{"userId":7,"metric":"M","time":"2026-11-20"}""", """{"userId":"u1","metric":"M","time":"soon"}""", """{"userId":"u1","userId":"u2","metric":"M","time":"2026-11-20"}""")).WithMap(map),
            null);
        Assert.Equal(
            [
                "line 1: missing field 'userId' or 'anonymousId' (read as profile_id, --map)",
                "line 2: field 'userId' must be a string, not a number",
                "line 3: field 'time' is not an ISO-8601 timestamp between 1900 and 2299: \"soon\"",
                "line 4: duplicate field 'userId'",
            ],
            lacking.Errors.Select(e => e.ToString()));
        Assert.Equal(0L, Convert.ToInt64((await engine.QueryAsync(new SqlStatement($"SELECT count() FROM {schema.Events}"))).Rows[0][0], CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Fields_kept_inside_an_object_are_read_from_it_and_are_no_properties()
    {
        var engine = TestEngines.Embedded;
        var mappedSchema = await TestEngines.NewSchemaAsync(engine);
        var namedSchema = await TestEngines.NewSchemaAsync(engine);
        var options = new IngestOptions { Company = "acme", Now = Now };

        // An analytics export keeping the user's id and the time (in seconds) inside the properties; another tool's
        // user id inside a context object that is no field.
        string[] exported =
        [
            """{"event":"Signed Up","properties":{"time":1763632800,"distinct_id":"u1","$city":"Boston","plan":"pro"}}""",
            """{"event":"Viewed Page","properties":{"$city":"Denver","distinct_id":"u2","time":1763632900.5}}""",
            """{"event":"Viewed Page","context":{"ip":"10.0.0.1","user":"u3"},"properties":{"time":1763633000}}""",
        ];
        string[] named =
        [
            """{"profile_id":"u1","metric":"Signed Up","timestamp":"2025-11-20T10:00:00Z","properties":{"$city":"Boston","plan":"pro"}}""",
            """{"profile_id":"u2","metric":"Viewed Page","timestamp":"2025-11-20T10:01:40.5Z","properties":{"$city":"Denver"}}""",
            """{"profile_id":"u3","metric":"Viewed Page","timestamp":"2025-11-20T10:03:20Z"}""",
        ];
        var map = new FieldMap([("metric", "event"), ("profile_id", "properties.distinct_id"), ("profile_id", "context.user"), ("timestamp", "properties.time")]);

        var mapped = await new NdjsonIngestor(engine, mappedSchema, options).IngestAsync(Source("export.ndjson", string.Join("\n", exported)).WithMap(map), null);
        await new NdjsonIngestor(engine, namedSchema, options).IngestAsync(Source("events.ndjson", string.Join("\n", named)), null);

        Assert.False(mapped.Rejected, string.Join("\n", mapped.Errors));
        const string Sql = "SELECT profile_id, metric, toString(ts), toJSONString(mapSort(properties)) FROM {0} ORDER BY ts";
        var expected = await Rows(engine, string.Format(CultureInfo.InvariantCulture, Sql, namedSchema.Events));
        Assert.Equal(3, expected.Count);
        Assert.Equal(expected, await Rows(engine, string.Format(CultureInfo.InvariantCulture, Sql, mappedSchema.Events)));

        // Unmapped, the hints name the members; mapped, a record without the member names the path it lacks.
        var dryRun = options with { DryRun = true };
        var unmapped = await new NdjsonIngestor(engine, mappedSchema, dryRun).IngestAsync(Source("export.ndjson", exported[0]), null);
        Assert.Equal(
            "line 1: missing field 'profile_id' (the record has 'properties.distinct_id': --map profile_id=properties.distinct_id reads it); missing field 'metric' (the record has 'event': --map metric=event reads it); missing field 'timestamp' (the record has 'properties.time': --map timestamp=properties.time reads it)",
            Assert.Single(unmapped.Errors).ToString());
        var lacking = await new NdjsonIngestor(engine, mappedSchema, dryRun).IngestAsync(
            Source("export.ndjson", string.Join("\n", """{"event":"M","properties":{"distinct_id":"u1"}}""", """{"event":"M","properties":{"distinct_id":"u1","time":"later"}}""", """{"event":"M","properties":{"distinct_id":"u1","time":1763632800,"time":1763632801}}""")).WithMap(map),
            null);
        Assert.Equal(
            [
                "line 1: missing field 'properties.time' (read as timestamp, --map)",
                "line 2: field 'properties.time' is not an ISO-8601 timestamp between 1900 and 2299: \"later\"",
                "line 3: duplicate field 'properties.time'",
            ],
            lacking.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public async Task Flattened_object_properties_land_as_a_property_per_member_at_any_depth()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var options = new IngestOptions { Company = "acme", Now = Now, FlattenProperties = true };

        var result = await new NdjsonIngestor(engine, schema, options).IngestAsync(
            Source("events.ndjson", """{"profile_id":"u1","metric":"Placed Order","timestamp":"2026-11-20T10:00:00Z","properties":{"item":{"sku":"A1","price":{"amount":30,"currency":"USD"},"gift":null},"tags":["x",{"y":1}],"empty":{}}}"""),
            Source("profiles.ndjson", """{"profile_id":"u1","properties":{"address":{"city":"Boston","zip":"02134","geo":{"lat":42.35}},"plan":"pro","old":{"field":null}}}"""));

        Assert.False(result.Rejected, string.Join("\n", result.Errors));
        Assert.Equal(
            """{"item.price.amount":"n30","item.price.currency":"sUSD","item.sku":"sA1","tags":"s[\"x\",{\"y\":1}]"}""",
            Assert.Single(await Rows(engine, $"SELECT toJSONString(mapSort(properties)) FROM {schema.Events}"))[0]);
        Assert.Equal(
            ["address.city=sBoston", "address.geo.lat=n42.35", "address.zip=s02134", "old.field=", "plan=spro"],
            (await Rows(engine, $"SELECT property, value FROM {schema.ProfileUpdates} ARRAY JOIN mapKeys(properties) AS property, mapValues(properties) AS value ORDER BY property")).Select(r => $"{r[0]}={r[1]}"));

        // Without the option, the object is one property holding its JSON text.
        var whole = await TestEngines.NewSchemaAsync(engine);
        await new NdjsonIngestor(engine, whole, options with { FlattenProperties = false }).IngestAsync(
            null, Source("profiles.ndjson", """{"profile_id":"u1","properties":{"address":{"city":"Boston"}}}"""));
        Assert.Equal("""s{"city":"Boston"}""", Assert.Single(await Rows(engine, $"SELECT properties['address'] FROM {whole.ProfileUpdates}"))[0]);
    }

    private static IngestSource Source(string name, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text + "\n");
        return IngestSource.Reopenable(name, () => new MemoryStream(bytes, writable: false));
    }

    private static async Task<List<object?[]>> Rows(IClickHouseEngine engine, string sql) =>
        [.. (await engine.QueryAsync(new SqlStatement(sql))).Rows];
}
