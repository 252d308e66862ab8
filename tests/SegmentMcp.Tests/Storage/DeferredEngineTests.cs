using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Storage.Server;

namespace SegmentMcp.Tests.Storage;

/// <summary>
/// The server's engine opens in the background; an open that failed is the error of every call until one, at least
/// the retry interval later, opens it again: a server that was down, or a directory another process held, is picked up
/// without restarting the MCP client.
/// </summary>
[Trait("Category", "Engine")]
public sealed class DeferredEngineTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly SqlStatement One = new("SELECT 1 AS one");

    [Fact]
    public async Task A_failed_open_is_every_calls_error_until_a_retry_succeeds()
    {
        var attempts = 0;
        var failures = new List<Exception>();
        await using var engine = new DeferredEngine(
            _ => ++attempts <= 1
                ? Task.FromException<IClickHouseEngine>(ClickHouseException.Unavailable(ClickHouseException.NetworkError, "NETWORK_ERROR", "down for maintenance"))
                : Task.FromResult<IClickHouseEngine>(new ClickHouseServerEngine(fixture.Server.ConnectionString)),
            TimeSpan.FromSeconds(2),
            CancellationToken.None);
        engine.OpenFailed += failures.Add;

        Assert.Equal("opening", engine.Kind);
        var first = await Assert.ThrowsAsync<ClickHouseException>(() => engine.QueryAsync(One));
        Assert.True(first.IsUnavailable);
        Assert.Equal("down for maintenance", first.Message);

        // Within the interval the failure is answered again without another attempt.
        var again = await Assert.ThrowsAsync<ClickHouseException>(() => engine.QueryAsync(One));
        Assert.Same(first, again);
        Assert.Equal(1, attempts);
        Assert.Equal([first], failures);

        await Task.Delay(TimeSpan.FromSeconds(2.2));
        var result = await engine.QueryAsync(One);

        Assert.Equal(2, attempts);
        Assert.Equal(1L, Convert.ToInt64(result.Rows.Single()[0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("server", engine.Kind);
        await engine.QueryAsync(One);
        Assert.Equal(2, attempts);
    }
}
