using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Benchmarks;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Demo;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Cluster;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>
/// Where rows land on a real 3-shard cluster: every profile on exactly one shard with all its rows, a tenant's rows
/// only on its group's shards, and an ingest killed mid-way and run again writing each row once.
/// </summary>
[Trait("Category", "Engine")]
public sealed class ClusterShardingTests(ThreeShardCluster fixture) : IClassFixture<ThreeShardCluster>, IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("segmentmcp-cluster-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task Every_profile_lives_with_all_its_rows_on_one_shard_and_every_shard_holds_some()
    {
        var cluster = fixture.Cluster;
        var schema = await cluster.NewSchemaAsync();
        var alone = await TestEngines.NewSchemaAsync(TestEngines.Embedded);
        var reference = ClusterTestData.Second(DateTime.UtcNow.AddHours(-1));
        var demo = new DemoOptions { Profiles = 600, Seed = 3, ReferenceTime = reference };
        await DemoLoader.LoadAsync(cluster.Engine, schema, demo);
        await DemoLoader.LoadAsync(TestEngines.Embedded, alone, demo);

        // Three shards answer as one engine does: compiled members, and a whole evaluation of the 12 shapes.
        await ClusterTestData.AssertSameCompiledMembersAsync(TestEngines.Embedded, alone, cluster.Engine, schema, "demo", reference);
        await using (var services = SegmentServices.Build(cluster.Engine, schema))
        await using (var singleServices = SegmentServices.Build(TestEngines.Embedded, alone))
        {
            var ids = await ClusterTestData.SaveShapesAsync(services, "demo");
            var singleIds = await ClusterTestData.SaveShapesAsync(singleServices, "demo");
            await services.GetRequiredService<ISegmentEvaluator>().TickAsync("demo", reference, null, CancellationToken.None);
            await singleServices.GetRequiredService<ISegmentEvaluator>().TickAsync("demo", reference, null, CancellationToken.None);
            await ClusterTestData.AssertSameStoredAsync(TestEngines.Embedded, alone, singleIds, cluster.Engine, schema, ids, "demo");
        }

        var universe = await ClusterTestData.ProfilesAsync(
            cluster.Engine, Sql.Of($"SELECT DISTINCT profile_id FROM {Sql.Table(schema.Profiles)} WHERE tenant = 'demo'").ToStatement());
        Assert.Equal(600, universe.Count);
        var shards = await cluster.ConnectShardsAsync();
        try
        {
            var held = new List<HashSet<string>>();
            foreach (var shard in shards)
            {
                held.Add(await ClusterTestData.ShardProfilesAsync(shard, schema.Database, "demo"));
            }

            Assert.All(held, profiles => Assert.True(profiles.Count > 100, $"a shard holds only {profiles.Count} profiles"));
            Assert.Equal(universe.Count, held.Sum(profiles => profiles.Count));
            Assert.True(universe.SetEquals(held.SelectMany(profiles => profiles)));

            // And each is the shard the sharding key names.
            for (var index = 0; index < held.Count; index++)
            {
                foreach (var profile in held[index].Take(20))
                {
                    Assert.Equal(index, await ClusterTestData.ShardIndexAsync(cluster.Engine, 3, 3, "demo", profile));
                }
            }

            var members = await cluster.Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.Membership)} WHERE tenant = 'demo'"));
            Assert.True(members > 0, "no membership rows: the membership tables were not checked");
        }
        finally
        {
            foreach (var shard in shards)
            {
                await shard.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task The_tick_after_a_delete_removes_the_segments_rows_from_every_shard_and_nothing_else()
    {
        var cluster = fixture.Cluster;
        var schema = await cluster.NewSchemaAsync();
        var reference = ClusterTestData.Second(DateTime.UtcNow.AddHours(-1));
        await DemoLoader.LoadAsync(cluster.Engine, schema, new DemoOptions { Profiles = 300, Seed = 5, ReferenceTime = reference });
        await using var services = SegmentServices.Build(cluster.Engine, schema);
        var ids = await ClusterTestData.SaveShapesAsync(services, "demo");
        var evaluator = services.GetRequiredService<ISegmentEvaluator>();
        await evaluator.TickAsync("demo", reference, null, CancellationToken.None);

        async Task<Dictionary<string, (long Membership, long Log, long States)>> RowsAsync()
        {
            var rows = new Dictionary<string, (long, long, long)>(StringComparer.Ordinal);
            foreach (var id in ids)
            {
                var segment = Sql.Param("String", id);
                rows[id] = (
                    await cluster.Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.Membership)} WHERE tenant = 'demo' AND segment_id = {segment}")),
                    await cluster.Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.MembershipLog)} WHERE tenant = 'demo' AND segment_id = {segment}")),
                    await cluster.Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.SegmentState)} WHERE tenant = 'demo' AND segment_id = {segment}")));
            }

            return rows;
        }

        var before = await RowsAsync();
        // The last shape is referenced by no other; the tick at the same time again leaves the live segments as they are.
        var gone = ids[^1];
        Assert.True(before[gone].Membership > 0 && before[gone].Log > 0 && before[gone].States > 0, $"{gone}: {before[gone]}");
        Assert.True(await services.GetRequiredService<ISegmentStore>().DeleteAsync("demo", gone, CancellationToken.None));
        var report = await evaluator.TickAsync("demo", reference, null, CancellationToken.None);

        Assert.Equal(["demo/" + gone], report.Purged);
        var after = await RowsAsync();
        Assert.Equal((0L, 0L, 0L), after[gone]);
        Assert.All(ids.SkipLast(1), id => Assert.Equal(before[id], after[id]));
    }

    [Fact]
    public async Task A_tenant_in_a_group_of_two_shards_touches_only_those_through_the_cli()
    {
        var cluster = fixture.Cluster;
        var database = TestEngines.DatabaseName();
        foreach (var tenant in new[] { "acme", "globex" })
        {
            var (events, profiles) = WriteTenant(tenant, profiles: 300, eventsPerProfile: 3);
            var run = await HostProcess.RunAsync(
                null, "ingest", "--events", events, "--profiles", profiles, "--company", tenant, "--database", database,
                "--clickhouse", cluster.ConnectionString, "--cluster", cluster.ClusterName, "--tenant-shards", "2");
            Assert.True(run.ExitCode == 0, run.StandardError);
        }

        var shards = await cluster.ConnectShardsAsync();
        try
        {
            foreach (var tenant in new[] { "acme", "globex" })
            {
                var first = await cluster.Engine.QueryScalarAsync<long>(Sql.Of($"SELECT cityHash64({Sql.Param("String", tenant)}) % 3"));
                var group = new[] { (int)first, (int)((first + 1) % 3) };
                for (var index = 0; index < shards.Count; index++)
                {
                    var held = await ClusterTestData.ShardProfilesAsync(shards[index], database, tenant);
                    if (group.Contains(index))
                    {
                        Assert.True(held.Count > 50, $"{tenant}: shard {index + 1} of its group holds {held.Count} profiles");
                    }
                    else
                    {
                        Assert.Empty(held);
                    }
                }
            }
        }
        finally
        {
            foreach (var shard in shards)
            {
                await shard.DisposeAsync();
            }
        }

        // The group size is part of where rows are: a database created with 2 refuses another.
        var (moreEvents, _) = WriteTenant("initech", profiles: 5, eventsPerProfile: 1);
        var refused = await HostProcess.RunAsync(
            null, "ingest", "--events", moreEvents, "--company", "initech", "--database", database,
            "--clickhouse", cluster.ConnectionString, "--cluster", cluster.ClusterName, "--tenant-shards", "3");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("--tenant-shards 2", refused.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_ingest_killed_mid_way_and_run_again_writes_nothing_twice_on_any_shard()
    {
        var cluster = fixture.Cluster;
        var schema = await cluster.NewSchemaAsync();
        var (events, profiles) = WriteTenant("acme", profiles: 3_000, eventsPerProfile: 30);
        const long total = 3_000 * 30;
        string[] arguments =
        [
            "ingest", "--events", events, "--profiles", profiles, "--company", "acme", "--database", schema.Database,
            "--batch-rows", "1500", "--parallel-inserts", "1", "--clickhouse", cluster.ConnectionString, "--cluster", cluster.ClusterName,
        ];

        var info = HostProcess.StartInfo(arguments);
        using (var killed = Process.Start(info)!)
        {
            var output = killed.StandardOutput.ReadToEndAsync();
            var errors = killed.StandardError.ReadToEndAsync();
            long written = 0;
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (written == 0 && !killed.HasExited && DateTime.UtcNow < deadline)
            {
                await Task.Delay(25);
                written = await cluster.Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.Events)} WHERE tenant = 'acme'"));
            }

            killed.Kill(entireProcessTree: true);
            await killed.WaitForExitAsync();
            await Task.WhenAll(output, errors);
        }

        var afterKill = await cluster.Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.Events)} WHERE tenant = 'acme'"));
        Assert.True(afterKill > 0 && afterKill < total, $"the kill came at {afterKill:N0} of {total:N0} rows: not mid-way");

        var rerun = await HostProcess.RunAsync(null, arguments);
        Assert.True(rerun.ExitCode == 0, rerun.StandardError);

        var shards = await cluster.ConnectShardsAsync();
        try
        {
            var local = new Core.Sql.TableNames(schema.Database, shardLocal: true);
            long sum = 0;
            for (var index = 0; index < shards.Count; index++)
            {
                var (rows, distinct, misplaced) = (await shards[index].QueryAsync(
                    Sql.Of(
                        $"""
                        SELECT count(), uniqExact(profile_id, metric, ts, value, toString(properties)),
                               countIf({Core.Storage.ClusterSchema.ProfileShardingKey(3, 3)} != {Sql.Number(index)})
                        FROM {Sql.Table(local.Events)} WHERE tenant = 'acme'
                        """),
                    row => (row.GetInt64(0), row.GetInt64(1), row.GetInt64(2))))[0];
                Assert.True(rows > 0, $"shard {index + 1} holds no events");
                Assert.Equal(distinct, rows);
                Assert.Equal(0, misplaced);
                sum += rows;

                var updates = await shards[index].QueryAsync(
                    Sql.Of($"SELECT count(), uniqExact(profile_id) FROM {Sql.Table(local.ProfileUpdates)} WHERE tenant = 'acme'"),
                    row => (Rows: row.GetInt64(0), Profiles: row.GetInt64(1)));
                Assert.Equal(updates[0].Profiles, updates[0].Rows);
            }

            Assert.Equal(total, sum);
            Assert.Equal(3_000, await cluster.Engine.QueryScalarAsync<long>(Sql.Of($"SELECT count() FROM {Sql.Table(schema.ProfileUpdates)} WHERE tenant = 'acme'")));
        }
        finally
        {
            foreach (var shard in shards)
            {
                await shard.DisposeAsync();
            }
        }
    }

    /// <summary>NDJSON for one tenant: one profile record per profile and distinct events.</summary>
    private (string Events, string Profiles) WriteTenant(string tenant, int profiles, int eventsPerProfile)
    {
        var start = new DateTime(2026, 6, 1, 0, 0, 0, DateTimeKind.Utc);
        var events = new StringBuilder();
        var updates = new StringBuilder();
        for (var p = 0; p < profiles; p++)
        {
            updates.Append(CultureInfo.InvariantCulture, $$"""{"company_id":"{{tenant}}","profile_id":"{{tenant}}-{{p}}","properties":{"city":"City{{p % 7}}"},"updated_at":"{{start:yyyy-MM-ddTHH:mm:ssZ}}"}""").Append('\n');
            for (var e = 0; e < eventsPerProfile; e++)
            {
                events.Append(CultureInfo.InvariantCulture, $$"""{"company_id":"{{tenant}}","profile_id":"{{tenant}}-{{p}}","metric":"Viewed Product","timestamp":"{{start.AddMinutes(e):yyyy-MM-ddTHH:mm:ssZ}}","value":{{e}}}""").Append('\n');
            }
        }

        var eventsPath = Path.Combine(directory, tenant + "-events.ndjson");
        var profilesPath = Path.Combine(directory, tenant + "-profiles.ndjson");
        File.WriteAllText(eventsPath, events.ToString());
        File.WriteAllText(profilesPath, updates.ToString());
        return (eventsPath, profilesPath);
    }
}
