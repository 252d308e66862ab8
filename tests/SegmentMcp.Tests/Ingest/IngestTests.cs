using System.Globalization;
using System.Text;
using SegmentMcp.Core.Ingest;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Tests.Ingest;

[Trait("Category", "Engine")]
public class IngestTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 8, 30, 0, TimeSpan.Zero);

    [Fact]
    public async Task Good_events_land_with_tagged_properties_and_utc_timestamps()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var events = Lines(
            """{"company_id":"acme","profile_id":"p1","metric":"Placed Order","timestamp":"2026-11-20T10:00:00Z","value":42.5,"properties":{"category":"shoes","qty":2,"gift":true,"coupon":null,"tags":["a","b"],"size":{"eu":42}}}""",
            """{"company_id":"acme","profile_id":"p2","metric":"Viewed Product","timestamp":"2026-11-20T12:30:15.1239+02:00"}""",
            "",
            """{"metric":"Opened Email","timestamp":"2026-11-21","profile_id":"p\u00e9\"q","company_id":"acme","value":null,"properties":{"subject":"Say \"hi\"\n"},"event_id":"ignored"}""");

        var result = await new NdjsonIngestor(engine, schema).IngestAsync(events, null);

        Assert.False(result.Rejected);
        Assert.Equal(3, result.EventsWritten);
        var rows = await Rows(engine, $"SELECT tenant, metric, profile_id, toString(ts), value, toJSONString(mapSort(properties)) FROM {schema.Events} ORDER BY ts");
        AssertRows(
            [
                ["acme", "Placed Order", "p1", "2026-11-20 10:00:00.000", 42.5, """{"category":"sshoes","gift":"btrue","qty":"n2","size":"s{\"eu\":42}","tags":"s[\"a\",\"b\"]"}"""],
                ["acme", "Viewed Product", "p2", "2026-11-20 10:30:15.123", null, "{}"],
                ["acme", "Opened Email", "pé\"q", "2026-11-21 00:00:00.000", null, """{"subject":"sSay \"hi\"\n"}"""],
            ],
            rows);
        var profiles = await Rows(engine, $"SELECT profile_id, toString(min(first_seen)) FROM {schema.Profiles} GROUP BY profile_id ORDER BY profile_id");
        Assert.Equal(3, profiles.Count);
    }

    [Fact]
    public async Task Escaped_and_long_text_lands_unescaped_in_every_column()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var longEscaped = string.Concat(Enumerable.Repeat("\\u00e9\\\"", 150));
        var longText = string.Concat(Enumerable.Repeat("é\"", 150));
        var events = Lines(
            $$$"""{"company_id":"ac\u006de","profile_id":"Zürich \/ p","metric":"M\t1","timestamp":"1969-12-31T23:59:59.999Z","value":-0.5e3,"properties":{"k\u00e9y":"{{{longEscaped}}}","":"","n":1E+2}}""");

        var result = await new NdjsonIngestor(engine, schema).IngestAsync(events, null);

        Assert.Equal(1, result.EventsWritten);
        var rows = await Rows(engine, $"SELECT tenant, profile_id, metric, toString(ts), value, properties['kéy'], properties[''], properties['n'], length(properties) FROM {schema.Events}");
        Assert.Equal("acme|Zürich / p|M\t1|1969-12-31 23:59:59.999|-500|s" + longText + "|s|n1E+2|3", string.Join("|", Assert.Single(rows)));
    }

    [Fact]
    public async Task Profile_updates_keep_json_types_and_null_removes_the_trait()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var profiles = Lines(
            """{"company_id":"acme","profile_id":"p1","properties":{"city":"Boston","birthday":"1990-05-01","age":34,"vip":false},"updated_at":"2026-11-20T10:00:00Z"}""",
            """{"company_id":"acme","profile_id":"p1","properties":{"city":null,"age":35.0},"updated_at":"2026-11-21T10:00:00Z"}""",
            """{"company_id":"acme","profile_id":"p2","properties":{"plan":"gold"}}""");

        var result = await new NdjsonIngestor(engine, schema, new IngestOptions { Now = Now }).IngestAsync(null, profiles);

        Assert.Equal(3, result.ProfilesWritten);
        var latest = await Rows(
            engine,
            $"SELECT profile_id, property, argMax(value, (updated_at, ingested_at)), toString(max(updated_at)) FROM {schema.Traits} WHERE tenant = {{t:String}} GROUP BY profile_id, property ORDER BY profile_id, property",
            new SqlParameter("t", "String", "acme"));
        AssertRows(
            [
                ["p1", "age", "n35.0", "2026-11-21 10:00:00.000"],
                ["p1", "birthday", "s1990-05-01", "2026-11-20 10:00:00.000"],
                ["p1", "city", string.Empty, "2026-11-21 10:00:00.000"],
                ["p1", "vip", "bfalse", "2026-11-20 10:00:00.000"],
                ["p2", "plan", "sgold", "2026-12-01 08:30:00.000"],
            ],
            latest);
    }

    [Fact]
    public async Task A_bad_line_rejects_the_whole_input_and_every_bad_line_is_reported()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var reported = new List<string>();
        var events = Lines(
            """{"company_id":"acme","profile_id":"p1","metric":"Viewed Product","timestamp":"2026-11-20T10:00:00Z"}""",
            """{"company_id":"acme","profile_id":"p1","metric":"Viewed Product",""",
            """{"company_id":"acme","profile_id":"p1","timestamp":"2026-11-20T10:00:00Z"}""",
            """{"company_id":"acme","profile_id":"p1","metric":"Placed Order","timestamp":"2026-11-20T10:00:00Z","value":"42"}""",
            """{"company_id":"acme","profile_id":"p1","metric":"Placed Order","timestamp":"20/11/2026"}""",
            """{"company_id":"acme","profile_id":"","metric":"Placed Order","timestamp":"2026-11-20T10:00:00Z"}""",
            """{"profile_id":"p1","metric":"Placed Order","timestamp":"2026-11-20T10:00:00Z"}""",
            """[1,2]""",
            """{"company_id":"acme","profile_id":7,"metric":"Placed Order","timestamp":"2026-11-20T10:00:00Z"}""",
            """{"company_id":"acme","profile_id":"p1","metric":"Placed Order","timestamp":"2026-11-20T10:00:00Z","properties":[]}""",
            """{"company_id":"acme","profile_id":"p1","metric":"Placed Order","timestamp":"2026-02-30T10:00:00Z"}""",
            """{"company_id":"acme","profile_id":"p1","metric":"A","metric":"B","timestamp":"2026-11-20T10:00:00Z"}""");
        var profiles = Lines(
            """{"company_id":"acme","profile_id":"p1","properties":{"city":"Boston"}}""",
            """{"company_id":"acme","profile_id":"p1"}""",
            """{"company_id":"acme","profile_id":"p1","properties":{},"updated_at":"soon"}""");

        var result = await new NdjsonIngestor(engine, schema, new IngestOptions { OnError = e => reported.Add(e.ToString()) }).IngestAsync(events, profiles);

        Assert.True(result.Rejected);
        Assert.Equal(0, result.RowsWritten);
        string[] expected =
        [
            "line 2: not valid JSON at column 65",
            "line 3: missing field 'metric'",
            "line 4: field 'value' must be a number or null, not a string",
            "line 5: field 'timestamp' is not an ISO-8601 timestamp between 1900 and 2299: \"20/11/2026\"",
            "line 6: field 'profile_id' is empty",
            "line 7: missing field 'company_id' (or pass --company)",
            "line 8: expected a JSON object, not an array: a file holding one JSON array of records is read with --format json",
            "line 9: field 'profile_id' must be a string, not a number",
            "line 10: field 'properties' must be an object, not an array",
            "line 11: field 'timestamp' is not an ISO-8601 timestamp between 1900 and 2299: \"2026-02-30T10:00:00Z\"",
            "line 12: duplicate field 'metric'",
            "line 2: missing field 'properties'",
            "line 3: field 'updated_at' is not an ISO-8601 timestamp between 1900 and 2299: \"soon\"",
        ];
        Assert.Equal(expected, reported);
        Assert.Equal(expected, result.Errors.Select(e => e.ToString()));
        Assert.Equal(13, result.InvalidLines);
        Assert.Equal(0L, await Count(engine, schema.Events));
        Assert.Equal(0L, await Count(engine, schema.ProfileUpdates));
    }

    [Fact]
    public async Task Csv_lands_as_the_same_rows_as_the_ndjson_it_stands_for_and_again_writes_nothing()
    {
        var engine = TestEngines.Embedded;
        var csvSchema = await TestEngines.NewSchemaAsync(engine);
        var ndjsonSchema = await TestEngines.NewSchemaAsync(engine);
        var csvEvents = Csv(
            "events.csv",
            "profile_id,metric,timestamp,value,category,gift",
            "p1,Placed Order,2026-11-20T10:00:00Z,42.5,shoes,true",
            "p2,Opened Email,2026-10-02T08:00:00+02:00,,\"Sale, \"\"50%\"\"\",",
            "p1,Placed Order,2026-09-01T00:00:00Z,7,,FALSE");
        var ndjsonEvents = Lines(
            """{"profile_id":"p1","metric":"Placed Order","timestamp":"2026-11-20T10:00:00Z","value":42.5,"properties":{"category":"shoes","gift":true}}""",
            """{"profile_id":"p2","metric":"Opened Email","timestamp":"2026-10-02T08:00:00+02:00","properties":{"category":"Sale, \"50%\""}}""",
            """{"profile_id":"p1","metric":"Placed Order","timestamp":"2026-09-01T00:00:00Z","value":7,"properties":{"gift":false}}""");
        var csvProfiles = Csv(
            "profiles.csv",
            "profile_id;city;age;zip;updated_at",
            "p1;Boston;34;02134;2026-11-20T10:00:00Z",
            "p2;\"New\nYork\";;10001;");
        var ndjsonProfiles = Lines(
            """{"profile_id":"p1","properties":{"city":"Boston","age":34,"zip":"02134"},"updated_at":"2026-11-20T10:00:00Z"}""",
            """{"profile_id":"p2","properties":{"city":"New\nYork","zip":10001}}""");
        var options = new IngestOptions { Company = "acme", Now = Now };

        var fromCsv = await new NdjsonIngestor(engine, csvSchema, options).IngestAsync(csvEvents, csvProfiles);
        await new NdjsonIngestor(engine, ndjsonSchema, options).IngestAsync(ndjsonEvents, ndjsonProfiles);
        var again = await new NdjsonIngestor(engine, csvSchema, options).IngestAsync(csvEvents, csvProfiles);

        Assert.False(fromCsv.Rejected);
        Assert.Equal((3, 2), (fromCsv.EventsWritten, fromCsv.ProfilesWritten));
        Assert.Equal([4L, 4L], fromCsv.Sources.Select(s => s.Lines)); // the CSV's own lines: a value spans two
        const string EventRows = "SELECT tenant, profile_id, metric, toString(ts), value, toJSONString(mapSort(properties)) FROM {0} ORDER BY ts";
        const string TraitRows = "SELECT tenant, profile_id, property, value, toString(updated_at) FROM {0} ORDER BY profile_id, property";
        var events = await Rows(engine, string.Format(CultureInfo.InvariantCulture, EventRows, csvSchema.Events));
        Assert.Equal(3, events.Count);
        Assert.Equal(events, await Rows(engine, string.Format(CultureInfo.InvariantCulture, EventRows, ndjsonSchema.Events)));
        var traits = await Rows(engine, string.Format(CultureInfo.InvariantCulture, TraitRows, csvSchema.Traits));
        Assert.Equal(5, traits.Count);
        Assert.Equal(traits, await Rows(engine, string.Format(CultureInfo.InvariantCulture, TraitRows, ndjsonSchema.Traits)));
        Assert.Equal(5, again.RowsWritten); // sent again; the engine drops the known blocks
        Assert.Equal((3L, 2L, 5L), await Counts(engine, csvSchema));
    }

    [Fact]
    public async Task Times_given_as_numbers_since_1970_land_as_the_iso_times_they_stand_for()
    {
        var engine = TestEngines.Embedded;
        var epochSchema = await TestEngines.NewSchemaAsync(engine);
        var isoSchema = await TestEngines.NewSchemaAsync(engine);
        var options = new IngestOptions { Company = "acme", Now = Now };

        // Seconds (with a fraction), milliseconds and microseconds; the same in a CSV; a profile's updated_at.
        var epochEvents = Lines(
            """{"profile_id":"p1","metric":"Opened Email","timestamp":1763632800}""",
            """{"profile_id":"p1","metric":"Opened Email","timestamp":1763632801.25}""",
            """{"profile_id":"p2","metric":"Opened Email","timestamp":1763632802123}""",
            """{"profile_id":"p2","metric":"Opened Email","timestamp":1763632803123456}""");
        var epochCsv = Csv("orders.csv", "profile_id,metric,timestamp", "p3,Placed Order,1763632804", "p3,Placed Order,1763632805500");
        var epochProfiles = Lines("""{"profile_id":"p1","properties":{"city":"Boston"},"updated_at":1763632800000}""");
        var isoEvents = Lines(
            """{"profile_id":"p1","metric":"Opened Email","timestamp":"2025-11-20T10:00:00Z"}""",
            """{"profile_id":"p1","metric":"Opened Email","timestamp":"2025-11-20T10:00:01.25Z"}""",
            """{"profile_id":"p2","metric":"Opened Email","timestamp":"2025-11-20T10:00:02.123Z"}""",
            """{"profile_id":"p2","metric":"Opened Email","timestamp":"2025-11-20T10:00:03.123Z"}""",
            """{"profile_id":"p3","metric":"Placed Order","timestamp":"2025-11-20T10:00:04Z"}""",
            """{"profile_id":"p3","metric":"Placed Order","timestamp":"2025-11-20T10:00:05.5Z"}""");
        var isoProfiles = Lines("""{"profile_id":"p1","properties":{"city":"Boston"},"updated_at":"2025-11-20T10:00:00Z"}""");

        var fromNumbers = await new NdjsonIngestor(engine, epochSchema, options).IngestAsync(epochEvents, epochProfiles);
        var fromCsv = await new NdjsonIngestor(engine, epochSchema, options).IngestAsync(epochCsv, null);
        await new NdjsonIngestor(engine, isoSchema, options).IngestAsync(isoEvents, isoProfiles);

        Assert.False(fromNumbers.Rejected || fromCsv.Rejected, string.Join("\n", fromNumbers.Errors.Concat(fromCsv.Errors)));
        const string EventRows = "SELECT profile_id, metric, toString(ts) FROM {0} ORDER BY ts";
        const string TraitRows = "SELECT profile_id, property, value, toString(updated_at) FROM {0}";
        var expected = await Rows(engine, string.Format(CultureInfo.InvariantCulture, EventRows, isoSchema.Events));
        Assert.Equal(6, expected.Count);
        Assert.Equal(expected, await Rows(engine, string.Format(CultureInfo.InvariantCulture, EventRows, epochSchema.Events)));
        Assert.Equal(
            await Rows(engine, string.Format(CultureInfo.InvariantCulture, TraitRows, isoSchema.Traits)),
            await Rows(engine, string.Format(CultureInfo.InvariantCulture, TraitRows, epochSchema.Traits)));

        // A date written as digits is not read as seconds in 1970, nor a timestamp's digits as milliseconds in 2612.
        var refused = await new NdjsonIngestor(engine, epochSchema, options with { DryRun = true }).IngestAsync(
            Lines("""{"profile_id":"p1","metric":"M","timestamp":20261120}""", """{"profile_id":"p1","metric":"M","timestamp":20261120100000}""", """{"profile_id":"p1","metric":"M","timestamp":true}"""),
            null);
        Assert.Equal(
            [
                "line 1: field 'timestamp' is the number 20261120, which is no time: a number is read as seconds since 1970 from 1e9 on, milliseconds from 1e12, microseconds from 1e15, nanoseconds from 1e18 (each from 2001-09-09); write other times, or a date like 20261120, in ISO-8601 (2026-11-20)",
                "line 2: field 'timestamp' is the number 20261120100000, which read as milliseconds since 1970 is after 2299",
                "line 3: field 'timestamp' must be an ISO-8601 string or a number of seconds (or milliseconds) since 1970, not a boolean",
            ],
            refused.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public async Task A_bad_csv_record_rejects_the_input_naming_csv_lines_and_a_bad_header_rejects_even_with_skip_invalid()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var events = Csv(
            "events.csv",
            "profile_id,metric,timestamp,note",
            "p1,Placed Order,2026-11-20T10:00:00Z,\"two",
            "lines\"",
            "p2,Placed Order,20/11/2026,x",
            "p3,Placed Order,2026-11-20T10:00:00Z,x,y",
            ",Placed Order,2026-11-20T10:00:00Z,x",
            "p4,Placed Order,2026-11-20T10:00:00Z,");
        var options = new IngestOptions { Company = "acme" };

        var rejected = await new NdjsonIngestor(engine, schema, options).IngestAsync(events, null);
        var skipped = await new NdjsonIngestor(engine, schema, options with { SkipInvalid = true }).IngestAsync(events, null);
        var written = await Count(engine, schema.Events);
        var badHeader = await new NdjsonIngestor(engine, schema, options with { SkipInvalid = true })
            .IngestAsync(events, Csv("profiles.csv", "id,city", "p9,Rome"));

        string[] expected =
        [
            "line 4: field 'timestamp' is not an ISO-8601 timestamp between 1900 and 2299: \"20/11/2026\"",
            "line 5: 5 values where the header has 4 columns (a value holding a comma must be quoted: \"a,b\")",
            "line 6: field 'profile_id' is empty",
        ];
        Assert.True(rejected.Rejected);
        Assert.Equal(expected, rejected.Errors.Select(e => e.ToString()));
        Assert.False(skipped.Rejected);
        Assert.Equal(2, skipped.EventsWritten);
        Assert.Equal(2, written);
        Assert.True(badHeader.Rejected);
        Assert.Equal(
            "line 1: no 'profile_id' column (the header has: id, city); name the column that holds each profile's id profile_id, or say which it is (--map profile_id=COLUMN). The separator read is a comma.",
            Assert.Single(badHeader.Errors).ToString());
        Assert.Equal(0, badHeader.RowsWritten);
        Assert.Equal((2L, 0L), (await Count(engine, schema.Events), await Count(engine, schema.ProfileUpdates)));
    }

    [Fact]
    public async Task Skip_invalid_writes_the_good_lines_and_reports_the_bad()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var events = Lines(
            """{"company_id":"acme","profile_id":"p1","metric":"Viewed Product","timestamp":"2026-11-20T10:00:00Z"}""",
            "not json",
            """{"company_id":"acme","profile_id":"p2","metric":"Viewed Product","timestamp":"2026-11-20T11:00:00Z"}""");

        var result = await new NdjsonIngestor(engine, schema, new IngestOptions { SkipInvalid = true }).IngestAsync(events, null);

        Assert.False(result.Rejected);
        Assert.Equal(2, result.EventsWritten);
        Assert.Equal<string>(["line 2: not valid JSON at column 2"], result.Errors.Select(e => e.ToString()));
        Assert.Equal(1, result.Sources.Single().InvalidLines);
        AssertRows(
            [["p1"], ["p2"]],
            await Rows(engine, $"SELECT profile_id FROM {schema.Events} ORDER BY profile_id"));
    }

    [Fact]
    public async Task Running_the_same_ingest_again_writes_nothing_new()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var events = Enumerable.Range(0, 25).Select(i =>
            $$$"""{"company_id":"acme","profile_id":"p{{{i % 7}}}","metric":"Viewed Product","timestamp":"2026-{{{1 + (i % 12):00}}}-20T10:00:00Z","properties":{"n":{{{i}}}}}""");
        var profiles = Enumerable.Range(0, 9).Select(i => $$$"""{"company_id":"acme","profile_id":"p{{{i}}}","properties":{"rank":{{{i}}},"city":null}}""");
        var options = new IngestOptions { BatchRows = 4 };

        var first = await new NdjsonIngestor(engine, schema, options).IngestAsync(Lines([.. events]), Lines([.. profiles]));
        var counts = await Counts(engine, schema);
        var second = await new NdjsonIngestor(engine, schema, options with { Now = DateTimeOffset.UtcNow.AddHours(1) }).IngestAsync(Lines([.. events]), Lines([.. profiles]));

        // One batch per month (12), and January twice: the open budget (4 batches' worth) closed it before its third row.
        Assert.Equal(13, first.Sources[0].Batches);
        Assert.Equal(3, first.Sources[1].Batches);
        Assert.Equal((25L, 9L, 18L), counts);
        Assert.Equal(counts, await Counts(engine, schema));
        Assert.Equal(34, second.RowsWritten); // sent again; the engine drops the known blocks
    }

    [Fact]
    public async Task Events_ordered_by_profile_are_written_one_month_per_insert()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var events = Enumerable.Range(0, 12).SelectMany(p => Enumerable.Range(1, 6).Select(month =>
            $$$"""{"company_id":"acme","profile_id":"p{{{p}}}","metric":"Viewed Product","timestamp":"2026-{{{month:00}}}-{{{10 + p}}}T10:00:00Z"}"""));
        await engine.ExecuteAsync(new SqlStatement($"SYSTEM STOP MERGES {schema.Events}"));

        var result = await new NdjsonIngestor(engine, schema, new IngestOptions { BatchRows = 5 }).IngestAsync(Lines([.. events]), null);

        // A part belongs to one partition (a month), so as many parts as inserts means no insert spanned two months.
        var parts = await Rows(
            engine,
            "SELECT partition, toInt64(sum(rows)), toInt64(count()) FROM system.parts WHERE database = {db:String} AND table = 'events' AND active GROUP BY partition ORDER BY partition",
            new SqlParameter("db", "String", schema.Database));
        Assert.Equal(72, result.EventsWritten);
        Assert.Equal(Enumerable.Range(1, 6).Select(m => $"2026{m:00}|12"), parts.Select(r => $"{r[0]}|{r[1]}"));
        Assert.Equal(result.Sources[0].Batches, parts.Sum(r => Convert.ToInt64(r[2])));
        Assert.InRange(result.Sources[0].Batches, 18, 30); // 12 rows a month in batches of at most 5
    }

    [Fact]
    public async Task A_crash_between_batches_is_repaired_by_running_again()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var all = Enumerable.Range(0, 10).Select(i =>
            $$"""{"company_id":"acme","profile_id":"p{{i}}","metric":"Clicked Email","timestamp":"2026-03-0{{1 + (i % 9)}}T00:00:00Z"}""").ToArray();
        var options = new IngestOptions { BatchRows = 3 };

        // The first run "crashed" after its first two batches: only those lines reached the engine.
        await new NdjsonIngestor(engine, schema, options).IngestAsync(Lines(all[..6]), null);
        await new NdjsonIngestor(engine, schema, options).IngestAsync(Lines(all), null);

        Assert.Equal(10L, await Count(engine, schema.Events));
        Assert.Equal(10L, await Scalar(engine, $"SELECT uniqExact(profile_id) FROM {schema.Events}"));
    }

    [Fact]
    public async Task A_crash_amid_month_batches_is_repaired_by_running_again()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var events = Enumerable.Range(0, 15).SelectMany(p => Enumerable.Range(1, 8).Select(month =>
            $$$"""{"company_id":"acme","profile_id":"p{{{p}}}","metric":"Viewed Product","timestamp":"2026-{{{month:00}}}-{{{10 + p}}}T10:00:00Z"}"""))
            .ToArray();
        var options = new IngestOptions { BatchRows = 3 };

        // The first run "crashes" once five of its inserts are written: the inserts in flight then fail.
        await using var crashing = new CrashingEngine(engine, insertsBeforeCrash: 5);
        await Assert.ThrowsAsync<IOException>(() => new NdjsonIngestor(crashing, schema, options).IngestAsync(Lines(events), null));
        var afterCrash = await Count(engine, schema.Events);
        var rerun = await new NdjsonIngestor(engine, schema, options).IngestAsync(Lines(events), null);

        Assert.InRange(afterCrash, 1, events.Length - 1);
        Assert.Equal(events.Length, rerun.EventsWritten);
        Assert.Equal((long)events.Length, await Count(engine, schema.Events));
        Assert.Equal((long)events.Length, await Scalar(engine, $"SELECT uniqExact(profile_id, ts) FROM {schema.Events}"));
    }

    [Fact]
    public async Task Company_option_fills_missing_company_ids_and_rejects_other_companies()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var options = new IngestOptions { Company = "demo", SkipInvalid = true };
        var events = Lines(
            """{"profile_id":"p1","metric":"Active on Site","timestamp":"2026-11-20T10:00:00Z"}""",
            """{"company_id":"demo","profile_id":"p2","metric":"Active on Site","timestamp":"2026-11-20T10:00:00Z"}""",
            """{"company_id":"other","profile_id":"p3","metric":"Active on Site","timestamp":"2026-11-20T10:00:00Z"}""");
        var profiles = Lines("""{"profile_id":"p1","properties":{"plan":"free"}}""");

        var result = await new NdjsonIngestor(engine, schema, options).IngestAsync(events, profiles);

        Assert.Equal<string>(["line 3: company_id 'other' differs from --company 'demo'"], result.Errors.Select(e => e.ToString()));
        AssertRows(
            [["demo", "p1"], ["demo", "p2"]],
            await Rows(engine, $"SELECT tenant, profile_id FROM {schema.Events} ORDER BY profile_id"));
        AssertRows([["demo", "p1", "plan", "sfree"]], await Rows(engine, $"SELECT tenant, profile_id, property, value FROM {schema.Traits}"));
    }

    [Fact]
    public async Task Ids_may_have_256_characters_but_not_257()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var ascii256 = new string('a', 256);
        var accented256 = new string('é', 256);
        var escaped256 = string.Concat(Enumerable.Repeat("\\u00e9", 256));
        string Event(string profile, string metric) =>
            $$"""{"company_id":"acme","profile_id":"{{profile}}","metric":"{{metric}}","timestamp":"2026-11-20T10:00:00Z"}""";
        var events = Lines(
            Event(ascii256, "m"),
            Event(accented256, "m"),
            Event(escaped256, ascii256),
            Event(ascii256 + "a", "m"),
            Event("p", accented256 + "é"),
            Event(escaped256 + "\\u00e9", "m"));

        var result = await new NdjsonIngestor(engine, schema, new IngestOptions { SkipInvalid = true }).IngestAsync(events, null);

        Assert.Equal(
            [
                "line 4: field 'profile_id' is longer than 256 characters (257)",
                "line 5: field 'metric' is longer than 256 characters (257)",
                "line 6: field 'profile_id' is longer than 256 characters (257)",
            ],
            result.Errors.Select(e => e.ToString()));
        AssertRows(
            [[256L, 1L], [256L, 256L]],
            await Rows(engine, $"SELECT lengthUTF8(profile_id) AS p, lengthUTF8(metric) FROM {schema.Events} GROUP BY p, metric ORDER BY 1, 2"));
    }

    /// <summary>3,000 lines of events: blank at every 911th, not JSON at every 397th (seven of them).</summary>
    private static byte[] ViewsWithBlankAndBadLines() => Encoding.UTF8.GetBytes(string.Join('\n', Enumerable.Range(1, 3000).Select(i => i % 397 == 0 ? "{\"broken\"" : i % 911 == 0 ? "" :
        $$$"""{"company_id":"acme","profile_id":"p{{{i}}}","metric":"Viewed Product","timestamp":"2026-11-20T10:00:00Z"}""")));

    [Fact]
    public async Task Parallel_validation_reports_the_same_lines_as_a_sequential_pass()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var bytes = ViewsWithBlankAndBadLines();

        var parallel = await new NdjsonIngestor(engine, schema, new IngestOptions { ParallelValidationMinBytes = 1 })
            .IngestAsync(IngestSource.Reopenable("big.ndjson", () => new MemoryStream(bytes, writable: false)), null);
        var sequential = await new NdjsonIngestor(engine, schema)
            .IngestAsync(IngestSource.OneShot("stdin", new MemoryStream(bytes, writable: false)), null);

        var expected = Enumerable.Range(1, 3000).Where(i => i % 397 == 0).Select(i => $"line {i}: not valid JSON at column 10").ToArray();
        Assert.Equal(expected, parallel.Errors.Select(e => e.ToString()));
        Assert.Equal(expected, sequential.Errors.Select(e => e.ToString()));
        Assert.True(parallel.Rejected);
        Assert.Equal(0L, await Count(engine, schema.Events));
    }

    [Fact]
    public async Task A_dry_run_counts_the_rows_a_run_would_write_and_the_bad_lines_in_parallel_and_in_sequence_and_writes_nothing()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var bytes = ViewsWithBlankAndBadLines();
        var csv = Encoding.UTF8.GetBytes("profile_id,city\np1,Boston\np2\n\np3,Rome\n");

        var parallel = await new NdjsonIngestor(engine, schema, new IngestOptions { Company = "acme", ParallelValidationMinBytes = 1, DryRun = true })
            .IngestAsync(IngestSource.Reopenable("big.ndjson", () => new MemoryStream(bytes, writable: false)), IngestSource.Reopenable("people.csv", () => new MemoryStream(csv, writable: false)).AsCsv());
        var sequential = await new NdjsonIngestor(engine, schema, new IngestOptions { DryRun = true, SkipInvalid = true })
            .IngestAsync(IngestSource.OneShot("stdin", new MemoryStream(bytes, writable: false)), null);

        // 3,000 lines: 3 blank (911, 1822, 2733) and 7 bad (397 × 1…7); the csv's line 3 has too few values.
        Assert.False(parallel.Rejected);
        Assert.Equal(
            [(IngestKind.Events, 3000L, 0L, 7L, 2990L), (IngestKind.Profiles, 5L, 0L, 1L, 2L)],
            parallel.Sources.Select(r => (r.Kind, r.Lines, r.RowsWritten, r.InvalidLines, r.ValidRecords)));
        Assert.Equal(8, parallel.InvalidLines);
        Assert.Equal([null, ["city"]], parallel.Sources.Select(r => r.CsvProperties));
        Assert.Equal("line 3: 1 value where the header has 2 columns", parallel.Errors[^1].ToString());
        Assert.Equal((3000L, 7L, 2990L), (sequential.Sources[0].Lines, sequential.Sources[0].InvalidLines, sequential.Sources[0].ValidRecords));
        Assert.Equal(0L, await Count(engine, schema.Events));
        Assert.Equal(0L, await Count(engine, schema.Traits));
    }

    [Fact]
    public async Task A_one_shot_input_like_stdin_is_validated_then_written()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        using var stdin = new MemoryStream(Encoding.UTF8.GetBytes(
            "\uFEFF{\"company_id\":\"acme\",\"profile_id\":\"p1\",\"metric\":\"Received Email\",\"timestamp\":\"2026-11-20T10:00:00Z\"}\r\n" +
            "{\"company_id\":\"acme\",\"profile_id\":\"p2\",\"metric\":\"Received Email\",\"timestamp\":\"2026-11-20T10:00:00Z\"}"));

        var result = await new NdjsonIngestor(engine, schema).IngestAsync(IngestSource.OneShot("stdin", stdin), null);

        Assert.Equal(2, result.EventsWritten);
        Assert.Equal(2L, await Count(engine, schema.Events));
        Assert.True(stdin.CanRead); // the caller's stream is left open
    }

    /// <summary>Passes everything through until a number of inserts are written, then fails every insert.</summary>
    private sealed class CrashingEngine(IClickHouseEngine inner, int insertsBeforeCrash) : IClickHouseEngine
    {
        private int inserts;

        public string Kind => inner.Kind;

        public Task<QueryStatistics> ExecuteAsync(SqlStatement statement, CancellationToken cancellationToken = default) =>
            inner.ExecuteAsync(statement, cancellationToken);

        public Task<QueryResult> QueryAsync(SqlStatement query, CancellationToken cancellationToken = default) =>
            inner.QueryAsync(query, cancellationToken);

        public IAsyncEnumerable<object?[]> StreamAsync(SqlStatement query, CancellationToken cancellationToken = default) =>
            inner.StreamAsync(query, cancellationToken);

        public Task<QueryStatistics> InsertJsonEachRowAsync(
            string table, ReadOnlyMemory<byte> rows, string? deduplicationToken, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref inserts) > insertsBeforeCrash
                ? throw new IOException("the process died")
                : inner.InsertJsonEachRowAsync(table, rows, deduplicationToken, cancellationToken);

        public Task<QueryStatistics> InsertAsync(
            string table, IReadOnlyList<string> columns, string format, ReadOnlyMemory<byte> rows, string? deduplicationToken, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref inserts) > insertsBeforeCrash
                ? throw new IOException("the process died")
                : inner.InsertAsync(table, columns, format, rows, deduplicationToken, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static void AssertRows(object?[][] expected, List<object?[]> actual) => Assert.Equal(expected, actual.ToArray());

    private static IngestSource Lines(params string[] lines)
    {
        var bytes = Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n");
        return IngestSource.Reopenable("test.ndjson", () => new MemoryStream(bytes, writable: false));
    }

    private static IngestSource Csv(string name, params string[] lines)
    {
        var bytes = Encoding.UTF8.GetBytes(string.Join("\r\n", lines) + "\r\n");
        return IngestSource.Reopenable(name, () => new MemoryStream(bytes, writable: false)).AsCsv();
    }

    private static async Task<List<object?[]>> Rows(IClickHouseEngine engine, string sql, params SqlParameter[] parameters) =>
        [.. (await engine.QueryAsync(new SqlStatement(sql, parameters))).Rows];

    private static async Task<long> Scalar(IClickHouseEngine engine, string sql) =>
        Convert.ToInt64((await engine.QueryAsync(new SqlStatement(sql))).Rows[0][0]);

    private static Task<long> Count(IClickHouseEngine engine, string table) => Scalar(engine, $"SELECT count() FROM {table}");

    private static async Task<(long Events, long Updates, long Traits)> Counts(IClickHouseEngine engine, StorageSchema schema) =>
        (await Count(engine, schema.Events), await Count(engine, schema.ProfileUpdates), await Count(engine, schema.Traits));
}
