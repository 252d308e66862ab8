using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace SegmentMcp.Mcp;

/// <summary>
/// Takes the process's standard input and output for the MCP protocol alone. The embedded engine (chDB) treats a
/// non-terminal standard input as data for INSERT queries and native code may print to standard output, so the
/// protocol keeps private duplicates of fds 0 and 1 while fd 0 becomes /dev/null and fd 1 a copy of standard error.
/// </summary>
internal static partial class StdioStreams
{
    public static (Stream Input, Stream Output) Detach()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return (Console.OpenStandardInput(), Console.OpenStandardOutput());
        }

        var input = Dup(0);
        var output = Dup(1);
        var devNull = Open("/dev/null", 0);
        if (devNull < 0 || Dup2(devNull, 0) < 0 || Dup2(2, 1) < 0)
        {
            throw new IOException($"Could not redirect the standard streams (errno {Marshal.GetLastPInvokeError()}).");
        }

        Close(devNull);
        return (
            new FileStream(new SafeFileHandle(input, ownsHandle: true), FileAccess.Read, bufferSize: 0),
            new FileStream(new SafeFileHandle(output, ownsHandle: true), FileAccess.Write, bufferSize: 0));
    }

    private static nint Dup(int fd)
    {
        var copy = DupNative(fd);
        return copy >= 0 ? copy : throw new IOException($"dup({fd}) failed (errno {Marshal.GetLastPInvokeError()}).");
    }

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static partial int DupNative(int fd);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int fd, int target);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
