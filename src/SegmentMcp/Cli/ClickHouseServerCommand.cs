using SegmentMcp.Core.Storage.Chdb;

namespace SegmentMcp.Cli;

/// <summary>
/// <c>segmentmcp clickhouse-server --data DIR --http-port N --tcp-port M [--config FILE] [--listen-host H]</c>:
/// serves the embedded data over ClickHouse's own HTTP and native protocols (clickhouse-client, DBeaver, Grafana,
/// ClickHouse.Driver). Runs until Ctrl+C / SIGTERM, or until standard input closes with --stop-on-stdin-eof.
/// </summary>
internal static class ClickHouseServerCommand
{
    public static async Task<int> RunAsync(CliArguments args, CancellationToken stop)
    {
        var data = args.Get("data") ?? EngineSelection.DefaultDataPath();
        var httpPort = args.GetInt("http-port", 8123, 1, 65535);
        var tcpPort = args.GetInt("tcp-port", 9000, 1, 65535);
        var config = args.Get("config");
        var hosts = args.GetAll("listen-host");
        var stopOnStdinEof = args.Has("stop-on-stdin-eof");
        args.RejectUnknown();
        if (config is not null && !File.Exists(config))
        {
            throw new UsageException($"--config: no file at '{config}'");
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop);
        if (stopOnStdinEof)
        {
            _ = Task.Run(
                async () =>
                {
                    using var stdin = Console.OpenStandardInput();
                    var buffer = new byte[256];
                    while (await stdin.ReadAsync(buffer, linked.Token).ConfigureAwait(false) > 0)
                    {
                    }

                    await linked.CancelAsync().ConfigureAwait(false);
                },
                linked.Token);
        }

        var options = new ChdbServerOptions(data, httpPort, tcpPort) { ConfigFile = config, ListenHosts = hosts };
        return await ChdbServer.RunAsync(options, Console.Error, linked.Token).ConfigureAwait(false);
    }
}
