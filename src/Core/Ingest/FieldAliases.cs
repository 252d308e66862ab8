using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SegmentMcp.Core.Ingest;

/// <summary>
/// The names other tools give the fields of a record (Segment's userId and event, Amplitude's event_type and
/// event_properties, Mixpanel's distinct_id, PostHog's…), so that a record lacking a field can be answered with the
/// key it has instead, and the --map that reads it. Only read for a bad record: never on the hot path.
/// </summary>
public static partial class FieldAliases
{
    // Compared with a key lowered and stripped of '_', '-', '.', ' ' and '$'.
    private static readonly Dictionary<string, string[]> ByField = new(StringComparer.Ordinal)
    {
        // Each list starts with the field's own name, which matches it written otherwise ("ProfileId", "$properties").
        ["profile_id"] = ["profileid", "userid", "user", "distinctid", "customerid", "customer", "contactid", "personid", "profile", "externalid", "memberid", "accountid", "visitorid", "uid", "anonymousid"],
        ["metric"] = ["metric", "event", "eventname", "eventtype", "name", "action", "activity", "metricname"],
        ["timestamp"] = ["timestamp", "time", "ts", "eventtime", "datetime", "date", "occurredat", "createdat", "timestampms", "originaltimestamp", "sentat", "receivedat", "at"],
        ["updated_at"] = ["updatedat", "updated", "lastupdated", "modifiedat", "lastmodified", "timestamp", "time", "ts"],
        ["properties"] = ["properties", "traits", "attributes", "props", "eventproperties", "userproperties", "customattributes", "attrs", "data", "set", "fields"],
    };

    /// <summary>
    /// The key of <paramref name="line"/> (a JSON object) that other tools use for <paramref name="field"/>, the
    /// likeliest first: a top-level key, else a member of a top-level object as "parent.member"; null when there is none,
    /// or the line is no object. A plain "id" is a profile record's id, but an event's own id in an event record.
    /// </summary>
    internal static string? Find(ReadOnlySpan<byte> line, string field, IngestKind kind)
    {
        if (!ByField.TryGetValue(field, out var aliases))
        {
            return null;
        }

        if (field == "profile_id" && kind == IngestKind.Profiles)
        {
            aliases = [.. aliases, "id"];
        }

        // Top-level keys, then "parent.member" for the members of their objects (Mixpanel keeps the user's id and the
        // time inside "properties"): holding an object for the properties, else a string, number or boolean.
        var keys = new List<(string Path, string Name)>();
        var members = new List<(string Path, string Name)>();
        var wantsObject = field == "properties";
        var reader = new Utf8JsonReader(line);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = reader.GetString()!;
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    if (wantsObject)
                    {
                        keys.Add((key, key));
                    }

                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var member = reader.GetString()!;
                        reader.Read();
                        if (!wantsObject && reader.TokenType is not (JsonTokenType.Null or JsonTokenType.StartObject or JsonTokenType.StartArray))
                        {
                            members.Add(($"{key}.{member}", member));
                        }

                        reader.Skip();
                    }
                }
                else
                {
                    if (!wantsObject && reader.TokenType is not (JsonTokenType.Null or JsonTokenType.StartArray))
                    {
                        keys.Add((key, key));
                    }

                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            // The line was read once already; what was read before a fault is still worth a hint.
        }

        return Match(keys) ?? Match(members);

        string? Match(List<(string Path, string Name)> candidates) => aliases
            .Select(alias => candidates.FirstOrDefault(c => Normalized(c.Name) == alias).Path)
            .FirstOrDefault(path => path is not null);
    }

    /// <summary>The clause of a missing field's reason naming the key the record has instead (<see cref="Suggested"/> reads it back).</summary>
    internal static string Hint(string field, string key) => $" (the record has '{key}': --map {field}={Quoted(key)} reads it)";

    /// <summary>
    /// The (field, key) pairs the reasons of bad records suggest mapping, the first key for each field: null unless every
    /// reason is fields lacking, each with the key to read it from (when a map would not load every record, the records
    /// have other problems too).
    /// </summary>
    public static IReadOnlyList<(string Field, string Key)>? Suggested(IReadOnlyCollection<string> reasons)
    {
        var pairs = new List<(string Field, string Key)>();
        foreach (var reason in reasons)
        {
            // Every field the record lacks must have its key named: else the map would not load the record either.
            var hints = HintPattern().Matches(reason);
            if (hints.Count == 0 || hints.Count != reason.Split("; missing field ").Length)
            {
                return null;
            }

            foreach (Match hint in hints)
            {
                var field = hint.Groups[1].Value;
                if (!pairs.Exists(p => p.Field == field))
                {
                    pairs.Add((field, Unquoted(hint.Groups[2].Value)));
                }
            }
        }

        return pairs.Count == 0 ? null : pairs;
    }

    /// <summary>A key as <see cref="Quoted"/> wrote it.</summary>
    public static string Unquoted(string key) =>
        key.Length >= 2 && key[0] == '\'' && key[^1] == '\'' ? key[1..^1]
        : key.Length >= 2 && key[0] == '"' && key[^1] == '"' ? key[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal)
        : key;

    /// <summary>The "--map FIELD=KEY reads it" of a <see cref="Hint"/>: groups field and key (quoted as written).</summary>
    [GeneratedRegex("""--map (\w+)=('[^']*'|"(?:[^"\\]|\\.)*"|\S+) reads it""")]
    public static partial Regex HintPattern();

    /// <summary>
    /// <paramref name="key"/> as the shell writes it in --map FIELD=KEY: bare when it holds only letters, digits, '_',
    /// '-' and '.', else in single quotes (where '$' is not expanded), or double quotes when it holds a single quote.
    /// </summary>
    public static string Quoted(string key) =>
        key.Length > 0 && key.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.') ? key
        : key.Contains('\'', StringComparison.Ordinal) ? $"\"{key.Replace("\"", "\\\"", StringComparison.Ordinal)}\""
        : $"'{key}'";

    private static string Normalized(string key)
    {
        var text = new StringBuilder(key.Length);
        foreach (var c in key)
        {
            if (c is not ('_' or '-' or '.' or ' ' or '$'))
            {
                text.Append(char.ToLowerInvariant(c));
            }
        }

        return text.ToString();
    }
}
