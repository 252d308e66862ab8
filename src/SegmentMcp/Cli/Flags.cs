using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Cli;

/// <summary>
/// The kinds of flag a verb declares, as System.CommandLine options: <c>--name value</c> or <c>--name=value</c>, and
/// bare <c>--switch</c>. Each option's parser checks its value and words the mistake, which the command line reports
/// with exit code 2. As before System.CommandLine, a flag given twice keeps its last value (a repeatable flag keeps
/// all), and a value that looks like a flag (<c>--company --data</c>) counts as missing.
/// </summary>
internal static class Flags
{
    /// <summary>A text flag, null when not given; <paramref name="check"/> returns what is wrong with a value, or null.</summary>
    public static Option<string?> Text(string name, string helpName, string description, Func<string, string?>? check = null) =>
        Single<string?>(name, helpName, description, (result, text) => Checked(result, text, check));

    /// <summary>A text flag with a default value.</summary>
    public static Option<string> Text(string name, string helpName, string description, string defaultValue, Func<string, string?>? check = null)
    {
        var option = Single<string>(name, helpName, description, (result, text) => Checked(result, text, check) ?? defaultValue);
        option.DefaultValueFactory = _ => defaultValue;
        return option;
    }

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static Option<int> Int(string name, string helpName, string description, int defaultValue, int min, int max)
    {
        var option = Single(name, helpName, description, (result, text) =>
        {
            if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
            {
                return value;
            }

            result.AddError($"{name} must be a whole number from {min} to {max}, not '{text}'");
            return defaultValue;
        });
        option.DefaultValueFactory = _ => defaultValue;
        return option;
    }

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>, null when not given.</summary>
    public static Option<int?> OptionalInt(string name, string helpName, string description, int min, int max) =>
        Single<int?>(name, helpName, description, (result, text) =>
        {
            if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
            {
                return value;
            }

            result.AddError($"{name} must be a whole number from {min} to {max}, not '{text}'");
            return null;
        });

    /// <summary>A percentage from 0 to 100 (a decimal number).</summary>
    public static Option<double> Percent(string name, string helpName, string description, double defaultValue)
    {
        var option = Single(name, helpName, description, (result, text) =>
        {
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= 0 && value <= 100)
            {
                return value;
            }

            result.AddError($"{name} must be a percentage from 0 to 100, not '{text}'");
            return defaultValue;
        });
        option.DefaultValueFactory = _ => defaultValue;
        return option;
    }

    /// <summary>Any 64-bit whole number.</summary>
    public static Option<long> Long(string name, string helpName, string description, long defaultValue)
    {
        var option = Single(name, helpName, description, (result, text) =>
        {
            if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }

            result.AddError($"{name} must be a whole number, not '{text}'");
            return defaultValue;
        });
        option.DefaultValueFactory = _ => defaultValue;
        return option;
    }

    /// <summary>An ISO-8601 time, read as UTC when it names no offset; null when not given.</summary>
    public static Option<DateTime?> Time(string name, string description) =>
        Single<DateTime?>(name, "T", description, (result, text) =>
        {
            if (DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var value))
            {
                return DateTime.SpecifyKind(value, DateTimeKind.Utc);
            }

            result.AddError($"{name} must be an ISO-8601 time such as 2026-11-20T10:00:00Z, not '{text}'");
            return null;
        });

    /// <summary>A switch: on when given (<c>--name=false</c> leaves it off).</summary>
    /// <summary>A time as the verbs print it: ISO-8601 UTC to the millisecond, the form <see cref="Time"/> reads back.</summary>
    public static string Iso(DateTime time) => time.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    public static Option<bool> Switch(string name, string description) => new(name) { Description = description };

    /// <summary>A flag that may be given several times; every value counts.</summary>
    public static Option<string[]> Repeated(string name, string helpName, string description) =>
        new(name)
        {
            Description = description,
            HelpName = helpName,
            Arity = ArgumentArity.ZeroOrMore,
            AllowMultipleArgumentsPerToken = false,
            DefaultValueFactory = _ => [],
            CustomParser = result => Values(result, name)?.ToArray() ?? [],
        };

    /// <summary><c>--company</c>: a tenant id by <see cref="TenantId"/>'s rule, the same for every verb; null when not given.</summary>
    public static Option<string?> Company(string description) => Text("--company", "ID", description, CheckCompany);

    /// <summary><c>--company</c> with a default tenant.</summary>
    public static Option<string> Company(string description, string defaultValue) => Text("--company", "ID", description, defaultValue, CheckCompany);

    private static string? CheckCompany(string value) =>
        TenantId.Problem(value) is { } problem ? $"--company {problem} (a company id is {TenantId.Rule})" : null;

    /// <summary>The value of a flag that has a default, so is never null.</summary>
    public static T ValueOf<T>(this ParseResult args, Option<T> option)
        where T : class =>
        args.GetValue(option) ?? throw new InvalidOperationException($"{option.Name} has no value.");

    /// <summary>A flag that takes one value; given again, the last value counts. <paramref name="parse"/> reads that value.</summary>
    private static Option<T> Single<T>(string name, string helpName, string description, Func<ArgumentResult, string, T> parse) =>
        new(name)
        {
            Description = description,
            HelpName = helpName,
            Arity = ArgumentArity.ZeroOrMore,
            AllowMultipleArgumentsPerToken = false,
            CustomParser = result => Values(result, name) is { } values ? parse(result, values[^1]) : default!,
        };

    private static string? Checked(ArgumentResult result, string text, Func<string, string?>? check)
    {
        if (check?.Invoke(text) is { } problem)
        {
            result.AddError(problem);
            return null;
        }

        return text;
    }

    /// <summary>The values given, one per occurrence of the flag; null (and an error) when one is missing.</summary>
    private static List<string>? Values(ArgumentResult result, string name)
    {
        var values = result.Tokens.Select(token => token.Value).ToList();
        if (values.Count == 0 || values.Any(value => value.Length > 2 && value.StartsWith("--", StringComparison.Ordinal)))
        {
            result.AddError($"{name} needs a value");
            return null;
        }

        return values;
    }
}
