using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace SegmentMcp.Tests.Infrastructure;

/// <summary>A loopback port held by a listener for as long as this lives: a port some other program already uses.</summary>
public sealed class TakenPort : IDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);

    public TakenPort()
    {
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public int Port { get; }

    public string Text => Port.ToString(CultureInfo.InvariantCulture);

    public void Dispose() => listener.Dispose();
}
