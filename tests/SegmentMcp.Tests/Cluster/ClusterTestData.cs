using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Tests.Cluster;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>Reading what a cluster holds, shard by shard, and comparing it with one engine.</summary>
internal static class ClusterTestData
{
    /// <summary>The tables keyed by profile: everything about one profile must be on one shard.</summary>
    public static readonly Func<TableNames, string>[] ProfileTables =
        [t => t.Events, t => t.ProfileUpdates, t => t.Traits, t => t.Profiles, t => t.Membership, t => t.MembershipLog];

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
        foreach (var table in ProfileTables)
        {
            counts.Add(await engine.QueryScalarAsync<long>(
                Sql.Of($"SELECT count() FROM {Sql.Table(table(tables))} WHERE tenant = {Sql.Param("String", tenant)}")));
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
}
