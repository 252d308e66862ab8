using System.Globalization;

namespace SegmentMcp.Core.Ingest;

/// <summary>The memory figures that ingest, demo loads and benchmarks report.</summary>
public static class ProcessMemory
{
    /// <summary>VmHWM from /proc/self/status (Linux): the peak resident set of this process, native engine included.</summary>
    public static double PeakMegabytes() => StatusMegabytes("VmHWM:");

    /// <summary>VmRSS from /proc/self/status (Linux): the resident set of this process now, native engine included.</summary>
    public static double ResidentMegabytes() => StatusMegabytes("VmRSS:");

    /// <summary>
    /// RssFile from /proc/self/status (Linux): the part of the resident set that maps files, mostly the native engine
    /// library's and the runtime's code (shared, dropped and read back by the kernel as needed); 0 elsewhere.
    /// </summary>
    public static double FileBackedMegabytes() => File.Exists("/proc/self/status") ? StatusMegabytes("RssFile:") : 0;

    private static double StatusMegabytes(string field)
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path))
        {
            return Environment.WorkingSet / 1048576.0;
        }

        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
            {
                var kilobytes = long.Parse(line.AsSpan(field.Length).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                return kilobytes / 1024.0;
            }
        }

        return Environment.WorkingSet / 1048576.0;
    }
}
