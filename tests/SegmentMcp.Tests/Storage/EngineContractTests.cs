using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Storage.Chdb;
using SegmentMcp.Core.Storage.Server;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Tests.Storage;

/// <summary>
/// What every engine adapter must do the same way. Runs once on the embedded engine and once on the
/// clickhouse-server verb reached through ClickHouse.Driver.
/// </summary>
[Trait("Category", "Engine")]
public abstract partial class EngineContractTests
{
    protected abstract IClickHouseEngine Engine { get; }

    public static TheoryData<string> NastyStrings() =>
    [
        "plain",
        "it's \"quoted\"",
        "back\\slash \\N \\t",
        "new\nline\ttab\rreturn",
        "unicode: café 東京 🎉",
        string.Empty,
        "'; DROP TABLE events; --",
        "{p0:String}",
    ];

    [Theory]
    [MemberData(nameof(NastyStrings))]
    public async Task String_parameters_round_trip_exactly(string value)
    {
        var result = await Engine.QueryAsync(new SqlStatement(
            "SELECT {s:String} AS s, length({s:String}) AS n, {xs:Array(String)} AS xs",
            [new SqlParameter("s", "String", value), new SqlParameter("xs", "Array(String)", new[] { value, "x" + value })]));

        Assert.Equal(value, result.Rows[0][0]);
        Assert.Equal((long)System.Text.Encoding.UTF8.GetByteCount(value), result.Rows[0][1]);
        Assert.Equal(new object?[] { value, "x" + value }, (object?[])result.Rows[0][2]!);
    }

    [Fact]
    public async Task An_array_parameter_far_past_a_server_form_field_arrives_whole()
    {
        // A phase-2 chunk: 20,000 candidate ids (here 30 bytes each, 600 KB as a literal; a server takes 128 KiB a
        // form field), read as a constant set by IN and as rows by arrayJoin, with a quote to escape in some.
        var ids = Enumerable.Range(0, 20_000).Select(i => $"profile-{i:D6}-{(i % 7 == 0 ? "o'k" : "abc")}-0123456789").ToArray();
        var wanted = new[] { ids[0], ids[7], ids[19_999], "not-a-candidate" };
        var result = await Engine.QueryAsync(new SqlStatement(
            """
            SELECT length({ids:Array(String)}) AS n, uniqExact(id) AS distinct_ids, groupArraySorted(5)(id) AS first,
                   (SELECT groupArray(w) FROM (SELECT arrayJoin({wanted:Array(String)}) AS w) WHERE w IN {ids:Array(String)}) AS found
            FROM (SELECT arrayJoin({ids:Array(String)}) AS id)
            """,
            [new SqlParameter("ids", "Array(String)", ids), new SqlParameter("wanted", "Array(String)", wanted)]));

        var row = result.Rows[0];
        Assert.Equal(20_000L, row[0]);
        Assert.Equal(20_000L, row[1]);
        Assert.Equal(ids.Order(StringComparer.Ordinal).Take(5).ToArray(), ((object?[])row[2]!).Cast<string>().ToArray());
        Assert.Equal(new[] { ids[0], ids[7], ids[19_999] }, ((object?[])row[3]!).Cast<string>().ToArray());
    }

    [Fact]
    public async Task Typed_values_come_back_in_one_shape()
    {
        var at = new DateTime(2026, 11, 20, 10, 0, 0, 123, DateTimeKind.Utc);
        var result = await Engine.QueryAsync(new SqlStatement(
            """
            SELECT {n:Int64} AS n, toUInt64(7) AS u, {f:Float64} AS f, {t:DateTime64(3, 'UTC')} AS t, true AS b,
                   CAST(NULL, 'Nullable(String)') AS missing, map('k', 1.5) AS m, [1, 2, 3] AS xs, toDate32('1900-01-01') AS d
            """,
            [new SqlParameter("n", "Int64", -42L), new SqlParameter("f", "Float64", 2.5), new SqlParameter("t", "DateTime64(3, 'UTC')", at)]));

        Assert.Equal(["n", "u", "f", "t", "b", "missing", "m", "xs", "d"], result.ColumnNames);
        var row = result.Rows[0];
        Assert.Equal(-42L, row[0]);
        Assert.Equal(7L, row[1]);
        Assert.Equal(2.5, row[2]);
        Assert.Equal(at, row[3]);
        Assert.Equal(DateTimeKind.Utc, ((DateTime)row[3]!).Kind);
        Assert.Equal(true, row[4]);
        Assert.Null(row[5]);
        Assert.Equal(1.5, Assert.IsType<Dictionary<string, object?>>(row[6])["k"]);
        Assert.Equal(new object?[] { 1L, 2L, 3L }, (object?[])row[7]!);
        Assert.Equal(1900, ((DateTime)row[8]!).Year);
    }

    [Fact]
    public async Task Schema_is_idempotent_and_versioned()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        await schema.EnsureCreatedAsync(Engine);

        Assert.Equal(StorageSchema.CurrentVersion, await schema.ReadVersionAsync(Engine));
        var tables = await Engine.QueryAsync(new SqlStatement(
            "SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name",
            [new SqlParameter("db", "String", schema.Database)]));
        var names = tables.Rows.Select(r => (string)r[0]!).ToList();
        Assert.Contains("events", names);
        Assert.Contains("traits", names);
        Assert.Contains("membership_log", names);
    }

