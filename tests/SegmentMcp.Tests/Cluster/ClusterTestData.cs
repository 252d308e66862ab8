using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Benchmarks;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Tests.Cluster;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>Reading what a cluster holds, shard by shard, and comparing it with one engine.</summary>
internal static class ClusterTestData
{
    /// <summary>The tables keyed by profile: everything about one profile must be on one shard.</summary>
    private static readonly Func<TableNames, string> CurrentTraitsTable = t => t.CurrentTraits;

    public static readonly Func<TableNames, string>[] ProfileTables =
        [t => t.Events, t => t.ProfileUpdates, t => t.Traits, CurrentTraitsTable, t => t.Profiles, t => t.Membership, t => t.MembershipLog];

    public static DateTime Second(DateTime time) => new(time.Ticks - (time.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);

    public static async Task<HashSet<string>> ProfilesAsync(IClickHouseEngine engine, SqlStatement query)
    {
        var result = await engine.QueryAsync(query);
        return result.Rows.Select(row => (string)row[0]!).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Row counts of the tenant in every profile table, through the given (Distributed or single) names.</summary>
    public static async Task<List<long>> RowCountsAsync(IClickHouseEngine engine, TableNames tables, string tenant)
    {
        var counts = new List<long>();

        // Not the current-value table: a derived accelerator, refreshed up to each engine's ingestion watermark, which
        // inserts still running elsewhere on the shared embedded engine hold back (its queries stay exact either way).
        // The universe's profiles, not its rows: the table folds a profile's sightings (one per insert it was in) as
        // its parts merge, which happens when it happens.
        foreach (var table in ProfileTables.Where(t => t != CurrentTraitsTable))
        {
            var name = table(tables);
            var count = name == tables.Profiles ? Sql.Of($"uniqExact(profile_id)") : Sql.Of($"count()");
            counts.Add(await engine.QueryScalarAsync<long>(
                Sql.Of($"SELECT {count} FROM {Sql.Table(name)} WHERE tenant = {Sql.Param("String", tenant)}")));
        }

        return counts;
    }

    /// <summary>The profiles of the tenant that have any row in any profile table of one shard's local tables.</summary>
    public static async Task<HashSet<string>> ShardProfilesAsync(IClickHouseEngine shard, string database, string tenant)
    {
        var local = new TableNames(database, shardLocal: true);
        var profiles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var table in ProfileTables)
        {
            profiles.UnionWith(await ProfilesAsync(
                shard,
                Sql.Of($"SELECT DISTINCT profile_id FROM {Sql.Table(table(local))} WHERE tenant = {Sql.Param("String", tenant)}").ToStatement()));
        }

        return profiles;
    }

    /// <summary>The 0-based shard index the sharding key gives the tenant's profile (computed by ClickHouse itself).</summary>
    public static Task<long> ShardIndexAsync(IClickHouseEngine engine, int shards, int tenantShards, string tenant, string profileId) =>
        engine.QueryScalarAsync<long>(Sql.Of(
            $"SELECT {ClusterSchema.ProfileShardingKey(shards, tenantShards)} FROM (SELECT {Sql.Param("String", tenant)} AS tenant, {Sql.Param("String", profileId)} AS profile_id)"));

    /// <summary>The evaluator benchmark's 12 shapes, saved in order (the 11th references the first).</summary>
    public static async Task<List<string>> SaveShapesAsync(ServiceProvider services, string tenant)
    {
        var store = services.GetRequiredService<SegmentStore>();
        var ids = new List<string>();
        foreach (var shape in EvaluatorBenchmark.Shapes("pending"))
        {
            var definition = ids.Count == 10 ? EvaluatorBenchmark.Shapes(ids[0])[10] : shape;
            ids.Add((await store.SaveAsync(tenant, null, definition.Name, null, SegmentDefinitionJson.Write(definition), CancellationToken.None)).Id);
        }

        return ids;
    }

    /// <summary>Stored membership and log of every segment, by segment position, the same on both.</summary>
    public static async Task AssertSameStoredAsync(
        IClickHouseEngine single, StorageSchema alone, List<string> singleIds, IClickHouseEngine cluster, StorageSchema clustered, List<string> clusterIds, string tenant)
    {
        var expected = await StoredAsync(single, alone, singleIds, tenant);
        var actual = await StoredAsync(cluster, clustered, clusterIds, tenant);
        Assert.True(expected.Count > 100, $"only {expected.Count} stored rows: the comparison would mean little");
        Assert.Equal(expected, actual);
    }

    private static async Task<List<string>> StoredAsync(IClickHouseEngine engine, StorageSchema schema, List<string> ids, string tenant)
    {
        // Current membership through the store: the buckets on one engine, the membership table on a cluster.
        var store = new MembershipStore(engine, schema);
        var members = new List<string>();
        foreach (var (id, position) in ids.Select((id, position) => (id, position)))
        {
            members.AddRange((await store.MembersAsync(tenant, id, null, 1_000_000, CancellationToken.None)).Select(profile => $"member {position} {profile}"));
        }

        // The log as its readers see it: one engine writes a first evaluation into the buckets alone and derives its
        // entries, a cluster logs them.
        var log = new List<string>();
        foreach (var (id, position) in ids.Select((id, position) => (id, position)))
        {
            (DateTime, string)? after = null;
            while (true)
            {
                var page = await store.ChangesAsync(tenant, id, null, null, after, 1000, CancellationToken.None);
                log.AddRange(page.Select(c => $"log {position} {c.ProfileId} {c.At:yyyy-MM-dd HH:mm:ss.fff} {(c.Entered ? "entered" : "exited")}"));
                if (page.Count < 1000)
                {
                    break;
                }

                after = (page[^1].At, page[^1].ProfileId);
            }
        }

        return [.. members.Concat(log).Order(StringComparer.Ordinal)];
    }

    /// <summary>Every compiler benchmark shape compiles to the same text apart from the database, and finds the same members.</summary>
    public static async Task AssertSameCompiledMembersAsync(
        IClickHouseEngine single, StorageSchema alone, IClickHouseEngine cluster, StorageSchema clustered, string tenant, DateTime now)
    {
        var onCluster = await CompilerBenchmark.PrepareAsync(cluster, clustered, tenant, now);
        var onOne = await CompilerBenchmark.PrepareAsync(single, alone, tenant, now);
        var nonEmpty = 0;
        for (var i = 0; i < onOne.Count; i++)
        {
            Assert.Equal(Normalize(onOne[i].Compiled.Text, alone), Normalize(onCluster[i].Compiled.Text, clustered));
            Assert.Equal(Parameters(onOne[i].Compiled), Parameters(onCluster[i].Compiled));
            var expected = await ProfilesAsync(single, onOne[i].Compiled);
            var actual = await ProfilesAsync(cluster, onCluster[i].Compiled);
            Assert.True(expected.SetEquals(actual), $"{onOne[i].Name}: one engine {expected.Count}, cluster {actual.Count}");
            nonEmpty += expected.Count > 0 ? 1 : 0;
        }

        Assert.True(nonEmpty >= onOne.Count - 2, $"only {nonEmpty} of {onOne.Count} shapes have members: the comparison would mean little");
    }

    /// <summary>SQL with the database name replaced, to compare the text of two databases' queries.</summary>
    public static string Normalize(string sql, TableNames schema) => sql.Replace(schema.Database + ".", "db.", StringComparison.Ordinal);

    private static List<string> Parameters(SqlStatement statement) =>
        [.. statement.Parameters.Select(p => $"{p.Name} {p.ClickHouseType} {(p.Value is System.Collections.IEnumerable list and not string ? string.Join(",", list.Cast<object>()) : p.Value)}")];
}
