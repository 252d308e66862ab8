using System.Runtime.InteropServices;
using SegmentMcp.Cli;

var code = await CommandLine.RunAsync(args).ConfigureAwait(false);

// chDB's static destructors crash (SIGSEGV) when the process exits normally with its connections open, which would
// turn every exit code into 139. Everything the verb wrote is committed by now, so flush and leave without them.
await Console.Out.FlushAsync().ConfigureAwait(false);
await Console.Error.FlushAsync().ConfigureAwait(false);
if (!OperatingSystem.IsWindows())
{
    NativeExit.Exit(code);
}

return code;

internal static partial class NativeExit
{
    [LibraryImport("libc", EntryPoint = "_exit")]
    internal static partial void Exit(int status);
}
