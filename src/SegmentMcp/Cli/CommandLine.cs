using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Text;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Cli;

/// <summary>A usage mistake a verb finds after parsing (flags that contradict, a file that is not there): exit 2 with the verb's usage.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// The segmentmcp command line, on System.CommandLine: <c>segmentmcp [VERB] [--flags]</c>; with no verb (or flags
/// first) it serves MCP over stdio. Every verb is a <see cref="Command"/> made by <see cref="Verb"/> with its
/// <see cref="Flags"/> (see <see cref="VerbRegistry"/>); help, usage lines and errors all come from those declarations.
/// Standard output belongs to the verb's result (and to the MCP protocol when serving); messages go to standard error.
/// Exit codes: 0 done, 1 failed (or stopped by Ctrl+C / SIGTERM), 2 a usage mistake.
/// </summary>
internal static class CommandLine
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int UsageError = 2;

    private static readonly ParserConfiguration Parsing = new()
    {
        ResponseFileTokenReplacer = null, // "@file" is an ordinary argument, not a file of more arguments
    };

    // Ctrl+C and SIGTERM are handled below (the verb sees its token cancelled and ends as it sees fit); exceptions are
    // worded below too.
    private static readonly InvocationConfiguration Invocation = new()
    {
        EnableDefaultExceptionHandler = false,
        ProcessTerminationTimeout = null,
    };

    /// <summary>Every verb, built once (verbs share option instances, such as the engine flags).</summary>
    internal static RootCommand Root { get; } = BuildRoot();

    /// <summary>Declares a verb: its name, a one-line description, its flags and what it runs.</summary>
    public static Command Verb(string name, string description, IEnumerable<Option> options, Func<ParseResult, CancellationToken, Task<int>> run)
    {
        var command = new Command(name, description);
        foreach (var option in options)
        {
            command.Options.Add(option);
        }

        command.SetAction(run);
        return command;
    }

    /// <summary>Parses a command line; no verb, or flags first, means <c>serve</c>.</summary>
    public static ParseResult Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0 || (args[0].StartsWith("--", StringComparison.Ordinal) && args[0] is not ("--help" or "--version")))
        {
            args = ["serve", .. args];
        }

        return Root.Parse(args, Parsing);
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var parsed = Parse(args);
        var command = parsed.CommandResult.Command;
        if (parsed.Errors.Count > 0)
        {
            return command.Action is null
                ? await UnknownVerbAsync(command, parsed).ConfigureAwait(false)
                : await UsageAsync(command, parsed.Errors.Select(e => e.Message)).ConfigureAwait(false);
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

        var verb = Name(command);
        try
        {
            return await parsed.InvokeAsync(Invocation, stop.Token).ConfigureAwait(false);
        }
        catch (UsageException usage)
        {
            return await UsageAsync(command, [usage.Message]).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"segmentmcp {verb}: stopped").ConfigureAwait(false);
            return Failed;
        }
        catch (ClickHouseException engine)
        {
            // An error of SegmentMcp's own about the engine (no ClickHouse code) is shown without the empty code.
            var source = engine.Code == 0 && engine.ErrorName.Length == 0 ? "" : $"ClickHouse error {engine.Code} {engine.ErrorName}: ";
            await Console.Error.WriteLineAsync($"segmentmcp {verb}: {source}{engine.Message}").ConfigureAwait(false);
            return Failed;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidOperationException or InvalidDataException or DllNotFoundException or ArgumentException)
        {
            await Console.Error.WriteLineAsync($"segmentmcp {verb}: {exception.Message}").ConfigureAwait(false);
            return Failed;
        }
    }

    /// <summary>The overview that <c>segmentmcp help</c> prints: every verb with its description and usage, then the engine flags.</summary>
    internal static string Overview()
    {
        var text = new StringBuilder();
        text.AppendLine(Root.Description);
        text.AppendLine();
        text.AppendLine("usage: segmentmcp [VERB] [--flags]   (no verb: serve MCP over stdio; 'segmentmcp VERB --help' describes each flag)");
        text.AppendLine();
        foreach (var verb in Verbs())
        {
            text.AppendLine($"  {Name(verb),-20} {verb.Description}");
            if (Usage(verb) is { Length: > 0 } usage)
            {
                text.AppendLine($"  {string.Empty,-20} {usage}");
            }
        }

        text.AppendLine();
        text.AppendLine("Engine flags (every verb that reads data):");
        var width = EngineSelection.Options.Max(option => option.Name.Length + 1 + (option.HelpName?.Length ?? 0));
        foreach (var option in EngineSelection.Options)
        {
            var usage = option.HelpName is null ? option.Name : option.Name + " " + option.HelpName;
            var byDefault = option.HasDefaultValue ? $" (default {option.GetDefaultValue()})" : string.Empty;
            text.AppendLine($"  {usage.PadRight(width)}  {option.Description}{byDefault}");
        }

        return text.ToString();
    }

    /// <summary>Every runnable verb by name, two-word verbs such as <c>benchmark engine</c> included.</summary>
    internal static IEnumerable<Command> Verbs() =>
        Leaves(Root).OrderBy(Name, StringComparer.Ordinal);

    /// <summary>A verb's full name: <c>ingest</c>, <c>benchmark engine</c>.</summary>
    internal static string Name(Command command) =>
        command.Parents.OfType<Command>().FirstOrDefault() is { } parent and not RootCommand ? Name(parent) + " " + command.Name : command.Name;

    /// <summary>A verb's arguments (<c>"QUESTION"</c>) and flags as a usage line: <c>--name VALUE</c>, optional ones in brackets, repeatable ones with <c>...</c>.</summary>
    internal static string Usage(Command command) =>
        string.Join(' ', command.Arguments.Select(argument => $"\"{argument.HelpName ?? argument.Name}\"").Concat(command.Options.Where(option => !option.Hidden).Select(option =>
            option.ValueType == typeof(bool) ? $"[{option.Name}]"
            : option.ValueType.IsArray ? $"[{option.Name} {option.HelpName}]..."
            : option.Required ? $"{option.Name} {option.HelpName}"
            : $"[{option.Name} {option.HelpName}]")));

    private static RootCommand BuildRoot()
    {
        var root = new RootCommand("segmentmcp — audience segments on ClickHouse, served over MCP.");
        root.Directives.Clear(); // "[x]" is an ordinary argument (an unknown verb), not a directive
        foreach (var verb in VerbRegistry.All())
        {
            root.Subcommands.Add(verb);
        }

        var help = Verb("help", "Show this overview of every verb and flag ('segmentmcp VERB --help' for one verb).", [], (_, _) => WriteAsync(Overview()));
        help.TreatUnmatchedTokensAsErrors = false; // "segmentmcp help ingest" shows the overview too
        root.Subcommands.Add(help);
        root.Subcommands.Add(Verb("version", "Print the version.", [], (_, _) => WriteAsync(Version() + Environment.NewLine)));
        foreach (var option in root.Options)
        {
            option.Action = option switch
            {
                HelpOption => new OverviewOrVerbHelp((SynchronousCommandLineAction)option.Action!),
                VersionOption => new PrintVersion(),
                _ => option.Action,
            };
        }

        return root;
    }

    private static IEnumerable<Command> Leaves(Command command) =>
        command.Subcommands.Count == 0 ? [command] : command.Subcommands.SelectMany(Leaves);

    private static string Version() => typeof(CommandLine).Assembly.GetName().Version?.ToString() ?? "0";

    private static async Task<int> WriteAsync(string text)
    {
        await Console.Out.WriteAsync(text).ConfigureAwait(false);
        return Ok;
    }

    private static async Task<int> UsageAsync(Command command, IEnumerable<string> problems)
    {
        var verb = Name(command);
        var text = new StringBuilder();
        foreach (var problem in problems)
        {
            text.AppendLine($"segmentmcp {verb}: {problem}");
        }

        text.AppendLine($"usage: segmentmcp {verb} {Usage(command)}");
        await Console.Error.WriteAsync(text.ToString()).ConfigureAwait(false);
        return UsageError;
    }

    /// <summary>A word that names no verb: <c>segmentmcp bogus</c>, <c>segmentmcp benchmark bogus</c>, or a group alone.</summary>
    private static async Task<int> UnknownVerbAsync(Command group, ParseResult parsed)
    {
        var word = (group is RootCommand ? parsed.Tokens.FirstOrDefault()?.Value : parsed.UnmatchedTokens.FirstOrDefault()) ?? string.Empty;
        var attempted = group is RootCommand ? word : word.Length == 0 || word.StartsWith('-') ? Name(group) : $"{Name(group)} {word}";
        await Console.Error.WriteLineAsync($"segmentmcp: unknown verb '{attempted}'. Verbs: {string.Join(", ", Verbs().Select(Name))}. See 'segmentmcp help'.").ConfigureAwait(false);
        return UsageError;
    }

    /// <summary><c>--help</c>: the overview without a verb, System.CommandLine's help of the verb with one.</summary>
    private sealed class OverviewOrVerbHelp(SynchronousCommandLineAction verbHelp) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            if (parseResult.CommandResult.Command is not RootCommand)
            {
                return verbHelp.Invoke(parseResult);
            }

            parseResult.InvocationConfiguration.Output.Write(Overview());
            return Ok;
        }
    }

    /// <summary><c>--version</c>, like the <c>version</c> verb.</summary>
    private sealed class PrintVersion : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(Version());
            return Ok;
        }
    }
}
