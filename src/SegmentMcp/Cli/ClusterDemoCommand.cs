using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security;
using System.Text;
using SegmentMcp.Core.Storage.Chdb;

namespace SegmentMcp.Cli;

/// <summary>
/// <c>segmentmcp cluster-demo --shards N --base-port P --data DIR</c>: a real sharded ClickHouse cluster on this
/// machine. Starts N <c>clickhouse-server</c> processes (chDB in server mode, one storage directory each: chDB allows
/// one per process) on loopback, shard k on HTTP port P + 2(k−1) and native port P + 2(k−1) + 1, all sharing a
/// generated <c>remote_servers</c> config naming the cluster; prints the engine flags that use it; stops the
/// servers on Ctrl+C / SIGTERM or when standard input closes.
/// </summary>
internal static class ClusterDemoCommand
{
    /// <summary>The cluster's name in the generated remote_servers.</summary>
    public const string ClusterName = "segmentmcp";

    private static readonly Option<int> Shards = Flags.Int("--shards", "N", "Shards (one clickhouse-server each).", 2, 1, 16);
    private static readonly Option<int> BasePort = Flags.Int("--base-port", "P", "Shard k serves HTTP on P + 2(k-1) and native TCP on the port after it.", 19_000, 1_024, 65_000);
    private static readonly Option<string?> Data = Flags.Text("--data", "DIR", "Where the shards keep their data (DIR/shard1, …) and logs (default ~/.local/share/segmentmcp-cluster).");

    public static Command Create() => CommandLine.Verb(
        "cluster-demo",
        "Run a sharded ClickHouse cluster of N local clickhouse-server processes and print the --clickhouse/--cluster flags for it.",
        [Shards, BasePort, Data],
        RunAsync);

