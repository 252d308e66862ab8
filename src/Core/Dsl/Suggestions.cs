namespace SegmentMcp.Core.Dsl;

/// <summary>"Did you mean" lists: the closest candidates by edit distance, ignoring case.</summary>
public static class Suggestions
{
    public static IReadOnlyList<string> Closest(string name, IEnumerable<string> candidates, int count = 3) =>
        [.. candidates
            .Distinct(StringComparer.Ordinal)
            .Select(candidate => (candidate, distance: Distance(name.ToUpperInvariant(), candidate.ToUpperInvariant())))
            .OrderBy(pair => pair.distance)
            .ThenBy(pair => pair.candidate, StringComparer.Ordinal)
            .Take(count)
            .Select(pair => pair.candidate)];

    /// <summary>" did you mean 'a', 'b' or 'c'?" or an empty string when there is nothing to suggest.</summary>
    public static string DidYouMean(string name, IEnumerable<string> candidates)
    {
        var closest = Closest(name, candidates);
        return closest.Count == 0 ? string.Empty : $" Did you mean {JoinQuoted(closest, "or")}?";
    }

    /// <summary>
    /// <see cref="DidYouMean"/> for ids (segments, lists), which are long and alike: only the ids that contain the name
    /// or are within a third of its length in edits, so an id that resembles none gets no list of unrelated ones.
    /// </summary>
    public static string DidYouMeanId(string id, IEnumerable<string> ids)
    {
        return DidYouMean(id, ids.Where(candidate => IsNearId(id, candidate)));
    }

    private static bool IsNearId(string id, string candidate) =>
        candidate.Contains(id, StringComparison.OrdinalIgnoreCase)
        || Distance(id.ToUpperInvariant(), candidate.ToUpperInvariant()) <= Math.Max(1, id.Length / 3);

    /// <summary>
    /// <see cref="DidYouMeanId"/> for things with an id and a name (saved segments, static lists), which people and models
    /// also call by name: the ids like the given one, and those whose name is it, contains it or is contained in it (case
    /// ignored), each id with its name.
    /// </summary>
    public static string DidYouMeanNamed(string given, IEnumerable<(string Id, string Name)> segments)
    {
        var all = segments.ToList();
        var text = given.Trim();
        var byName = all
            .Where(s => text.Length >= 3 && (s.Name.Contains(text, StringComparison.OrdinalIgnoreCase) || text.Contains(s.Name, StringComparison.OrdinalIgnoreCase)))
            .OrderBy(s => !string.Equals(s.Name, text, StringComparison.OrdinalIgnoreCase))
            .ThenBy(s => s.Id, StringComparer.Ordinal);
        var ids = all.Select(s => s.Id).Where(id => IsNearId(given, id));
        var byId = Closest(given, ids).Select(id => all.First(s => s.Id == id));
        var near = byName.Concat(byId).DistinctBy(s => s.Id).Take(3).Select(s => s.Name == s.Id ? $"'{s.Id}'" : $"'{s.Id}' (named \"{s.Name}\")").ToList();
        return near.Count switch
        {
            0 => string.Empty,
            1 => $" Did you mean {near[0]}?",
            _ => $" Did you mean {string.Join(", ", near.Take(near.Count - 1))} or {near[^1]}?",
        };
    }

    public static string JoinQuoted(IReadOnlyList<string> names, string conjunction) =>
        names.Count switch
        {
            0 => string.Empty,
            1 => $"'{names[0]}'",
            _ => string.Join(", ", names.Take(names.Count - 1).Select(n => $"'{n}'")) + $" {conjunction} '{names[^1]}'",
        };

    /// <summary>Levenshtein distance (insert, delete, substitute, each 1).</summary>
    public static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
