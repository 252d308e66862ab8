using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using SegmentMcp.Cli;

namespace SegmentMcp.Mcp;

/// <summary>
/// Takes the process's standard input and output for the MCP protocol alone: input is set aside by
/// <see cref="StandardInput.Detach"/> (chDB would read a piped stdin as INSERT data), and output keeps a private
/// duplicate of fd 1 while fd 1 becomes a copy of standard error, so nothing native can print into the protocol.
/// </summary>
internal static partial class StdioStreams
{
    public static (Stream Input, Stream Output) Detach()
    {
        var input = StandardInput.Detach();
        if (OperatingSystem.IsWindows())
        {
            return (input, Console.OpenStandardOutput());
        }

        var output = Dup(1);
        if (output < 0 || Dup2(2, 1) < 0)
        {
            throw new IOException($"Could not set standard output aside for the protocol (errno {Marshal.GetLastPInvokeError()}).");
        }

        return (input, new FileStream(new SafeFileHandle(output, ownsHandle: true), FileAccess.Write, bufferSize: 0));
    }

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static partial int Dup(int fd);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int fd, int target);
}