    public static async Task<int> RunAsync(ParseResult args, CancellationToken stop)
    {
        var shards = args.GetValue(Shards);
        var basePort = args.GetValue(BasePort);
        if (basePort + 2 * shards > 65_535)
        {
            throw new UsageException($"--base-port {basePort} leaves no room for {shards} shards' two ports each");
        }

        for (var port = basePort; port < basePort + (2 * shards); port++)
        {
            if (ChdbServer.PortTaken(port, []) is not null)
            {
                throw new UsageException($"--base-port {basePort}: port {port} (shard {((port - basePort) / 2) + 1}, {((port - basePort) % 2 == 0 ? "HTTP" : "native TCP")}) is already in use; choose another base port");
            }
        }

        var data = Path.GetFullPath(args.GetValue(Data) ?? Path.Combine(Path.GetDirectoryName(EngineSelection.DefaultDataPath())!, "segmentmcp-cluster"));
        Directory.CreateDirectory(data);
        var config = Path.Combine(data, "remote_servers.xml");
        await File.WriteAllTextAsync(config, RemoteServers(shards, basePort), stop).ConfigureAwait(false);

        var servers = new List<Process>();
        try
        {
            for (var shard = 1; shard <= shards; shard++)
            {
                servers.Add(Start(Path.Combine(data, $"shard{shard}"), HttpPort(basePort, shard), HttpPort(basePort, shard) + 1, config, Path.Combine(data, $"shard{shard}.log")));
            }

            for (var shard = 1; shard <= shards; shard++)
            {
                await WaitForPingAsync(servers[shard - 1], HttpPort(basePort, shard), Path.Combine(data, $"shard{shard}.log"), stop).ConfigureAwait(false);
            }

            await Console.Error.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"cluster '{ClusterName}': {shards} shard(s) on 127.0.0.1, HTTP ports {basePort}…{HttpPort(basePort, shards)} (step 2), data and logs in {data}. Ctrl+C or end of input stops it. Use:")).ConfigureAwait(false);
            await Console.Out.WriteLineAsync(
                $"--clickhouse \"Host=127.0.0.1;Port={basePort.ToString(CultureInfo.InvariantCulture)};Username=default;Password=\" --cluster {ClusterName}").ConfigureAwait(false);
            await Console.Out.FlushAsync(stop).ConfigureAwait(false);
            await WaitForStopAsync(servers, stop).ConfigureAwait(false);
            return CommandLine.Ok;
        }
        finally
        {
            await StopAsync(servers).ConfigureAwait(false);
        }
    }

    /// <summary>The remote_servers section: one shard per server, weight 1, in shard order.</summary>
    internal static string RemoteServers(int shards, int basePort)
    {
        var text = new StringBuilder("<clickhouse>\n  <remote_servers>\n    <").Append(ClusterName).Append(">\n");
        for (var shard = 1; shard <= shards; shard++)
        {
            text.Append(CultureInfo.InvariantCulture, $"      <shard><weight>1</weight><replica><host>127.0.0.1</host><port>{HttpPort(basePort, shard) + 1}</port></replica></shard>\n");
        }

        return text.Append("    </").Append(ClusterName).Append(">\n  </remote_servers>\n</clickhouse>\n").ToString();
    }

    private static int HttpPort(int basePort, int shard) => basePort + (2 * (shard - 1));

    private static Process Start(string dataPath, int httpPort, int tcpPort, string config, string log)
    {
        var info = SelfStartInfo();
        foreach (var argument in new[]
        {
            "clickhouse-server", "--data", dataPath, "--http-port", httpPort.ToString(CultureInfo.InvariantCulture),
            "--tcp-port", tcpPort.ToString(CultureInfo.InvariantCulture), "--config", config, "--stop-on-stdin-eof",
        })
        {
            info.ArgumentList.Add(argument);
        }

        info.RedirectStandardInput = true;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start a clickhouse-server process.");
        var writer = new StreamWriter(log, append: true) { AutoFlush = true };
        var gate = new object();
        var closed = false;
        DataReceivedEventHandler collect = (_, e) =>
        {
            lock (gate)
            {
                if (e.Data is not null && !closed)
                {
                    writer.WriteLine(e.Data);
                }
            }
        };
        process.OutputDataReceived += collect;
        process.ErrorDataReceived += collect;
        process.Exited += (_, _) =>
        {
            lock (gate)
            {
                closed = true;
                writer.Dispose();
            }
        };
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>This same program: the apphost, or <c>dotnet segmentmcp.dll</c>.</summary>
    private static ProcessStartInfo SelfStartInfo()
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var info = new ProcessStartInfo(host) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            info.ArgumentList.Add(typeof(ClusterDemoCommand).Assembly.Location);
        }

        return info;
    }

    private static async Task WaitForPingAsync(Process server, int httpPort, string log, CancellationToken stop)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (server.HasExited)
            {
                // Its output is in the log once the process's streams are drained; the last line says why it stopped.
                await server.WaitForExitAsync(stop).ConfigureAwait(false);
                var why = File.Exists(log) ? (await File.ReadAllLinesAsync(log, stop).ConfigureAwait(false)).LastOrDefault(line => line.Length > 0) : null;
                throw new InvalidOperationException(
                    $"The clickhouse-server on port {httpPort} exited early (exit code {server.ExitCode}){(why is null ? string.Empty : ": " + why)} (log: {log})");
            }

            try
            {
                if ((await http.GetStringAsync(new Uri($"http://127.0.0.1:{httpPort.ToString(CultureInfo.InvariantCulture)}/ping"), stop).ConfigureAwait(false)).StartsWith("Ok", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!stop.IsCancellationRequested)
            {
            }

            await Task.Delay(200, stop).ConfigureAwait(false);
        }

        throw new TimeoutException($"The clickhouse-server on port {httpPort} did not answer /ping within 90 s.");
    }

    /// <summary>Until Ctrl+C / SIGTERM, the end of standard input, or a server dying.</summary>
    private static async Task WaitForStopAsync(List<Process> servers, CancellationToken stop)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var input = Task.Run(
            async () =>
            {
                using var stdin = Console.OpenStandardInput();
                var buffer = new byte[256];
                while (await stdin.ReadAsync(buffer, linked.Token).ConfigureAwait(false) > 0)
                {
                }
            },
            linked.Token);
        var died = servers.Select(s => s.WaitForExitAsync(linked.Token));
        try
        {
            await Task.WhenAny([input, Task.Delay(Timeout.Infinite, linked.Token), .. died]).ConfigureAwait(false);
        }
        finally
        {
            await linked.CancelAsync().ConfigureAwait(false);
        }

        if (servers.Find(s => s.HasExited) is { } dead)
        {
            await Console.Error.WriteLineAsync($"cluster-demo: a clickhouse-server stopped (exit code {dead.ExitCode}); stopping the others").ConfigureAwait(false);
        }
    }

    private static async Task StopAsync(List<Process> servers)
    {
        foreach (var server in servers)
        {
            try
            {
                server.StandardInput.Close();
            }
            catch (IOException)
            {
            }
        }

        foreach (var server in servers)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await server.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                try
                {
                    server.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                }
                catch (SecurityException)
                {
                }
            }

            server.Dispose();
        }
    }
}
