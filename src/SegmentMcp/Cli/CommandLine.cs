namespace SegmentMcp.Cli;

internal static class CommandLine
{
    public static Task<int> RunAsync(string[] args)
    {
        Console.Error.WriteLine("segmentmcp: " + string.Join(' ', args));
        return Task.FromResult(0);
    }
}
