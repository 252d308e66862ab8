using System.Reflection;
using System.Runtime.InteropServices;

namespace SegmentMcp.Core.Storage.Chdb;

/// <summary>
/// Finds libchdb.so: <c>SEGMENTMCP_CHDB_LIBRARY</c>, else the per-user cache that build/fetch-chdb.sh fills
/// (<c>$XDG_CACHE_HOME/segmentmcp/chdb/VERSION/libchdb.so</c>).
/// </summary>
public static class ChdbLibrary
{
    public const string PackageVersion = "26.7.3-stable.1";
    public const string PathVariable = "SEGMENTMCP_CHDB_LIBRARY";

    private static int registered;

    public static string ResolvePath()
    {
        var explicitPath = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return explicitPath;
        }

        var cacheRoot = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(cacheRoot))
        {
            cacheRoot = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        }

        return Path.Combine(cacheRoot, "segmentmcp", "chdb", PackageVersion, "libchdb.so");
    }

    /// <summary>Installs the resolver once; later calls do nothing.</summary>
    internal static void EnsureResolver()
    {
        if (Interlocked.Exchange(ref registered, 1) == 1)
        {
            return;
        }

        NativeLibrary.SetDllImportResolver(typeof(ChdbLibrary).Assembly, Resolve);
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != NativeMethods.Library)
        {
            return nint.Zero;
        }

        var path = ResolvePath();
        if (!File.Exists(path))
        {
            throw new DllNotFoundException(
                $"The embedded ClickHouse engine (libchdb.so) was not found at '{path}'. Run 'dotnet build' (it fetches " +
                $"the npm package @chdb/lib-linux-x64-gnu@{PackageVersion}) or 'bash build/fetch-chdb.sh', or point " +
                $"{PathVariable} at an existing libchdb.so.");
        }

        return NativeLibrary.Load(path);
    }
}
