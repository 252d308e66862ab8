using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace SegmentMcp.Cli;

/// <summary>
/// chDB treats a piped standard input as data for INSERT statements (as clickhouse-local does) and then fails every
/// INSERT that carries its own data ("both inlined and external data … is not supported"). Before the embedded engine
/// opens, <see cref="Detach"/> moves the real standard input to another descriptor, points descriptor 0 at /dev/null,
/// and returns the real input as a stream for the verb that reads it.
/// </summary>
internal static partial class StandardInput
{
    private static readonly Lock Gate = new();
    private static Stream? detached;

    public static Stream Detach()
    {
        lock (Gate)
        {
            if (detached is not null)
            {
                return detached;
            }

            if (OperatingSystem.IsWindows())
            {
                return detached = Console.OpenStandardInput();
            }

            var copy = Dup(0);
            var devNull = Open("/dev/null", 0);
            if (copy < 0 || devNull < 0 || Dup2(devNull, 0) < 0)
            {
                throw new IOException($"Could not set standard input aside for the embedded engine (errno {Marshal.GetLastPInvokeError()}).");
            }

            Close(devNull);
            return detached = new FileStream(new SafeFileHandle(copy, ownsHandle: true), FileAccess.Read, bufferSize: 1);
        }
    }

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static partial int Dup(int descriptor);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int descriptor, int target);

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int descriptor);
}
