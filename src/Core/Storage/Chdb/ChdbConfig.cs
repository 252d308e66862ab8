using System.Security.Cryptography;
using System.Text;

namespace SegmentMcp.Core.Storage.Chdb;

/// <summary>
/// The ClickHouse config chDB starts with, in-process and as a server (unless the server is given its own). It sets
/// what the engine's defaults get wrong for this schema: the key-value tables (<see cref="Sql.TableNames.ProfileTimelines"/>,
/// <see cref="Sql.TableNames.MembershipBuckets"/>) are read by point lookups, and without bloom filters a lookup reads a
/// data block of every file whose key range covers the key, found or not. Each refresh leaves such a file until
/// compaction, and many candidates have no row of a metric; with the filters a file without the key costs nothing.
/// Memtables of 16 MB, not RocksDB's 64 MB: each table keeps up to two in memory, so the timelines, their event times
/// and the membership lookup held up to 384 MB of writes between flushes, most of a tick's resident memory at rest on
/// the 2M-profile demo. A block cache of 16 MB a table, not RocksDB's 32 MB: the four large tables' caches filled to
/// 128 MB within a tick and stayed, so a 1% tick's peak reached 980–1,001 MiB there against the 1 GiB goal; with 16 MB,
/// 782–898 MiB. The files stay in the page cache either way, and the replayed lookups of a 1% tick's chunk statements
/// took about the same time (8 MB cost about 10% more). With caches that small almost every lookup reads its block
/// from the file and decompresses it (24,201 misses and 149 hits for a 1% tick's event-time lookups), so the files are
/// LZ4, not ClickHouse's default ZSTD: 47,131 keys of the event times read in 609 ms against 761 ms (medians of 11,
/// side by side, the same rows), 553 ms uncompressed; the files take 23% more space (1.08 against 0.88 GB), uncompressed
/// 170% more. Files written before keep their compression until RocksDB compacts them (<c>OPTIMIZE TABLE</c> at once).
/// </summary>
internal static class ChdbConfig
{
    internal const string Text =
        """
        <clickhouse>
          <rocksdb>
            <column_family_options>
              <write_buffer_size>16777216</write_buffer_size>
              <compression>kLZ4Compression</compression>
            </column_family_options>
            <block_based_table_options>
              <filter_policy>bloomfilter:10:false</filter_policy>
              <block_cache>16M</block_cache>
            </block_based_table_options>
          </rocksdb>
        </clickhouse>

        """;

    private static readonly string FilePath = System.IO.Path.Combine(
        System.IO.Path.GetTempPath(),
        $"segmentmcp-chdb-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Text)))[..12]}.xml");

    /// <summary>
    /// The config's path in the temporary directory, named by its content and shared by processes; (re)written when it
    /// is missing or differs, since a connection opened later (a replaced one) reads it again.
    /// </summary>
    internal static string Path => EnsureWritten(FilePath);

    internal static string EnsureWritten(string path)
    {
        if (!File.Exists(path) || File.ReadAllText(path) != Text)
        {
            // Another process may write the same file at the same time: each writes its own and moves it in whole.
            var mine = $"{path}.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp";
            File.WriteAllText(mine, Text);
            File.Move(mine, path, overwrite: true);
        }

        return path;
    }
}
