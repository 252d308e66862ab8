using System.Globalization;

namespace SegmentMcp.Core.Ingest;

/// <summary>The memory figure that ingest and demo loads report.</summary>
public static class ProcessMemory
{
    /// <summary>VmHWM from /proc/self/status (Linux): the peak resident set of this process, native engine included.</summary>
    public static double PeakMegabytes()
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path))
        {
            return Environment.WorkingSet / 1048576.0;
        }

        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                var kilobytes = long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
                return kilobytes / 1024.0;
            }
        }

        return Environment.WorkingSet / 1048576.0;
    }
}
