using SegmentMcp.Core.Storage;

namespace SegmentMcp.Cli;

/// <summary>
/// The segmentmcp command line: <c>segmentmcp [VERB] [--flags]</c>. With no verb it serves MCP over stdio.
/// Standard output belongs to the verb's result (and to the MCP protocol when serving); logs go to standard error.
/// </summary>
internal static class CommandLine
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int UsageError = 2;

    private static readonly Dictionary<string, Verb> Verbs = new(StringComparer.Ordinal)
    {
        ["clickhouse-server"] = new(
            "Serve the embedded data as a ClickHouse server (HTTP + native TCP) on loopback.",
            "--data DIR --http-port N --tcp-port M [--config FILE] [--listen-host HOST]... [--stop-on-stdin-eof]",
            ["stop-on-stdin-eof"],
            ClickHouseServerCommand.RunAsync),
    };

    /// <summary>Adds a verb. Verbs live in their own files and register here.</summary>
    internal static void Register(string name, string summary, string usage, IReadOnlyList<string> switches, Func<CliArguments, CancellationToken, Task<int>> run) =>
        Verbs[name] = new Verb(summary, usage, switches, run);

    public static async Task<int> RunAsync(string[] args)
    {
        VerbRegistry.RegisterAll();
        if (args.Length > 0 && args[0] is "help" or "--help" or "-h")
        {
            await Console.Out.WriteAsync(Help()).ConfigureAwait(false);
            return Ok;
        }

        if (args.Length > 0 && args[0] is "version" or "--version")
        {
            await Console.Out.WriteLineAsync(typeof(CommandLine).Assembly.GetName().Version?.ToString() ?? "0").ConfigureAwait(false);
            return Ok;
        }

        var verbName = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "serve";
        var rest = verbName == "serve" && (args.Length == 0 || args[0] != "serve") ? args : args[1..];
        if (!Verbs.TryGetValue(verbName, out var verb))
        {
            await Console.Error.WriteLineAsync($"segmentmcp: unknown verb '{verbName}'. Verbs: {string.Join(", ", Verbs.Keys.Order(StringComparer.Ordinal))}. See 'segmentmcp help'.").ConfigureAwait(false);
            return UsageError;
        }

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM,
            context =>
            {
                context.Cancel = true;
                stop.Cancel();
            });

        try
        {
            var parsed = CliArguments.Parse(verbName, rest, verb.Switches.ToHashSet(StringComparer.Ordinal));
            return await verb.Run(parsed, stop.Token).ConfigureAwait(false);
        }
        catch (UsageException usage)
        {
            await Console.Error.WriteLineAsync($"segmentmcp {verbName}: {usage.Message}\nusage: segmentmcp {verbName} {verb.Usage}").ConfigureAwait(false);
            return UsageError;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"segmentmcp {verbName}: stopped").ConfigureAwait(false);
            return Failed;
        }
        catch (ClickHouseException engine)
        {
            await Console.Error.WriteLineAsync($"segmentmcp {verbName}: ClickHouse error {engine.Code} {engine.ErrorName}: {engine.Message}").ConfigureAwait(false);
            return Failed;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidOperationException or DllNotFoundException or ArgumentException)
        {
            await Console.Error.WriteLineAsync($"segmentmcp {verbName}: {exception.Message}").ConfigureAwait(false);
            return Failed;
        }
    }

    private static string Help()
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine("segmentmcp — audience segments on ClickHouse, served over MCP.");
        text.AppendLine();
        text.AppendLine("usage: segmentmcp [VERB] [--flags]   (no verb: serve MCP over stdio)");
        text.AppendLine();
        foreach (var (name, verb) in Verbs.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            text.AppendLine($"  {name,-20} {verb.Summary}");
            text.AppendLine($"  {string.Empty,-20} {verb.Usage}");
        }

        text.AppendLine();
        text.AppendLine("Engine flags (every verb that reads data): --data DIR (embedded, default ~/.local/share/segmentmcp; env SEGMENTMCP_DATA)");
        text.AppendLine("  or --clickhouse \"Host=…;Port=8123;Username=…;Password=…\" (env SEGMENTMCP_CLICKHOUSE); --database NAME (default segmentmcp);");
        text.AppendLine("  --query-timeout SECONDS (default 60, enforced by ClickHouse).");
        return text.ToString();
    }

    private sealed record Verb(string Summary, string Usage, IReadOnlyList<string> Switches, Func<CliArguments, CancellationToken, Task<int>> Run);
}
