using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Storage.Chdb;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>The config the embedded engine starts with: RocksDB bloom filters, 16 MB memtables, 16 MB block caches and LZ4 for the key-value tables.</summary>
[Trait("Category", "Engine")]
public sealed class ChdbConfigTests
{
    [Fact]
    public async Task The_key_value_tables_are_written_with_bloom_filters_small_memtables_and_lz4()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var directory = (await engine.QueryAsync(
            Sql.Of($"SELECT data_paths[1] FROM system.tables WHERE database = {Sql.Param("String", schema.Database)} AND name = 'profile_timelines'"),
            row => row.GetString(0)))[0];

        // RocksDB records the options a table was opened with in OPTIONS-* files next to its data.
        var options = Directory.GetFiles(directory, "OPTIONS-*").Select(File.ReadAllText).ToList();
        Assert.NotEmpty(options);
        Assert.All(options, text => Assert.Contains("filter_policy=bloomfilter:10:false", text, StringComparison.Ordinal));
        Assert.All(options, text => Assert.Contains("write_buffer_size=16777216", text, StringComparison.Ordinal));
        Assert.All(options, text => Assert.Contains("\n  compression=kLZ4Compression", text, StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_or_changed_config_file_is_written_again()
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"segmentmcp-config-test-{Guid.NewGuid():N}.xml");
        try
        {
            Assert.Equal(path, ChdbConfig.EnsureWritten(path));
            Assert.Equal(ChdbConfig.Text, File.ReadAllText(path));

            File.WriteAllText(path, "<clickhouse/>");
            ChdbConfig.EnsureWritten(path);
            Assert.Equal(ChdbConfig.Text, File.ReadAllText(path));
            Assert.Equal(ChdbConfig.Text, File.ReadAllText(ChdbConfig.Path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
