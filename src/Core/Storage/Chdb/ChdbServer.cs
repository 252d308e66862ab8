using System.Runtime.InteropServices;
using System.Text;

namespace SegmentMcp.Core.Storage.Chdb;

/// <summary>Where and how the embedded engine serves ClickHouse's own HTTP and native protocols.</summary>
public sealed record ChdbServerOptions(string DataPath, int HttpPort, int TcpPort)
{
    /// <summary>A ClickHouse server config file (for example with a remote_servers section for a cluster).</summary>
    public string? ConfigFile { get; init; }

    /// <summary>Interfaces to listen on; loopback (127.0.0.1 and ::1) unless set.</summary>
    public IReadOnlyList<string> ListenHosts { get; init; } = [];
}

/// <summary>
/// Runs chDB as a real ClickHouse server: chdb_query_cmdline starts ClickHouse's listeners and then runs a query
/// that blocks reading a FIFO this process holds open. Closing the FIFO ends the query and the server.
/// (SYSTEM START LISTEN only works on this command-line path, not through chdb_connect.)
/// </summary>
public static class ChdbServer
{
    public static async Task<int> RunAsync(ChdbServerOptions options, TextWriter log, CancellationToken stop)
    {
        // ClickHouse tries its listeners and carries on without one it could not bind: the server would announce a
        // port it never serves. A port taken now is named before anything starts.
        foreach (var (port, protocol) in new[] { (options.HttpPort, "HTTP"), (options.TcpPort, "native TCP") })
        {
            if (PortTaken(port, options.ListenHosts) is { } host)
            {
                throw new IOException($"The {protocol} port {port} is already in use on {host}: choose another (--{(protocol == "HTTP" ? "http" : "tcp")}-port) or stop what holds it.");
            }
        }

        var dataPath = Path.GetFullPath(options.DataPath);
        Directory.CreateDirectory(dataPath);
        var fifo = Path.Combine(dataPath, $".segmentmcp-server-{Environment.ProcessId}.fifo");
        File.Delete(fifo);
        if (LibC.MakeFifo(fifo, Convert.ToUInt32("600", 8)) != 0)
        {
            throw new IOException($"Could not create the control FIFO '{fifo}' (errno {Marshal.GetLastPInvokeError()}).");
        }

        // Held read-write so opening never blocks and the server's reader sees EOF only when we close it.
        var holder = File.OpenHandle(fifo, FileMode.Open, FileAccess.ReadWrite);
        var arguments = new List<string>
        {
            "clickhouse",
            "--path=" + dataPath,
            "--http_port=" + options.HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tcp_port=" + options.TcpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        // A config of the caller's replaces the engine's own (ChdbConfig): one config file per process.
        arguments.Add("--config-file=" + (options.ConfigFile is null ? ChdbConfig.Path : Path.GetFullPath(options.ConfigFile)));

        foreach (var host in options.ListenHosts)
        {
            arguments.Add("--listen_host=" + host);
        }

        arguments.Add($"--query=SYSTEM START LISTEN HTTP; SYSTEM START LISTEN TCP; SELECT count() FROM file('{fifo}', 'LineAsString') FORMAT Null");

        ChdbLibrary.EnsureResolver();
        string? error = null;
        var serverThread = new Thread(() => error = RunCommandLine(arguments)) { IsBackground = true, Name = "chdb-server" };
        serverThread.Start();
        await log.WriteLineAsync($"ClickHouse (chDB {ChdbEngine.EngineVersion}) serving '{dataPath}': HTTP on port {options.HttpPort}, native TCP on port {options.TcpPort}" +
            (options.ListenHosts.Count == 0 ? " (loopback only)" : $" ({string.Join(", ", options.ListenHosts)})")).ConfigureAwait(false);

        var ended = new TaskCompletionSource();
        var watcher = new Thread(() =>
        {
            serverThread.Join();
            ended.TrySetResult();
        })
        { IsBackground = true };
        watcher.Start();
        await Task.WhenAny(ended.Task, Task.Delay(Timeout.Infinite, stop)).ConfigureAwait(false);
        holder.Dispose();
        await ended.Task.ConfigureAwait(false);
        File.Delete(fifo);
        if (error is not null)
        {
            await log.WriteLineAsync("The server stopped with an error: " + error).ConfigureAwait(false);
            return 1;
        }

        return 0;
    }

    /// <summary>The first address among the listen hosts (loopback when none) where <paramref name="port"/> cannot be bound.</summary>
    public static string? PortTaken(int port, IReadOnlyList<string> listenHosts)
    {
        var addresses = listenHosts.Count == 0
            ? [System.Net.IPAddress.Loopback]
            : listenHosts.Select(h => System.Net.IPAddress.TryParse(h.Trim('[', ']'), out var address) ? address : null).OfType<System.Net.IPAddress>().ToArray();
        foreach (var address in addresses)
        {
            using var probe = new System.Net.Sockets.Socket(address.AddressFamily, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            // As ClickHouse binds (SO_REUSEADDR): connections of an earlier server in TIME_WAIT do not count, a listener does.
            probe.SetSocketOption(System.Net.Sockets.SocketOptionLevel.Socket, System.Net.Sockets.SocketOptionName.ReuseAddress, true);
            try
            {
                probe.Bind(new System.Net.IPEndPoint(address, port));
            }
            catch (System.Net.Sockets.SocketException exception) when (exception.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse)
            {
                return address.ToString();
            }
            catch (System.Net.Sockets.SocketException)
            {
                // An address this machine does not have (or an IPv6 stack that is off) is ClickHouse's to report.
            }
        }

        return null;
    }

    private static unsafe string? RunCommandLine(List<string> arguments)
    {
        var encoded = arguments.Select(a => Encoding.UTF8.GetBytes(a + "\0")).ToArray();
        var pins = encoded.Select(bytes => GCHandle.Alloc(bytes, GCHandleType.Pinned)).ToArray();
        try
        {
            var argv = stackalloc byte*[encoded.Length];
            for (var i = 0; i < encoded.Length; i++)
            {
                argv[i] = (byte*)pins[i].AddrOfPinnedObject();
            }

            using var result = NativeMethods.QueryCommandLine(encoded.Length, argv);
            if (result.IsInvalid)
            {
                return "chDB returned no result";
            }

            var error = NativeMethods.ResultError(result);
            return error == null ? null : Marshal.PtrToStringUTF8((nint)error);
        }
        finally
        {
            foreach (var pin in pins)
            {
                pin.Free();
            }
        }
    }
}
