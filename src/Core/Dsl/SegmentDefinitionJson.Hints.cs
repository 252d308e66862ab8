using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace SegmentMcp.Core.Dsl;

/// <summary>
/// What the reader says about shapes other query languages use ("and", a window's field beside the window, a count
/// written as {"gte": 1}, a condition beside the definition's name): each answered with this language's spelling, so
/// a model fixes it in one call instead of guessing from a list of names.
/// </summary>
public static partial class SegmentDefinitionJson
{
    /// <summary>The name a draft without one is read with; a draft is evaluated, never saved.</summary>
    public const string DraftName = "Draft";

    /// <summary>
    /// A definition whose name is known without it (a draft, never saved; a saved segment's new version) may leave the
    /// name out, or be given as its bare condition ({"all": […]} instead of {"name": …, "condition": {"all": […]}}):
    /// both are filled in here with <paramref name="name"/>. Anything else is returned as it is, for the reader to report.
    /// </summary>
    public static JsonElement WithName(JsonElement definition, string name)
    {
        if (definition.ValueKind != JsonValueKind.Object)
        {
            return definition;
        }

        var fields = definition.EnumerateObject().Select(p => p.Name).ToList();
        var bareCondition = fields is [var only] && (DslNames.ConditionKinds.Contains(only) || DslNames.ConditionMeant(only) is not null);
        if (!bareCondition && fields.Contains("name"))
        {
            return definition;
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("name", name);
            if (bareCondition)
            {
                writer.WritePropertyName("condition");
                definition.WriteTo(writer);
            }
            else
            {
                foreach (var field in definition.EnumerateObject())
                {
                    field.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }

    private sealed partial class Reader
    {
        private static readonly string[] CountFields =
        [
            "count", "times", "occurrences", "frequency", "num_events", "event_count", "min_count", "min_times", "minimum",
            "at_least", "max_count", "max_times", "maximum", "at_most", "exactly",
        ];

        private static readonly string[] DayWindowFields = ["in_last_days", "within_days", "within_last_days", "days", "last_n_days", "past_days", "lookback_days"];

        private static readonly string[] HourWindowFields = ["in_last_hours", "within_hours", "within_last_hours", "hours", "last_n_hours", "past_hours"];

        /// <summary>A field the reader understood: what to write instead, and the required fields that answer covers.</summary>
        private sealed record FieldHint(string Message, IReadOnlyList<string> Covers);

        private static string DidYouMeanCondition(string kind)
        {
            var bare = kind.Trim().TrimStart('$');
            if (bare.ToLowerInvariant() is "none" or "nor" or "none_of" or "noneof" or "not_any")
            {
                return " That none of several conditions holds is written {\"not\": {\"any\": [{…}, {…}]}}.";
            }

            return DslNames.ConditionMeant(kind) is { } meant
                ? $" Did you mean '{meant}'?"
                : Suggestions.DidYouMean(kind, DslNames.ConditionKinds);
        }

        /// <summary>A condition written beside the definition's name instead of inside its "condition"; an id in the definition.</summary>
        private static FieldHint? ExplainRootField(string name, JsonElement value)
        {
            if (name.Trim().ToLowerInvariant() is "id" or "segment_id")
            {
                return new FieldHint($"A definition has no '{Truncate(name)}': saving it makes the id from its name, and a saved segment is changed by its id given beside the definition (update_segment's segment_id, segments save --id).", []);
            }

            return DslNames.ConditionMeant(name) is { } kind
                ? new FieldHint(
                    $"'{Truncate(name)}' is a condition: a definition holds its condition inside \"condition\", as {{\"name\": …, \"condition\": {{\"{kind}\": …}}}}.",
                    ["condition"])
                : null;
        }

        /// <summary>A window's field written beside the window ("last_days": 7) or a window in other words ("within_days": 7).</summary>
        private static FieldHint? ExplainWindowField(string name, JsonElement value)
        {
            var lower = name.Trim().ToLowerInvariant();
            var raw = Truncate(value.GetRawText());
            if (DslNames.WindowKinds.Contains(lower))
            {
                var window = lower switch
                {
                    "from" or "to" => "{\"from\": T1, \"to\": T2}",
                    "periods" => $"{{\"previous\": \"month\", \"periods\": {raw}}}",
                    "time_zone" => $"{{\"this\": \"day\", \"time_zone\": {raw}}}",
                    _ => $"{{\"{lower}\": {raw}}}",
                };
                return new FieldHint($"'{Truncate(name)}' belongs inside the window: write \"window\": {window}.", ["window"]);
            }

            if (DayWindowFields.Contains(lower) || HourWindowFields.Contains(lower))
            {
                var unit = DayWindowFields.Contains(lower) ? "last_days" : "last_hours";
                var amount = value.ValueKind == JsonValueKind.Number ? raw : "N";
                return new FieldHint($"A condition's time is its window: write \"window\": {{\"{unit}\": {amount}}} instead of '{Truncate(name)}'.", ["window"]);
            }

            return null;
        }

        /// <summary>
        /// Case written another way than <c>"ignore_case"</c>: "case_sensitive": false, "caseInsensitive": true,
        /// "match_case". The flag's value decides the answer, so a synonym alone would mislead.
        /// </summary>
        private static FieldHint? ExplainCaseField(string name, JsonElement value)
        {
            var bare = name.Trim().ToLowerInvariant().Replace("_", string.Empty, StringComparison.Ordinal).Replace("-", string.Empty, StringComparison.Ordinal);
            bool? sensitive = bare switch
            {
                "casesensitive" or "matchcase" or "casesensitivity" or "exactcase" => true,
                "caseinsensitive" or "ignorecase" or "insensitive" or "nocase" or "ci" or "icase" or "ignorecasing" => false,
                _ => null,
            };
            if (sensitive is null)
            {
                return null;
            }

            var flag = value.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => (bool?)null,
            };
            return (sensitive, flag) switch
            {
                (true, false) or (false, true) => new FieldHint($"Case is ignored with \"ignore_case\": true, not '{Truncate(name)}'.", []),
                (true, true) or (false, false) => new FieldHint($"Text comparisons are case-sensitive unless the filter has \"ignore_case\": true: leave out '{Truncate(name)}'.", []),
                _ => new FieldHint($"Case is set with \"ignore_case\": true or false, not '{Truncate(name)}'.", []),
            };
        }

        /// <summary>A negation written as a flag on the condition ("negate": true) instead of around it.</summary>
        private static FieldHint? ExplainNegationField(string name, JsonElement value) =>
            name.Trim().ToLowerInvariant() is "not" or "negate" or "negated" or "exclude" or "excluded" or "invert" or "inverse" or "is_not"
                ? new FieldHint($"A condition is negated by wrapping it, not by '{Truncate(name)}': {{\"not\": {{…this condition…}}}}.", [])
                : null;

        private static FieldHint? ExplainEventField(string name, JsonElement value)
        {
            if ((ExplainWindowField(name, value) ?? ExplainNegationField(name, value)) is { } hint)
            {
                return hint;
            }

            var lower = name.Trim().ToLowerInvariant();
            if (!CountFields.Contains(lower))
            {
                return null;
            }

            var written = CountWritten(lower, value);
            return new FieldHint(
                $"The events are counted and the count is compared with \"op\" and \"value\", not '{Truncate(name)}': {written}.",
                ["op", "value"]);
        }

        /// <summary>"op"/"value" for a count written as a field: {"count": {"gte": 3}}, {"at_least": 3}, {"times": 3}.</summary>
        private static string CountWritten(string field, JsonElement value)
        {
            if (value.ValueKind == JsonValueKind.Object && value.EnumerateObject().ToList() is [var only]
                && DslNames.ComparisonMeant(only.Name) is { } op && only.Value.ValueKind == JsonValueKind.Number)
            {
                return $"write \"op\": \"{op}\", \"value\": {only.Value.GetRawText()}";
            }

            var number = value.ValueKind == JsonValueKind.Number ? value.GetRawText() : "N";
            return field switch
            {
                "min_count" or "min_times" or "minimum" or "at_least" => $"write \"op\": \"gte\", \"value\": {number}",
                "max_count" or "max_times" or "maximum" or "at_most" => $"write \"op\": \"lte\", \"value\": {number}",
                "exactly" => $"write \"op\": \"eq\", \"value\": {number}",
                _ => $"at least {number} times is \"op\": \"gte\", \"value\": {number}; exactly {number} is \"op\": \"eq\"; none is \"op\": \"eq\", \"value\": 0",
            };
        }

        /// <summary>" Did you mean {"last_days": 7}?" for a window written as words ("last 7 days", "past 2 weeks").</summary>
        private static string? WindowPhrase(string text)
        {
            if (CalendarPhrase(text) is { } calendar)
            {
                return calendar;
            }

            var match = WindowPhrasePattern().Match(text);
            if (!match.Success || !int.TryParse(match.Groups["n"].Value, CultureInfo.InvariantCulture, out var n) || n is < 1 or > MaxDays)
            {
                return null;
            }

            var (field, amount, about) = match.Groups["unit"].Value.ToLowerInvariant() switch
            {
                "hour" => ("last_hours", n, string.Empty),
                "day" => ("last_days", n, string.Empty),
                "week" => ("last_days", n * 7, string.Empty),
                "month" => ("last_days", n * 30, $" ({n} × 30 days; {{\"previous\": \"month\", \"periods\": {n}}} for the {n} calendar month{(n == 1 ? string.Empty : "s")} before this one)"),
                _ => ("last_days", n * 365, string.Empty),
            };
            return amount > MaxDays ? null : $" Did you mean {{\"{field}\": {amount}}}?{about}";
        }

        /// <summary>
        /// A time relative to now ("30 days ago") given to a window's since or before: the window that says it, which
        /// moves with the evaluation time as a fixed date would not.
        /// </summary>
        private static string RelativeTime(string field, string text)
        {
            var match = AgoPattern().Match(text);
            if (!match.Success || !int.TryParse(match.Groups["n"].Value, CultureInfo.InvariantCulture, out var n) || n < 1)
            {
                return string.Empty;
            }

            var hours = match.Groups["unit"].Value.ToLowerInvariant() == "hour";
            var days = match.Groups["unit"].Value.ToLowerInvariant() switch { "week" => n * 7, "month" => n * 30, "year" => n * 365, _ => n };
            if (days > MaxDays)
            {
                return string.Empty;
            }

            return field switch
            {
                "since" => hours ? $" A time relative to now is a window of its own: {{\"last_hours\": {n}}}." : $" A time relative to now is a window of its own: {{\"last_days\": {days}}}.",
                "before" when !hours => $" A time relative to now is a window of its own: {{\"between_days_ago\": [{days}, {MaxDays}]}} (more than {days} days ago).",
                _ => string.Empty,
            };
        }

        /// <summary>" Did you mean "America/New_York"?" for "EST", "Eastern Standard Time", "new york" or a misspelt id.</summary>
        private static string TimeZoneMeant(string text)
        {
            var upper = text.ToUpperInvariant();
            var meant = upper switch
            {
                "EST" or "EDT" or "ET" or "EASTERN" or "US/EASTERN" => "America/New_York",
                "CST" or "CDT" or "CT" or "CENTRAL" or "US/CENTRAL" => "America/Chicago",
                "MST" or "MDT" or "MT" or "MOUNTAIN" or "US/MOUNTAIN" => "America/Denver",
                "PST" or "PDT" or "PT" or "PACIFIC" or "US/PACIFIC" => "America/Los_Angeles",
                "GMT" or "Z" or "ZULU" or "UTC+0" or "GMT+0" => "UTC",
                "BST" => "Europe/London",
                "CEST" => "Europe/Berlin",
                "IST" => "Asia/Kolkata",
                "JST" => "Asia/Tokyo",
                "AEST" or "AEDT" => "Australia/Sydney",
                _ => null,
            };
            if (meant is null && TimeZoneInfo.TryConvertWindowsIdToIanaId(text, out var iana))
            {
                meant = iana;
            }

            var ids = TimeZoneInfo.GetSystemTimeZones().Where(z => z.HasIanaId).Select(z => z.Id).ToList();
            if (meant is null)
            {
                // A city written with spaces or in another case: "new york", "america/new york".
                var city = text.Trim().Replace(' ', '_');
                meant = ids.FirstOrDefault(id => string.Equals(id, city, StringComparison.OrdinalIgnoreCase))
                    ?? ids.FirstOrDefault(id => string.Equals(id[(id.LastIndexOf('/') + 1)..], city, StringComparison.OrdinalIgnoreCase));
            }

            if (meant is not null)
            {
                return $" Did you mean \"{meant}\"?";
            }

            var closest = Suggestions.Closest(text, ids, 1);
            return closest.Count > 0 ? $" Did you mean \"{closest[0]}\"?" : string.Empty;
        }

        /// <summary>"this month", "last quarter", "today", "yesterday": the calendar window that says it.</summary>
        private static string? CalendarPhrase(string text)
        {
            var match = CalendarPhrasePattern().Match(text);
            if (!match.Success)
            {
                return null;
            }

            var word = match.Groups["word"].Value.ToLowerInvariant();
            var window = word switch
            {
                "today" => "{\"this\": \"day\"}",
                "yesterday" => "{\"previous\": \"day\"}",
                _ => match.Groups["which"].Value.ToLowerInvariant() is "this" or "current"
                    ? $"{{\"this\": \"{word}\"}}"
                    : $"{{\"previous\": \"{word}\"}}",
            };
            return $" Did you mean {window}? (calendar periods in UTC)";
        }

        [GeneratedRegex(@"^\s*(?:(?:in\s+|during\s+)?(?:the\s+)?(?<which>this|current|last|previous)\s+(?:calendar\s+)?(?<word>day|week|month|quarter|year)|(?<word>today|yesterday))\s*$", RegexOptions.IgnoreCase)]
        private static partial Regex CalendarPhrasePattern();

        [GeneratedRegex(@"^\s*(?<n>\d{1,5})\s*(?<unit>hour|day|week|month|year)s?\s+ago\s*$", RegexOptions.IgnoreCase)]
        private static partial Regex AgoPattern();

        [GeneratedRegex(@"^\s*(?:in\s+|within\s+)?(?:the\s+)?(?:last|past|previous)?\s*(?<n>\d{1,5})\s*(?<unit>hour|day|week|month|year)s?\s*$", RegexOptions.IgnoreCase)]
        private static partial Regex WindowPhrasePattern();

        /// <summary>" Did you mean [{"name": "category", "op": "eq", "value": "shoes"}]?" for where written as {"category": "shoes"}.</summary>
        private static string WhereAsObject(JsonElement where)
        {
            var pairs = where.EnumerateObject().ToList();
            if (pairs.Count is 0 or > 3 || pairs.Any(p => p.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Array or JsonValueKind.Null))
            {
                return string.Empty;
            }

            var filters = pairs.Select(p => $"{{\"name\": {JsonSerializer.Serialize(p.Name)}, \"op\": \"eq\", \"value\": {Truncate(p.Value.GetRawText())}}}");
            return $" Did you mean [{string.Join(", ", filters)}]?";
        }

        /// <summary>For stopped's before_days given as one number of days: the window from recent_days back to it.</summary>
        private static string BeforeDaysMeant(JsonElement before, JsonElement body)
        {
            if (before.ValueKind != JsonValueKind.Number || !before.TryGetInt32(out var days) || days < 1)
            {
                return string.Empty;
            }

            var recent = body.TryGetProperty("recent_days", out var recentElement) && recentElement.ValueKind == JsonValueKind.Number && recentElement.TryGetInt32(out var r) && r >= 1 && r < days ? r : 0;
            return recent > 0
                ? $" Did you mean [{recent}, {days}] (events between {days} and {recent} days ago, none in the last {recent})?"
                : $" E.g. [30, {days}] for events between {days} and 30 days ago.";
        }

        /// <summary>" Write 30 without quotes." for a number given as a string.</summary>
        private static string Unquoted(JsonElement element) =>
            element.ValueKind == JsonValueKind.String
            && double.TryParse(element.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
                ? $" Write {Truncate(element.GetString()!.Trim())} without quotes."
                : string.Empty;

        /// <summary>" Write [20, 30]." for between's bounds given as an object ({"min": 20, "max": 30}).</summary>
        private static string BoundsAsArray(JsonElement value)
        {
            if (value.ValueKind != JsonValueKind.Object || value.EnumerateObject().ToList() is not [var lo, var hi]
                || lo.Value.ValueKind != JsonValueKind.Number || hi.Value.ValueKind != JsonValueKind.Number)
            {
                return string.Empty;
            }

            return $" Write [{lo.Value.GetRawText()}, {hi.Value.GetRawText()}].";
        }

        private static string MissingEventField(string field) => field == "op"
            ? " An event condition compares its events' count (or measure) with \"op\" and \"value\": \"op\": \"gte\", \"value\": 1 is at least once, \"op\": \"eq\", \"value\": 0 is none."
            : string.Empty;

        private static string MissingFilterField(string field, JsonElement filter)
        {
            if (field != "op")
            {
                return string.Empty;
            }

            if (!filter.TryGetProperty("value", out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return " E.g. \"op\": \"is_set\" for any value, \"op\": \"is_not_set\" for none.";
            }

            return value.ValueKind == JsonValueKind.Array
                ? " Did you mean \"op\": \"in\" (equal to one of the values)?"
                : " Did you mean \"op\": \"eq\"?";
        }
    }
}
