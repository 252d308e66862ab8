using System.Globalization;

namespace SegmentMcp.Cli;

/// <summary>A usage mistake: the message names the flag or value and says what is expected.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// <c>--name value</c>, <c>--name=value</c> and bare <c>--switch</c> flags after a verb. Every flag a verb reads
/// is declared; anything else is reported as unknown.
/// </summary>
internal sealed class CliArguments
{
    private readonly Dictionary<string, List<string>> values = new(StringComparer.Ordinal);
    private readonly HashSet<string> switches = new(StringComparer.Ordinal);
    private readonly HashSet<string> read = new(StringComparer.Ordinal);

    private CliArguments(string verb)
    {
        Verb = verb;
    }

    public string Verb { get; }

    /// <summary>Parses <paramref name="args"/>; <paramref name="switchNames"/> are flags that take no value.</summary>
    public static CliArguments Parse(string verb, IReadOnlyList<string> args, IReadOnlySet<string> switchNames)
    {
        var result = new CliArguments(verb);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                throw new UsageException($"unexpected argument '{arg}' (flags start with --; see 'segmentmcp help')");
            }

            var name = arg[2..];
            string? value = null;
            var equals = name.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                value = name[(equals + 1)..];
                name = name[..equals];
            }

            if (switchNames.Contains(name))
            {
                if (value is not null && value is not ("true" or "false"))
                {
                    throw new UsageException($"--{name} takes no value");
                }

                if (value != "false")
                {
                    result.switches.Add(name);
                }

                continue;
            }

            if (value is null)
            {
                if (i + 1 >= args.Count || (args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2))
                {
                    throw new UsageException($"--{name} needs a value");
                }

                value = args[++i];
            }

            if (!result.values.TryGetValue(name, out var list))
            {
                result.values[name] = list = [];
            }

            list.Add(value);
        }

        return result;
    }

    public bool Has(string name)
    {
        read.Add(name);
        return switches.Contains(name);
    }

    public string? Get(string name)
    {
        read.Add(name);
        return values.TryGetValue(name, out var list) ? list[^1] : null;
    }

    public IReadOnlyList<string> GetAll(string name)
    {
        read.Add(name);
        return values.TryGetValue(name, out var list) ? list : [];
    }

    public string Require(string name, string what) =>
        Get(name) ?? throw new UsageException($"--{name} is required ({what})");

    public int GetInt(string name, int defaultValue, int min = int.MinValue, int max = int.MaxValue)
    {
        var text = Get(name);
        if (text is null)
        {
            return defaultValue;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new UsageException($"--{name} must be a whole number from {min} to {max}, not '{text}'");
        }

        return value;
    }

    public DateTime? GetTime(string name)
    {
        var text = Get(name);
        if (text is null)
        {
            return null;
        }

        if (!DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var value))
        {
            throw new UsageException($"--{name} must be an ISO-8601 time such as 2026-11-20T10:00:00Z, not '{text}'");
        }

        return DateTime.SpecifyKind(value, DateTimeKind.Utc);
    }

    /// <summary>Call after reading every flag the verb knows: anything left over is a mistake.</summary>
    public void RejectUnknown()
    {
        var unknown = values.Keys.Concat(switches).Where(name => !read.Contains(name)).ToList();
        if (unknown.Count > 0)
        {
            throw new UsageException($"unknown flag{(unknown.Count > 1 ? "s" : string.Empty)} for '{Verb}': {string.Join(", ", unknown.Select(u => "--" + u))} (see 'segmentmcp help')");
        }
    }
}
