using SegmentMcp.Benchmarks;

var code = await BenchmarkCommand.RunAsync(args).ConfigureAwait(false);

// As in segmentmcp: chDB's static destructors crash when the process exits normally with its connections open.
await Console.Out.FlushAsync().ConfigureAwait(false);
await Console.Error.FlushAsync().ConfigureAwait(false);
if (!OperatingSystem.IsWindows())
{
    NativeExit.Exit(code);
}

return code;
