using System.Text.RegularExpressions;

namespace SegmentMcp.Core.Sql;

/// <summary>
/// Identifiers never travel as parameters, so every name that reaches SQL text is checked here first: database and
/// table names from configuration, settings names, deduplication tokens we derive ourselves.
/// </summary>
public static partial class Identifiers
{
    /// <summary>Whether <paramref name="name"/> passes <see cref="RequireName"/>.</summary>
    public static bool IsName(string name) => NamePattern().IsMatch(name);

    public static string RequireName(string name, string what = "identifier")
    {
        if (!NamePattern().IsMatch(name))
        {
            throw new ArgumentException($"'{name}' is not a valid {what}: use letters, digits and underscores, starting with a letter or underscore (at most 64 characters).", nameof(name));
        }

        return name;
    }

    public static string RequireQualifiedName(string name)
    {
        foreach (var part in name.Split('.'))
        {
            RequireName(part, "table name");
        }

        return name;
    }

    /// <summary>Whether <paramref name="token"/> is a token (letters, digits, '_' and '-', 1–128 characters).</summary>
    public static bool IsToken(string token) => TokenPattern().IsMatch(token);

    public static string RequireToken(string token)
    {
        if (!TokenPattern().IsMatch(token))
        {
            throw new ArgumentException($"'{token}' is not a valid deduplication token.", nameof(token));
        }

        return token;
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9_-]{1,128}$")]
    private static partial Regex TokenPattern();
}
