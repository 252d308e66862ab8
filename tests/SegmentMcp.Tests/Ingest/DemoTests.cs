using System.Security.Cryptography;
using SegmentMcp.Core.Demo;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Tests.Ingest;

[Trait("Category", "Engine")]
public class DemoTests
{
    private static readonly DateTimeOffset Reference = new(2026, 11, 30, 18, 0, 0, TimeSpan.Zero);
    private const string ReferenceParameter = "{reference:DateTime64(3, 'UTC')}";

    [Fact]
    public async Task The_same_seed_gives_the_same_ndjson_and_another_seed_does_not()
    {
        var options = new DemoOptions { Profiles = 300, Seed = 7, ReferenceTime = Reference };

        var first = await Fingerprint(new DemoGenerator(options));
        var again = await Fingerprint(new DemoGenerator(options));
        var other = await Fingerprint(new DemoGenerator(options with { Seed = 8 }));

        Assert.Equal(first, again);
        Assert.NotEqual(first.Events, other.Events);
        Assert.NotEqual(first.Profiles, other.Profiles);
    }

    [Fact]
    public async Task A_small_demo_lands_in_the_tables_with_realistic_shapes()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);

        var result = await DemoLoader.LoadAsync(engine, schema, new DemoOptions { Profiles = 500, ReferenceTime = Reference });

        Assert.Equal(result.Events, await Scalar(engine, $"SELECT count() FROM {schema.Events} WHERE tenant = 'demo'"));
        Assert.Equal(500L, await Scalar(engine, $"SELECT uniqExact(profile_id) FROM {schema.Profiles} WHERE tenant = 'demo'"));

        // Every metric of the shop occurs, and only inside the 400 days before the reference time.
        var metrics = (await engine.QueryAsync(new SqlStatement($"SELECT DISTINCT metric FROM {schema.Events} ORDER BY metric"))).Rows.Select(r => (string)r[0]!);
        Assert.Equal(["Active on Site", "Added to Cart", "Clicked Email", "Opened Email", "Placed Order", "Received Email", "Started Checkout", "Viewed Product"], metrics);
        var window = new SqlParameter("reference", "DateTime64(3, 'UTC')", Reference.UtcDateTime);
        Assert.Equal(0L, await Scalar(engine, $"SELECT countIf(ts > {{reference:DateTime64(3, 'UTC')}} OR ts < {{reference:DateTime64(3, 'UTC')}} - INTERVAL 400 DAY) FROM {schema.Events}", window));

        // Funnels: every open has its received email, every click its open, every order a cart and checkout before it.
        Assert.Equal(0L, await Scalar(engine, Orphans(schema, "Opened Email", "Received Email", "properties['campaign']")));
        Assert.Equal(0L, await Scalar(engine, Orphans(schema, "Clicked Email", "Opened Email", "properties['campaign']")));
        Assert.Equal(0L, await Scalar(engine, Orphans(schema, "Placed Order", "Started Checkout", "properties['product_id']")));
        Assert.Equal(0L, await Scalar(engine, Orphans(schema, "Started Checkout", "Added to Cart", "properties['product_id']")));
        var funnel = await engine.QueryAsync(new SqlStatement(
            $"SELECT countIf(metric = 'Received Email'), countIf(metric = 'Opened Email'), countIf(metric = 'Clicked Email'), countIf(metric = 'Added to Cart'), countIf(metric = 'Placed Order') FROM {schema.Events}"));
        var counts = funnel.Rows[0].Select(Convert.ToInt64).ToArray();
        Assert.True(counts[0] > counts[1] && counts[1] > counts[2] && counts[3] > counts[4] && counts[4] > 0, string.Join(", ", counts));

        // Orders carry a positive value and a category; activity is heavy-tailed (the busiest tenth does far more than a tenth).
        Assert.Equal(0L, await Scalar(engine, $"SELECT countIf(value IS NULL OR value <= 0 OR properties['category'] = '') FROM {schema.Events} WHERE metric = 'Placed Order'"));
        var topShare = (double)(await engine.QueryAsync(new SqlStatement(
            $"SELECT sum(c) / (SELECT count() FROM {schema.Events}) FROM (SELECT count() AS c FROM {schema.Events} GROUP BY profile_id ORDER BY c DESC LIMIT 50)"))).Rows[0][0]!;
        Assert.InRange(topShare, 0.25, 0.9);

        // Profiles: current traits with their JSON types; the lifetime value is the sum of the profile's orders.
        var traits = $"SELECT profile_id, property, argMax(value, (updated_at, ingested_at)) AS v FROM {schema.Traits} GROUP BY profile_id, property";
        Assert.Equal(0L, await Scalar(engine, $"SELECT countIf(NOT startsWith(v, 's') OR position(v, '@') = 0) FROM ({traits}) WHERE property = 'email'"));
        Assert.Equal(500L, await Scalar(engine, $"SELECT countIf(v IN ('btrue', 'bfalse')) FROM ({traits}) WHERE property = 'accepts_marketing'"));
        Assert.Equal(500L, await Scalar(engine, $"SELECT countIf(substring(v, 2) IN ('free', 'basic', 'premium')) FROM ({traits}) WHERE property = 'plan'"));
        Assert.Equal(0L, await Scalar(engine, $"SELECT countIf(toYear(toDate32(substring(v, 2))) NOT BETWEEN 1950 AND 2008) FROM ({traits}) WHERE property = 'birthday'"));
        Assert.Equal(0L, await Scalar(
            engine,
            $"""
            SELECT count() FROM ({traits}) AS b
            JOIN ({traits}) AS a ON a.profile_id = b.profile_id AND a.property = 'age'
            WHERE b.property = 'birthday'
              AND abs(toInt32(substring(a.v, 2)) - dateDiff('year', toDate32(substring(b.v, 2)), toDate32({ReferenceParameter}))) > 1
            """,
            window));
        Assert.Equal(0L, await Scalar(
            engine,
            $"""
            SELECT count() FROM ({traits}) AS l
            LEFT JOIN (SELECT profile_id, sum(value) AS total FROM {schema.Events} WHERE metric = 'Placed Order' GROUP BY profile_id) AS o
              ON o.profile_id = l.profile_id
            WHERE l.property = 'lifetime_value' AND abs(toFloat64(substring(l.v, 2)) - o.total) > 0.05
            """));

        // A used coupon is removed: its latest value is the empty string.
        Assert.True(await Scalar(engine, $"SELECT countIf(v = '') FROM ({traits}) WHERE property = 'coupon_code'") > 0);
    }

    [Fact]
    public async Task Loading_the_demo_again_replaces_the_tenant_instead_of_doubling_it()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var options = new DemoOptions { Profiles = 100, Seed = 5, ReferenceTime = Reference };

        var first = await DemoLoader.LoadAsync(engine, schema, options);
        var counts = (await Scalar(engine, $"SELECT count() FROM {schema.Events}"), await Scalar(engine, $"SELECT count() FROM {schema.Traits}"));
        var second = await DemoLoader.LoadAsync(engine, schema, options);

        Assert.False(first.ReplacedExisting);
        Assert.True(second.ReplacedExisting);
        Assert.Equal(first.Events, counts.Item1);
        Assert.Equal(counts, (await Scalar(engine, $"SELECT count() FROM {schema.Events}"), await Scalar(engine, $"SELECT count() FROM {schema.Traits}")));

        // The names its events use are replaced with them: the same names, each once.
        var names = $"SELECT count() FROM (SELECT DISTINCT metric, property FROM {schema.EventProperties})";
        Assert.Equal(await Scalar(engine, $"SELECT count() FROM (SELECT DISTINCT metric, property FROM {schema.Events} ARRAY JOIN arrayConcat([''], mapKeys(properties)) AS property)"), await Scalar(engine, names));
        Assert.Equal(await Scalar(engine, names), await Scalar(engine, $"SELECT count() FROM {schema.EventProperties} FINAL"));
    }

    private static string Orphans(StorageSchema schema, string metric, string before, string key) =>
        $"""
        SELECT count() FROM {schema.Events} AS later
        LEFT JOIN (SELECT profile_id, {key} AS k, min(ts) AS first FROM {schema.Events} WHERE metric = '{before}' GROUP BY profile_id, k) AS earlier
          ON earlier.profile_id = later.profile_id AND earlier.k = later.{key}
        WHERE later.metric = '{metric}' AND (earlier.k = '' OR earlier.first > later.ts)
        """;

    private static async Task<(string Events, string Profiles)> Fingerprint(DemoGenerator generator)
    {
        await using var events = generator.OpenEvents();
        await using var profiles = generator.OpenProfiles();
        return (Convert.ToHexString(await SHA256.HashDataAsync(events)), Convert.ToHexString(await SHA256.HashDataAsync(profiles)));
    }

    private static async Task<long> Scalar(IClickHouseEngine engine, string sql, params SqlParameter[] parameters) =>
        Convert.ToInt64((await engine.QueryAsync(new SqlStatement(sql, parameters))).Rows[0][0]);
}
