namespace SegmentMcp.Tests.Infrastructure;

/// <summary>
/// A directory of a test class's own (an xunit class fixture) for the real executable's data, removed after the class.
/// </summary>
public sealed class TemporaryDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("segmentmcp-test-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
