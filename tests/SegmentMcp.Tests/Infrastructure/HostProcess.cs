using System.Diagnostics;

namespace SegmentMcp.Tests.Infrastructure;

/// <summary>Starts the real segmentmcp executable (built next to the tests) as a child process.</summary>
public static class HostProcess
{
    public static string AssemblyPath => Path.Combine(AppContext.BaseDirectory, "segmentmcp.dll");

    public static ProcessStartInfo StartInfo(params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(AssemblyPath);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }

    /// <summary>Runs the host to completion and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string StandardOutput, string StandardError)> RunAsync(string? standardInput, params string[] arguments)
    {
        var info = StartInfo(arguments);
        info.RedirectStandardInput = true;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (standardInput is not null)
        {
            await process.StandardInput.WriteAsync(standardInput);
        }

        process.StandardInput.Close();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }

    /// <summary>
    /// Stops a host started with redirected standard input by closing it (killing it after <paramref name="grace"/>),
    /// then removes its data directory.
    /// </summary>
    public static async Task StopAsync(Process process, TimeSpan grace, string dataPath)
    {
        try
        {
            process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(grace);
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }

        process.Dispose();
        try
        {
            Directory.Delete(dataPath, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
