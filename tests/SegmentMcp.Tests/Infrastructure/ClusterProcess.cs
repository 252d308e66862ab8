using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Storage.Server;

namespace SegmentMcp.Tests.Infrastructure;

/// <summary>
/// A real sharded ClickHouse cluster for tests: <c>segmentmcp cluster-demo</c> started as a child process (N
/// clickhouse-server processes on loopback) on free ports, over a temporary directory. The flags it prints are
/// what the tests connect with; disposing closes its standard input, which stops every shard.
/// </summary>
public sealed partial class ClusterProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly string dataPath;

    private ClusterProcess(Process process, string dataPath, string connectionString, string clusterName, int shards)
    {
        this.process = process;
        this.dataPath = dataPath;
        ConnectionString = connectionString;
        ClusterName = clusterName;
        Shards = shards;
        Engine = new ClickHouseServerEngine(connectionString, Limits);
    }

    /// <summary>The cluster's query settings, as the CLI gives them with --cluster.</summary>
    public static EngineLimits Limits { get; } = new() { QueryTimeout = TimeSpan.FromSeconds(120), Settings = ClusterSchema.QuerySettings };

    public string ConnectionString { get; }

    public string ClusterName { get; }

    public int Shards { get; }

    /// <summary>The entry point (shard 1) with the cluster's settings.</summary>
    public ClickHouseServerEngine Engine { get; }

    public static async Task<ClusterProcess> StartAsync(int shards)
    {
        var dataPath = Path.Combine(Path.GetTempPath(), "segmentmcp-cluster-tests", Guid.NewGuid().ToString("N"));
        var basePort = FreePortRange(2 * shards);
        var info = HostProcess.StartInfo("cluster-demo", "--shards", shards.ToString(), "--base-port", basePort.ToString(), "--data", dataPath);
        info.RedirectStandardInput = true;
        var process = Process.Start(info)!;
        var errors = process.StandardError.ReadToEndAsync();
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(180));
        var flags = line is null ? null : FlagsPattern().Match(line);
        if (flags is null || !flags.Success)
        {
            process.StandardInput.Close();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            throw new InvalidOperationException($"cluster-demo printed no flags: '{line}' {await errors}");
        }

        return new ClusterProcess(process, dataPath, flags.Groups[1].Value, flags.Groups[2].Value, shards);
    }

    /// <summary>A new database with SegmentMcp's tables sharded over the cluster.</summary>
    public async Task<StorageSchema> NewSchemaAsync(int? tenantShards = null, [CallerMemberName] string test = "")
    {
        var schema = Schema(TestEngines.DatabaseName(test), tenantShards);
        await schema.EnsureCreatedAsync(Engine);
        return schema;
    }

    public StorageSchema Schema(string database, int? tenantShards = null) =>
        new(database) { Cluster = new ClusterSchema(ClusterName, ConnectionString, Limits, tenantShards) };

    /// <summary>A direct connection to every shard, in shard order (the caller disposes them).</summary>
    public async Task<IReadOnlyList<ClickHouseServerEngine>> ConnectShardsAsync()
    {
        var cluster = new ClusterSchema(ClusterName, ConnectionString, Limits);
        var nodes = await cluster.ReadNodesAsync(Engine);
        Assert.Equal(Shards, nodes.Count);
        var engines = new List<ClickHouseServerEngine>();
        foreach (var node in nodes)
        {
            engines.Add(await cluster.ConnectAsync(Engine, node));
        }

        return engines;
    }

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        await HostProcess.StopAsync(process, TimeSpan.FromSeconds(60), dataPath);
    }

    /// <summary>The first of <paramref name="count"/> consecutive free loopback ports.</summary>
    private static int FreePortRange(int count)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var start = Random.Shared.Next(20_000, 60_000);
            var listeners = new List<TcpListener>();
            try
            {
                for (var port = start; port < start + count; port++)
                {
                    var listener = new TcpListener(IPAddress.Loopback, port);
                    listener.Start();
                    listeners.Add(listener);
                }

                return start;
            }
            catch (SocketException)
            {
            }
            finally
            {
                listeners.ForEach(l => l.Stop());
            }
        }

        throw new InvalidOperationException("No free range of loopback ports.");
    }

    [GeneratedRegex("^--clickhouse \"([^\"]+)\" --cluster (\\S+)$")]
    private static partial Regex FlagsPattern();
}

/// <summary>A 2-shard cluster, started once for a test class.</summary>
public sealed class TwoShardCluster : IAsyncLifetime
{
    public ClusterProcess Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await ClusterProcess.StartAsync(2);

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>A 3-shard cluster, started once for a test class.</summary>
public sealed class ThreeShardCluster : IAsyncLifetime
{
    public ClusterProcess Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await ClusterProcess.StartAsync(3);

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}