    [Fact]
    public async Task Inserts_land_once_per_deduplication_token_and_feed_the_views()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var rows = System.Text.Encoding.UTF8.GetBytes(
            """
            {"tenant":"acme","metric":"Placed Order","profile_id":"p1","ts":"2026-11-20 10:00:00.000","value":42.5,"properties":{"category":"sshoes"}}
            {"tenant":"acme","metric":"Placed Order","profile_id":"p2","ts":"2026-11-21 10:00:00.000","value":null,"properties":{}}

            """);

        await Engine.InsertJsonEachRowAsync(schema.Events, rows, "batch-1");
        await Engine.InsertJsonEachRowAsync(schema.Events, rows, "batch-1");
        await Engine.InsertJsonEachRowAsync(schema.Events, rows, "batch-2");

        var events = await Engine.QueryAsync(new SqlStatement($"SELECT count(), sum(value), countIf(properties['category'] = 'sshoes') FROM {schema.Events}"));
        Assert.Equal(4L, events.Rows[0][0]);
        Assert.Equal(85.0, events.Rows[0][1]);
        Assert.Equal(2L, events.Rows[0][2]);

        var profiles = await Engine.QueryAsync(new SqlStatement(
            $"SELECT profile_id, min(first_seen) FROM {schema.Profiles} WHERE tenant = {{t:String}} GROUP BY profile_id ORDER BY profile_id",
            [new SqlParameter("t", "String", "acme")]));
        Assert.Equal(["p1", "p2"], profiles.Rows.Select(r => (string)r[0]!));
        Assert.Equal(new DateTime(2026, 11, 20, 10, 0, 0, DateTimeKind.Utc), profiles.Rows[0][1]);
    }

    [Fact]
    public async Task Compact_inserts_fill_the_named_columns_in_order_once_per_token()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var rows = System.Text.Encoding.UTF8.GetBytes(
            """
            ["p1","acme","Placed Order","2026-11-20 10:00:00.000",42.5,{"category":"sshoes"}]
            ["p2","acme","Placed Order","2026-11-21 10:00:00.000",null,{}]

            """);
        string[] columns = ["profile_id", "tenant", "metric", "ts", "value", "properties"];

        await Engine.InsertAsync(schema.Events, columns, InsertFormats.JsonCompactEachRow, rows, "compact-1");
        await Engine.InsertAsync(schema.Events, columns, InsertFormats.JsonCompactEachRow, rows, "compact-1");
        await Engine.InsertAsync(schema.Events, columns, InsertFormats.JsonCompactEachRow, rows.AsMemory(0, 0), "compact-empty");

        var events = await Engine.QueryAsync(new SqlStatement(
            $"SELECT profile_id, tenant, value, properties['category'] FROM {schema.Events} ORDER BY profile_id"));
        Assert.Equal(2, events.Rows.Count);
        Assert.Equal(new object?[] { "p1", "acme", 42.5, "sshoes" }, events.Rows[0]);
        Assert.Equal(new object?[] { "p2", "acme", null, string.Empty }, events.Rows[1]);
    }

    [Fact]
    public async Task RowBinary_inserts_fill_the_named_columns()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var row = new List<byte>();
        void Text(string text)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(text);
            row.Add((byte)bytes.Length); // Short strings: a one-byte LEB128 length.
            row.AddRange(bytes);
        }

        Text("acme");
        Text("p1");
        Text("Placed Order");
        row.AddRange(BitConverter.GetBytes(new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds()));
        row.Add(0); // Nullable: not null
        row.AddRange(BitConverter.GetBytes(42.5));
        row.Add(1); // Map: one pair
        Text("category");
        Text("sshoes");

        await Engine.InsertAsync(schema.Events, ["tenant", "profile_id", "metric", "ts", "value", "properties"], InsertFormats.RowBinary, row.ToArray(), "binary-1");

        var events = await Engine.QueryAsync(new SqlStatement($"SELECT tenant, profile_id, metric, toString(ts), value, properties['category'] FROM {schema.Events}"));
        Assert.Equal(new object?[] { "acme", "p1", "Placed Order", "2026-11-20 10:00:00.000", 42.5, "sshoes" }, Assert.Single(events.Rows));
    }

    [Fact]
    public async Task Insert_rejects_bad_rows_and_writes_none_of_the_batch()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var rows = System.Text.Encoding.UTF8.GetBytes(
            """
            ["p1","acme","Placed Order","2026-11-20 10:00:00.000",1,{}]
            ["p2","acme","Placed Order","not a time",2,{}]

            """);
        string[] columns = ["profile_id", "tenant", "metric", "ts", "value", "properties"];

        await Assert.ThrowsAsync<ClickHouseException>(() => Engine.InsertAsync(schema.Events, columns, InsertFormats.JsonCompactEachRow, rows, null));
        var count = await Engine.QueryAsync(new SqlStatement($"SELECT count() FROM {schema.Events}"));
        Assert.Equal(0L, count.Rows[0][0]);

        // The engine stays usable after a failed insert.
        await Engine.InsertAsync(schema.Events, columns, InsertFormats.JsonCompactEachRow, rows.AsMemory(0, rows.AsSpan().IndexOf((byte)'\n') + 1), null);
        count = await Engine.QueryAsync(new SqlStatement($"SELECT count() FROM {schema.Events}"));
        Assert.Equal(1L, count.Rows[0][0]);
    }

    [Fact]
    public async Task Insert_checks_columns_and_formats_before_any_sql()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var rows = System.Text.Encoding.UTF8.GetBytes("[\"x\"]\n");
        await Assert.ThrowsAsync<ArgumentException>(() => Engine.InsertAsync(schema.Events, ["profile_id) SELECT 1 --"], InsertFormats.JsonCompactEachRow, rows, null));
        await Assert.ThrowsAsync<ArgumentException>(() => Engine.InsertAsync(schema.Events, ["profile_id"], "JSONCompactEachRow SETTINGS x=1", rows, null));
        await Assert.ThrowsAsync<ArgumentException>(() => Engine.InsertAsync(schema.Events, ["profile_id"], InsertFormats.JsonCompactEachRow, rows, "bad token'"));
    }

    [Fact]
    public async Task Profile_updates_become_traits_with_the_property_in_the_key()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var rows = System.Text.Encoding.UTF8.GetBytes(
            """
            {"tenant":"acme","profile_id":"p1","updated_at":"2026-11-20 10:00:00.000","properties":{"city":"sBoston","age":"n34"}}
            {"tenant":"acme","profile_id":"p1","updated_at":"2026-11-21 10:00:00.000","properties":{"city":""}}

            """);
        await Engine.InsertJsonEachRowAsync(schema.ProfileUpdates, rows, null);

        var traits = await Engine.QueryAsync(new SqlStatement(
            $"SELECT property, argMax(value, updated_at) FROM {schema.Traits} WHERE tenant = {{t:String}} GROUP BY property ORDER BY property",
            [new SqlParameter("t", "String", "acme")]));
        Assert.Equal(2, traits.Rows.Count);
        Assert.Equal(new object?[] { "age", "n34" }, traits.Rows[0]);
        Assert.Equal(new object?[] { "city", string.Empty }, traits.Rows[1]);
    }

    [Fact]
    public async Task Streams_rows_in_order_without_buffering_them_all()
    {
        var count = 0L;
        await foreach (var row in Engine.StreamAsync(new SqlStatement("SELECT number FROM numbers({n:UInt64})", [new SqlParameter("n", "UInt64", 250_000L)])))
        {
            Assert.Equal(count, row[0]);
            count++;
        }

        Assert.Equal(250_000, count);
    }

    [Fact]
    public async Task Stopping_a_stream_early_leaves_the_engine_usable()
    {
        await foreach (var row in Engine.StreamAsync(new SqlStatement("SELECT number FROM numbers(10000000)")))
        {
            if ((long)row[0]! >= 10)
            {
                break;
            }
        }

        var result = await Engine.QueryAsync(new SqlStatement("SELECT 1"));
        Assert.Equal(1L, result.Rows[0][0]);
    }

    [Fact]
    public async Task Reports_rows_read()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        await Engine.ExecuteAsync(new SqlStatement(
            $"INSERT INTO {schema.Events} (tenant, metric, profile_id, ts) SELECT 'acme', 'Viewed Product', toString(number), now64(3) FROM numbers(100000)"));
        var result = await Engine.QueryAsync(new SqlStatement($"SELECT count() FROM {schema.Events} WHERE cityHash64(profile_id) % 3 = 0"));
        Assert.InRange((long)result.Rows[0][0]!, 30_000, 37_000);
        Assert.True(result.Statistics.RowsRead >= 100_000, $"rows read {result.Statistics.RowsRead}");
    }

    [Fact]
    public async Task Reports_rows_written_by_an_insert_select()
    {
        // A new segment's size is what its log insert wrote: the store counts nothing after it.
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var written = await Engine.ExecuteAsync(new SqlStatement(
            $"INSERT INTO {schema.MembershipLog} (tenant, segment_id, at, profile_id, change) SELECT 'acme', 's', now64(3), toString(number), 'entered' FROM numbers(12345) SETTINGS max_insert_threads = 16, min_insert_block_size_rows = 1000"));
        var read = await Engine.QueryAsync(new SqlStatement("SELECT count() FROM numbers(10)"));
        var count = await Engine.QueryAsync(new SqlStatement($"SELECT count() FROM {schema.MembershipLog}"));

        // Rows written count every view's target too: the log must feed none (the events feed the universe's view).
        var viewsOf = (string table) => Engine.QueryAsync(new SqlStatement(
            "SELECT toInt64(length(dependencies_table)) FROM system.tables WHERE database = {db:String} AND name = {table:String}",
            [new SqlParameter("db", "String", schema.Database), new SqlParameter("table", "String", table[(schema.Database.Length + 1)..])]));
        var views = await viewsOf(schema.MembershipLog);
        var eventViews = await viewsOf(schema.Events);

        Assert.Equal(12_345UL, written.RowsWritten);
        Assert.Equal(12_345L, count.Rows[0][0]);
        Assert.Equal(0UL, read.Statistics.RowsWritten);
        Assert.Equal(0L, views.Rows[0][0]);
        Assert.True((long)eventViews.Rows[0][0]! > 0);
    }

    [Fact]
    public async Task Errors_carry_the_ClickHouse_code_and_name()
    {
        var error = await Assert.ThrowsAsync<ClickHouseException>(() => Engine.QueryAsync(new SqlStatement("SELECT * FROM no_such_database.no_such_table")));
        Assert.True(error.Code is 60 or 81, $"code {error.Code}: {error.Message}");
        Assert.Contains("no_such", error.Message, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(error.ErrorName));
    }

    [Fact]
    public async Task Every_query_runs_under_the_configured_limits()
    {
        var result = await Engine.QueryAsync(new SqlStatement("SELECT getSetting('max_execution_time') > 0, getSetting('session_timezone')"));
        Assert.Equal(1L, result.Rows[0][0]);
        Assert.Equal("UTC", result.Rows[0][1]);
    }

    /// <summary>
    /// Buffered with and without parameters (the engine lists a statement with parameters reformatted, comments dropped
    /// and values substituted, so an adapter cannot find it by the text it sent), streamed and cancelled while the
    /// reader waits for its first row, and streamed and abandoned after one row (no cancel at all).
    /// </summary>
    [Theory]
    [InlineData("buffered")]
    [InlineData("buffered with parameters")]
    [InlineData("streamed, cancelled")]
    [InlineData("streamed, abandoned")]
    public async Task Cancelling_stops_the_query_in_the_engine(string how)
    {
        var marker = $"cancel_{Guid.NewGuid():N}";
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var counting = new SqlStatement(
            "SELECT count() FROM numbers(100000000000) WHERE cityHash64(number) % {m:UInt8} = 1 AND {marker:String} != '' SETTINGS max_threads = 1",
            [new SqlParameter("m", "UInt8", 7), new SqlParameter("marker", "String", marker)]);
        switch (how)
        {
            case "buffered":
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Engine.QueryAsync(
                    new SqlStatement($"SELECT count() FROM numbers(100000000000) WHERE cityHash64(number) % 7 = 1 /* {marker} */ SETTINGS max_threads = 1"),
                    cancel.Token));
                break;
            case "buffered with parameters":
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Engine.QueryAsync(counting, cancel.Token));
                break;
            case "streamed, cancelled":
                // The one row comes at the end: the reader waits in its first fetch when the cancel comes.
                await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
                {
                    await foreach (var row in Engine.StreamAsync(counting, cancel.Token))
                    {
                        Assert.Fail($"a row arrived before the cancel: {row[0]}");
                    }
                });
                break;
            default:
                var endless = new SqlStatement(
                    "SELECT number FROM system.numbers WHERE {marker:String} != '' SETTINGS max_threads = 1, max_block_size = 1000",
                    [new SqlParameter("marker", "String", marker)]);
                await foreach (var row in Engine.StreamAsync(endless, CancellationToken.None))
                {
                    Assert.Equal(0UL, Convert.ToUInt64(row[0], System.Globalization.CultureInfo.InvariantCulture));
                    break;
                }

                break;
        }

        // The engine itself stopped it (the query would otherwise run until its time limit): it leaves
        // system.processes. KILL QUERY completes asynchronously, so this waits for it, well short of the limit.
        for (var attempt = 0; ; attempt++)
        {
            var running = await Engine.QueryAsync(new SqlStatement(
                "SELECT count() FROM system.processes WHERE query LIKE {marker:String} AND query NOT LIKE '%system.processes%'",
                [new SqlParameter("marker", "String", $"%{marker}%")]));
            if (Convert.ToInt64(running.Rows[0][0], System.Globalization.CultureInfo.InvariantCulture) == 0)
            {
                break;
            }

            Assert.True(attempt < 150, "the query is still running in the engine 15 seconds after it was given up");
            await Task.Delay(100);
        }

        var after = await Engine.QueryAsync(new SqlStatement("SELECT 2"));
        Assert.Equal(2L, after.Rows[0][0]);
    }

    [Fact]
    public async Task Releasing_freed_memory_leaves_the_engine_answering()
    {
        // Something to free first: a grouping of a million rows.
        var grouped = await Engine.QueryAsync(new SqlStatement("SELECT count() FROM (SELECT number % 100000 AS k, count() FROM numbers(1000000) GROUP BY k)", []));
        Assert.Equal(100000L, grouped.Rows[0][0]);

        await Engine.ReleaseFreedMemoryAsync();
        await Engine.ReleaseFreedMemoryAsync();

        var after = await Engine.QueryAsync(new SqlStatement("SELECT {n:Int64} + 1", [new SqlParameter("n", "Int64", 41L)]));
        Assert.Equal(42L, after.Rows[0][0]);
    }

    [Fact]
    public async Task Runs_queries_from_several_threads()
    {
        var tasks = Enumerable.Range(0, 8).Select(i => Engine.QueryAsync(new SqlStatement(
            "SELECT sum(number) FROM numbers({n:UInt64})", [new SqlParameter("n", "UInt64", (long)(1000 + i))])));
        var results = await Task.WhenAll(tasks);
        for (var i = 0; i < 8; i++)
        {
            var n = 1000L + i;
            Assert.Equal(n * (n - 1) / 2, results[i].Rows[0][0]);
        }
    }
}

