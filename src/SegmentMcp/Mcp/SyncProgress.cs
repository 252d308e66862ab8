namespace SegmentMcp.Mcp;

/// <summary>Reports on the caller's thread, so every progress notification is sent before the result.</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
