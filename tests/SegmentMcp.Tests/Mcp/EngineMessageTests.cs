using SegmentMcp.Core.Storage;
using SegmentMcp.Mcp;

namespace SegmentMcp.Tests.Mcp;

/// <summary>What a model reads about an engine failure: the kind and what to do, in full when nothing can run at all.</summary>
public sealed class EngineMessageTests
{
    [Fact]
    public void An_engine_error_for_a_model_says_what_to_fix_when_the_engine_is_unavailable()
    {
        var unavailable = ClickHouseException.Unavailable(76, "CANNOT_OPEN_FILE", "The embedded data directory '/d' is in use by process 42 (x).");

        var message = SegmentMcpServer.EngineMessage(unavailable);

        Assert.Equal("The segment database is not available: The embedded data directory '/d' is in use by process 42 (x). Tell the user what to fix; once it is fixed the next call works, no restart needed.", message);
        Assert.StartsWith("The database could not run this request (ClickHouse error 76 CANNOT_OPEN_FILE)", SegmentMcpServer.EngineMessage(new ClickHouseException(76, "CANNOT_OPEN_FILE", "x")), StringComparison.Ordinal);
    }
}
