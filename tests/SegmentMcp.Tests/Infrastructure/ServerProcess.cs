using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SegmentMcp.Tests.Infrastructure;

/// <summary>
/// A real ClickHouse server for tests: <c>segmentmcp clickhouse-server</c> started as a child process on free
/// loopback ports, over its own temporary data directory. Disposing closes its standard input, which stops it.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly string dataPath;

    private ServerProcess(Process process, string dataPath, int httpPort, int tcpPort)
    {
        this.process = process;
        this.dataPath = dataPath;
        HttpPort = httpPort;
        TcpPort = tcpPort;
    }

    public int HttpPort { get; }

    public int TcpPort { get; }

    /// <summary>The server's process id (ClickHouse writes it into the data directory's status file).</summary>
    public int ProcessId => process.Id;

    public string ConnectionString => $"Host=127.0.0.1;Port={HttpPort};Username=default;Password=";

    public static async Task<ServerProcess> StartAsync(string? configFile = null, string? dataPath = null)
    {
        dataPath ??= Path.Combine(Path.GetTempPath(), "segmentmcp-server-tests", Guid.NewGuid().ToString("N"));
        var httpPort = FreePort();
        var tcpPort = FreePort();
        var info = HostProcess.StartInfo("clickhouse-server", "--data", dataPath, "--http-port", httpPort.ToString(), "--tcp-port", tcpPort.ToString(), "--stop-on-stdin-eof");
        if (configFile is not null)
        {
            info.ArgumentList.Add("--config");
            info.ArgumentList.Add(configFile);
        }

        info.RedirectStandardInput = true;
        var process = Process.Start(info)!;
        var log = new System.Text.StringBuilder();
        DataReceivedEventHandler collect = (_, e) =>
        {
            lock (log)
            {
                if (e.Data is not null && log.Length < 64_000)
                {
                    log.AppendLine(e.Data);
                }
            }
        };
        process.ErrorDataReceived += collect;
        process.OutputDataReceived += collect;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var server = new ServerProcess(process, dataPath, httpPort, tcpPort);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"clickhouse-server exited early: {log}");
            }

            try
            {
                var ping = await http.GetStringAsync($"http://127.0.0.1:{httpPort}/ping");
                if (ping.StartsWith("Ok", StringComparison.Ordinal))
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        await server.DisposeAsync();
        throw new TimeoutException("clickhouse-server did not answer /ping within 60 s");
    }

    public async ValueTask DisposeAsync()
    {
        await HostProcess.StopAsync(process, TimeSpan.FromSeconds(20), dataPath);
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
