using System.CommandLine;
using SegmentMcp.Core.Storage.Chdb;

namespace SegmentMcp.Cli;

/// <summary>
/// <c>segmentmcp clickhouse-server --data DIR --http-port N --tcp-port M [--config FILE] [--listen-host H]</c>:
/// serves the embedded data over ClickHouse's own HTTP and native protocols (clickhouse-client, DBeaver, Grafana,
/// ClickHouse.Driver). Runs until Ctrl+C / SIGTERM, or until standard input closes with --stop-on-stdin-eof.
/// </summary>
internal static class ClickHouseServerCommand
{
    // Not the engine flags' --data: this verb has never read SEGMENTMCP_DATA.
    private static readonly Option<string?> Data = Flags.Text("--data", "DIR", "The embedded data to serve (default ~/.local/share/segmentmcp).");
    private static readonly Option<int> HttpPort = Flags.Int("--http-port", "N", "ClickHouse's HTTP port.", 8123, 1, 65535);
    private static readonly Option<int> TcpPort = Flags.Int("--tcp-port", "M", "ClickHouse's native TCP port.", 9000, 1, 65535);
    private static readonly Option<string?> Config = Flags.Text("--config", "FILE", "A ClickHouse server config to use instead of SegmentMcp's own, which sets RocksDB bloom filters (for example one with a remote_servers section).");
    private static readonly Option<string[]> ListenHosts = Flags.Repeated("--listen-host", "HOST", "An address to listen on besides loopback (repeatable).");
    private static readonly Option<bool> StopOnStdinEof = Flags.Switch("--stop-on-stdin-eof", "Stop when standard input closes (for a parent process).");

    public static Command Create() => CommandLine.Verb(
        "clickhouse-server",
        "Serve the embedded data as a ClickHouse server (HTTP + native TCP) on loopback.",
        [Data, HttpPort, TcpPort, Config, ListenHosts, StopOnStdinEof],
        RunAsync);

    public static async Task<int> RunAsync(ParseResult args, CancellationToken stop)
    {
        var data = args.GetValue(Data) ?? EngineSelection.DefaultDataPath();
        var httpPort = args.GetValue(HttpPort);
        var tcpPort = args.GetValue(TcpPort);
        var config = args.GetValue(Config);
        var hosts = args.ValueOf(ListenHosts);
        var stopOnStdinEof = args.GetValue(StopOnStdinEof);
        if (config is not null && !File.Exists(config))
        {
            throw new UsageException($"--config: no file at '{config}'");
        }

        if (config is not null && ConfigProblem(config) is { } problem)
        {
            throw new UsageException($"--config {config}: {problem}");
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

    /// <summary>
    /// Why ClickHouse would refuse the config file, checked before the server starts: the engine reports a malformed
    /// file only once it is already announcing itself, with a native stack trace.
    /// </summary>
    private static string? ConfigProblem(string path)
    {
        // ClickHouse also reads YAML configs; those it checks itself.
        if (Path.GetExtension(path).ToLowerInvariant() is ".yaml" or ".yml")
        {
            return null;
        }

        try
        {
            var root = System.Xml.Linq.XDocument.Load(path, System.Xml.Linq.LoadOptions.SetLineInfo).Root;
            return root?.Name.LocalName is "clickhouse" or "yandex"
                ? null
                : $"the root element must be <clickhouse>, not <{root?.Name.LocalName}>";
        }
        catch (System.Xml.XmlException exception)
        {
            return $"not well-formed XML: {exception.Message}";
        }
    }
}