[Trait("Category", "Engine")]
public sealed class EmbeddedEngineContractTests : EngineContractTests
{
    protected override IClickHouseEngine Engine => TestEngines.Embedded;

    [Fact]
    public async Task The_embedded_engine_returns_freed_memory_on_request()
    {
        // The library is built with jemalloc, whose purge the evaluator relies on to keep a tick's peak its own, unless
        // the operator set the allocator's decay for this process.
        await TestEngines.Embedded.ReleaseFreedMemoryAsync();

        Assert.Equal(
            !ChdbEngine.LeavesReleasesToAllocator(Environment.GetEnvironmentVariable("JE_MALLOC_CONF")),
            TestEngines.Embedded.PurgesFreedMemory);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("thp:always", false)]
    [InlineData("dirty_decay_ms:120000", true)]
    [InlineData("thp:always, dirty_decay_ms:120000,muzzy_decay_ms:120000", true)]
    [InlineData("muzzy_decay_ms:120000", false)]
    public void Freed_memory_is_left_to_the_allocator_only_when_its_decay_is_configured(string? allocatorOptions, bool leftToAllocator) =>
        Assert.Equal(leftToAllocator, ChdbEngine.LeavesReleasesToAllocator(allocatorOptions));
}

/// <summary>The clickhouse-server verb as a child process, one per test class.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;

    public ClickHouseServerEngine Engine { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await ServerProcess.StartAsync();
        Engine = new ClickHouseServerEngine(Server.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await Engine.DisposeAsync();
        await Server.DisposeAsync();
    }
}

[Trait("Category", "Engine")]
public sealed class ServerEngineContractTests(ServerFixture fixture) : EngineContractTests, IClassFixture<ServerFixture>
{
    protected override IClickHouseEngine Engine => fixture.Engine;
}

/// <summary>The server adapter reached through the URL form of its connection string.</summary>
[Trait("Category", "Engine")]
public sealed class ServerConnectionUrlTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task A_connection_url_reaches_the_server_as_the_key_form_does()
    {
        await using var engine = new ClickHouseServerEngine($"http://default@127.0.0.1:{fixture.Server.HttpPort}");

        var result = await engine.QueryAsync(new SqlStatement("SELECT currentUser() AS user"));

        Assert.Equal("default", result.Rows.Single()[0]);
    }
}
