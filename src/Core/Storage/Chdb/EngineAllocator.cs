using System.Runtime.InteropServices;

namespace SegmentMcp.Core.Storage.Chdb;

/// <summary>
/// Options of the engine's allocator (the jemalloc linked into libchdb.so), read from <see cref="OptionsVariable"/> when
/// the library loads. Unless that variable is set, the engine starts with <see cref="DefaultOptions"/>: transparent
/// huge pages for its memory, where the kernel allows them (<c>madvise</c> or <c>always</c> in
/// /sys/kernel/mm/transparent_hugepage/enabled). The allocator returns freed pages after seconds (and at once when a
/// tick starts, <see cref="ChdbEngine.ReleaseFreedMemoryAsync"/>), so a tick's statements take their memory from the
/// kernel again, a fault a 4 KiB page: on the 2M-profile demo, phase 1 of a 1% hour took 314–359 ms with huge pages
/// against 638–642 ms without, a chunk statement 87–93 against 92–96 ms (statements run after a release, medians of
/// five, separate processes interleaved); the ticks' peaks stayed under 900 MiB.
/// </summary>
internal static partial class EngineAllocator
{
    /// <summary>The variable the engine's allocator reads (its build prefixes jemalloc's MALLOC_CONF with JE_).</summary>
    internal const string OptionsVariable = "JE_MALLOC_CONF";

    internal const string DefaultOptions = "thp:always";

    /// <summary>
    /// Sets <see cref="OptionsVariable"/> in the process's native environment (which the allocator reads, and which
    /// <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not change) unless it is set already: an
    /// operator's value, an empty one included, wins. Called once, before the library loads.
    /// </summary>
    internal static void ApplyDefaults()
    {
        if (Current is null)
        {
            _ = SetEnv(OptionsVariable, DefaultOptions, overwrite: 0);
        }
    }

    /// <summary>The allocator options in the native environment, or null when unset.</summary>
    internal static string? Current => Marshal.PtrToStringUTF8(GetEnv(OptionsVariable));

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetEnv(string name);

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
