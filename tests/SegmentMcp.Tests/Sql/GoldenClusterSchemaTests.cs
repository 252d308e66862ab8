using System.Runtime.CompilerServices;
using System.Text;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Tests.Sql;

/// <summary>
/// The cluster DDL pinned in Golden/Schema/*.sql (SEGMENTMCP_REWRITE_GOLDEN=1 rewrites them): the replicated
/// shard-local tables (a Keeper-backed cluster cannot run on the test machines, so its DDL is checked as text) and
/// the Distributed tables with their bi-level sharding keys. The plain schema's text must not change at all.
/// </summary>
public sealed class GoldenClusterSchemaTests
{
    [Fact]
    public async Task Replicated_shard_local_tables_match_the_baseline()
    {
        var schema = new StorageSchema("segmentmcp", shardLocal: true, replicated: true);

        await MatchesAsync("replicated_local", Statements(schema));
    }

    [Fact]
    public async Task Distributed_tables_match_the_baseline()
    {
        var cluster = new ClusterSchema("segmentmcp", "Host=127.0.0.1;Port=8123", new EngineLimits(), tenantShards: 2);
        var tables = new[] { ("events_local", true), ("profile_updates_local", true), ("traits_local", true), ("profiles_local", true), ("segments_local", false), ("segment_state_local", false), ("membership_local", true), ("membership_log_local", true), ("current_traits_local", true), ("current_traits_watermark_local", false), ("lists_local", false), ("list_members_local", true), ("segment_first_evaluation_local", false), ("event_properties_local", false) };

        await MatchesAsync("distributed", [.. tables.Select(t => cluster.DistributedTable("segmentmcp", t.Item1, t.Item2, shards: 3, tenantShards: 2).ToStatement().Text)]);
    }

    [Fact]
    public void Shard_local_tables_differ_from_the_single_engine_ones_only_in_their_names()
    {
        // The key-value tables of phase 2 (versions 6, 9, 10, 11, 15, 16, 17 and 19) exist on one engine only, and only there does
        // current membership live in them alone (version 14), in generations (version 20).
        var single = Statements(new StorageSchema("segmentmcp"), skipVersions: [6, 9, 10, 11, 14, 15, 16, 17, 19, 20]);
        var local = Statements(new StorageSchema("segmentmcp", shardLocal: true, replicated: false));

        Assert.Equal(single.Count, local.Count);
        for (var i = 0; i < single.Count; i++)
        {
            local[i] = System.Text.RegularExpressions.Regex.Replace(local[i], @"(segmentmcp\.\w+)_local\b", "$1");
            Assert.Equal(single[i], local[i]);
        }
    }

    [Fact]
    public void Replication_is_only_for_shard_local_tables()
    {
        Assert.Throws<ArgumentException>(() => new StorageSchema("segmentmcp", shardLocal: false, replicated: true));
    }

    [Fact]
    public void Key_value_tables_are_created_on_one_engine_only()
    {
        Assert.True(new StorageSchema("segmentmcp").HasKeyValueTables);
        Assert.False(new StorageSchema("segmentmcp", shardLocal: true, replicated: false).HasKeyValueTables);
        Assert.All([6, 9, 10, 11, 14, 20], version =>
        {
            Assert.Empty(new StorageSchema("segmentmcp", shardLocal: true, replicated: false).Migrations().Single(m => m.Version == version).Statements);
            Assert.NotEmpty(new StorageSchema("segmentmcp").Migrations().Single(m => m.Version == version).Statements);
        });
    }

    private static List<string> Statements(StorageSchema schema, int[]? skipVersions = null) =>
        [.. schema.Migrations().Where(m => skipVersions?.Contains(m.Version) != true).SelectMany(m => m.Statements).Select(s => s.ToStatement().Text)];

    private static async Task MatchesAsync(string name, IReadOnlyList<string> statements)
    {
        var actual = string.Join("\n\n", statements.Select(s => s.Trim() + ";")) + "\n";
        if (Environment.GetEnvironmentVariable("SEGMENTMCP_REWRITE_GOLDEN") == "1")
        {
            await File.WriteAllTextAsync(Path.Combine(SourceDirectory(), "..", "Golden", "Schema", name + ".sql"), actual, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            return;
        }

        var baseline = Path.Combine(AppContext.BaseDirectory, "Golden", "Schema", name + ".sql");
        Assert.True(File.Exists(baseline), $"No baseline {baseline}: run with SEGMENTMCP_REWRITE_GOLDEN=1 to create it.");
        Assert.Equal((await File.ReadAllTextAsync(baseline)).ReplaceLineEndings("\n"), actual.ReplaceLineEndings("\n"));
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
