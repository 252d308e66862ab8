using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SegmentMcp.Core.Dsl;

/// <summary>The outcome of parsing: a definition when there are no errors, otherwise every error found.</summary>
public sealed record DslParseResult(SegmentDefinition? Definition, IReadOnlyList<DslError> Errors)
{
    public bool IsValid => Definition is not null && Errors.Count == 0;
}

/// <summary>
/// Reads and writes definitions as JSON; this file is the reader, <c>SegmentDefinitionWriter.cs</c> the writer.
/// Parsing never throws on bad input: it walks the document and reports every
/// problem with its JSON path (<c>condition.all[2].event.window</c>), so a caller (often a language model) can fix
/// them all at once. Structure, operator/value types, windows and limits are checked here; names against the
/// tenant's data are checked by <see cref="DefinitionValidator"/>.
/// </summary>
public static partial class SegmentDefinitionJson
{
    public const int MaxDepth = 12;
    public const int MaxLeaves = 64;
    public const int MaxStringLength = 1000;
    public const int MaxListLength = 1000;
    public const int MaxDays = 36500;
    public const int MaxHours = MaxDays * 24;
    public const int MaxAnniversaryDays = 366;

    public static DslParseResult Parse(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException exception)
        {
            var where = exception.LineNumber is { } line ? $" (line {line + 1}, position {exception.BytePositionInLine + 1})" : string.Empty;
            return new DslParseResult(null, [new DslError(string.Empty, $"The definition is not valid JSON{where}.")]);
        }

        using (document)
        {
            return Parse(document.RootElement);
        }
    }

    public static DslParseResult Parse(JsonElement root)
    {
        var reader = new Reader();
        var definition = reader.ReadDefinition(root);
        return reader.Errors.Count == 0 && definition is not null
            ? new DslParseResult(definition, [])
            : new DslParseResult(null, reader.Errors);
    }

    private sealed partial class Reader
    {
        private static readonly string[] RootFields = ["name", "description", "condition"];
        private static readonly string[] FilterFields = ["name", "op", "value", "ignore_case", "time_zone"];
        private static readonly string[] EventFields = ["metric", "where", "window", "measure", "op", "value"];
        private static readonly string[] SegmentFields = ["id", "member"];

        private int leaves;

        public List<DslError> Errors { get; } = [];

        public SegmentDefinition? ReadDefinition(JsonElement root)
        {
            if (root.ValueKind != JsonValueKind.Object)
            {
                Error(string.Empty, $"A definition is an object {{\"name\": …, \"condition\": …}}, not {Describe(root)}.");
                return null;
            }

            CheckFields(root, string.Empty, RootFields, ["name", "condition"], ExplainRootField);
            var name = root.TryGetProperty("name", out var nameElement) ? ReadString(nameElement, "name", requireNonBlank: true) : null;
            string? description = null;
            if (root.TryGetProperty("description", out var descriptionElement) && descriptionElement.ValueKind != JsonValueKind.Null)
            {
                description = ReadString(descriptionElement, "description", requireNonBlank: false);
            }

            var condition = root.TryGetProperty("condition", out var conditionElement) ? ReadCondition(conditionElement, "condition", 1) : null;
            if (leaves > MaxLeaves)
            {
                Error("condition", $"A definition has at most {MaxLeaves} leaf conditions (every condition but all, any and not); this one has {leaves}.");
            }

            return name is null || condition is null ? null : new SegmentDefinition(name, description, condition);
        }

        private Condition? ReadCondition(JsonElement element, string path, int depth)
        {
            if (element.ValueKind == JsonValueKind.Array)
            {
                Error(path, $"A condition is an object with one key, not {Describe(element)}: conditions that must all hold are written {{\"all\": [{{…}}, {{…}}]}}, and {{\"any\": [{{…}}, {{…}}]}} when one is enough.");
                return null;
            }

            if (element.ValueKind != JsonValueKind.Object)
            {
                Error(path, $"A condition is an object with one key ({string.Join(", ", DslNames.ConditionKinds)}), not {Describe(element)}.");
                return null;
            }

            if (depth > MaxDepth)
            {
                Error(path, $"Conditions nest at most {MaxDepth} levels deep.");
                return null;
            }

            var keys = element.EnumerateObject().Select(p => p.Name).ToList();
            if (keys.Count == 0)
            {
                Error(path, $"An empty condition: use exactly one of {string.Join(", ", DslNames.ConditionKinds)}.");
                return null;
            }

            if (keys.Count > 1)
            {
                Error(path, $"A condition has exactly one key, found {Suggestions.JoinQuoted(keys, "and")}; combine conditions with \"all\" or \"any\".");
                return null;
            }

            var kind = keys[0];
            return ReadConditionBody(kind, element.GetProperty(kind), $"{path}.{kind}", depth);
        }

        private Condition? ReadConditionBody(string kind, JsonElement body, string bodyPath, int depth)
        {
            switch (kind)
            {
                case "all":
                case "any":
                    var items = ReadItems(body, bodyPath, depth);
                    return items is null ? null : kind == "all" ? new AllCondition(items) : new AnyCondition(items);
                case "not" when body.ValueKind == JsonValueKind.Array:
                    Error(bodyPath, $"\"not\" takes one condition, not {Describe(body)}: that none of several holds is written {{\"not\": {{\"any\": [{{…}}, {{…}}]}}}}, and a single one {{\"not\": {{…}}}}.");
                    return null;
                case "not":
                    var inner = ReadCondition(body, bodyPath, depth + 1);
                    return inner is null ? null : new NotCondition(inner);
                case "property":
                    leaves++;
                    var filter = ReadFilter(body, bodyPath, isEventWhere: false);
                    return filter is null ? null : new PropertyCondition(filter);
                case "event":
                    leaves++;
                    return ReadEvent(body, bodyPath);
                case "segment":
                    leaves++;
                    return ReadSegment(body, bodyPath);
                case "first_time" or "sequence" or "stopped" or "restarted" or "regularly" or "last_event" or "random_bucket" or "in_list":
                    leaves++;
                    return ReadBehavioural(kind, body, bodyPath);
                default:
                    Error(bodyPath, $"Unknown condition '{Truncate(kind)}'.{DidYouMeanCondition(kind)} A condition is one of {string.Join(", ", DslNames.ConditionKinds)}.");

                    // A key another language spells differently ("and", "$or", "trait") is read as the one meant, so
                    // the problems inside it are reported in the same answer rather than one call later.
                    if (DslNames.ConditionMeant(kind) is { } meant)
                    {
                        ReadConditionBody(meant, body, bodyPath, depth);
                    }

                    return null;
            }
        }

        private List<Condition>? ReadItems(JsonElement body, string path, int depth)
        {
            if (body.ValueKind != JsonValueKind.Array || body.GetArrayLength() == 0)
            {
                Error(path, $"Expected a non-empty array of conditions, not {Describe(body)}.");
                return null;
            }

            var items = new List<Condition>();
            var index = 0;
            var failed = false;
            foreach (var item in body.EnumerateArray())
            {
                var condition = ReadCondition(item, $"{path}[{index++}]", depth + 1);
                if (condition is null)
                {
                    failed = true;
                }
                else
                {
                    items.Add(condition);
                }
            }

            return failed ? null : items;
        }

        /// <summary>The optional "where" array of event filters; clears <paramref name="ok"/> on an error.</summary>
        private List<PropertyFilter> ReadWhere(JsonElement body, string path, ref bool ok)
        {
            var where = new List<PropertyFilter>();
            if (!body.TryGetProperty("where", out var whereElement))
            {
                return where;
            }

            if (whereElement.ValueKind != JsonValueKind.Array)
            {
                var meant = whereElement.ValueKind == JsonValueKind.Object ? WhereAsObject(whereElement) : string.Empty;
                Error($"{path}.where", $"Expected an array of filters {{\"name\": …, \"op\": …, \"value\": …}}, not {Describe(whereElement)}.{meant}");
                ok = false;
                return where;
            }

            var index = 0;
            foreach (var item in whereElement.EnumerateArray())
            {
                var filter = ReadFilter(item, $"{path}.where[{index++}]", isEventWhere: true);
                if (filter is null)
                {
                    ok = false;
                }
                else
                {
                    where.Add(filter);
                }
            }

            return where;
        }

        private EventCondition? ReadEvent(JsonElement body, string path)
        {
            if (!RequireObject(body, path, "an event condition {\"metric\": …, \"op\": …, \"value\": …}"))
            {
                return null;
            }

            var ok = CheckFields(body, path, EventFields, ["metric", "op", "value"], ExplainEventField, MissingEventField);
            var metric = body.TryGetProperty("metric", out var metricElement) ? ReadString(metricElement, $"{path}.metric", requireNonBlank: true) : null;
            var where = ReadWhere(body, path, ref ok);

            Window? window = null;
            if (body.TryGetProperty("window", out var windowElement))
            {
                window = ReadWindow(windowElement, $"{path}.window");
                ok &= window is not null;
            }

            var measure = Measure.Count;
            if (body.TryGetProperty("measure", out var measureElement))
            {
                var read = ReadMeasure(measureElement, $"{path}.measure");
                ok &= read is not null;
                measure = read ?? measure;
            }

            var op = ReadComparison(body, path);

            double? value = null;
            if (body.TryGetProperty("value", out var valueElement))
            {
                value = ReadNumber(valueElement, $"{path}.value", $"the number the {measure.Kind.Name()} is compared with");
            }

            return ok && metric is not null && op is not null && value is not null
                ? new EventCondition(metric, where, window, measure, op.Value, value.Value)
                : null;
        }

        private SegmentReferenceCondition? ReadSegment(JsonElement body, string path)
        {
            if (!RequireObject(body, path, "a segment reference {\"id\": …, \"member\": true}"))
            {
                return null;
            }

            var ok = CheckFields(body, path, SegmentFields, ["id"]);
            var id = body.TryGetProperty("id", out var idElement) ? ReadString(idElement, $"{path}.id", requireNonBlank: true) : null;
            var member = true;
            if (body.TryGetProperty("member", out var memberElement))
            {
                if (memberElement.ValueKind is JsonValueKind.True or JsonValueKind.False)
                {
                    member = memberElement.GetBoolean();
                }
                else
                {
                    Error($"{path}.member", $"Expected true (members of the segment) or false (non-members), not {Describe(memberElement)}.");
                    ok = false;
                }
            }

            return ok && id is not null ? new SegmentReferenceCondition(id, member) : null;
        }

        private Measure? ReadMeasure(JsonElement element, string path)
        {
            if (element.ValueKind == JsonValueKind.String && element.GetString() == "count")
            {
                return Measure.Count;
            }

            const string Shapes = "\"count\" or an object with one of sum, avg, min, max, distinct naming an event property or \"$value\", e.g. {\"sum\": \"$value\"}";
            if (element.ValueKind != JsonValueKind.Object)
            {
                var what = element.ValueKind == JsonValueKind.String ? $"\"{Truncate(element.GetString()!)}\"" : Describe(element);
                Error(path, $"A measure is {Shapes}, not {what}.");
                return null;
            }

            var keys = element.EnumerateObject().Select(p => p.Name).ToList();
            if (keys.Count != 1 || !DslNames.TryParseMeasure(keys[0], out var kind) || kind == MeasureKind.Count)
            {
                var hint = keys.Count == 1 ? Suggestions.DidYouMean(keys[0], DslNames.MeasureKinds.Skip(1)) : string.Empty;
                Error(path, $"A measure is {Shapes}.{hint}");
                return null;
            }

            var property = ReadString(element.GetProperty(keys[0]), path, requireNonBlank: true);
            return property is null ? null : new Measure(kind, property);
        }

        /// <summary>
        /// For <c>last_weeks</c>, <c>last_months</c>, <c>last_years</c> and <c>last_minutes</c>: the window in the units
        /// the language has, since that, not a near spelling, is what the writer needs.
        /// </summary>
        private static string? OtherUnit(string key, JsonElement value)
        {
            var count = value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) && n > 0 ? n : (int?)null;
            string? Unit() => value.ValueKind == JsonValueKind.String ? CalendarUnitMeant(value.GetString()!) : null;
            string Days(int perUnit, string unit) => count is { } c
                ? $" Windows count days or hours: {c} {unit}{(c == 1 ? string.Empty : "s")} is {{\"last_days\": {c * perUnit}}}"
                : $" Windows count days or hours: a {unit} is {perUnit} days in \"last_days\"";
            return key.ToLowerInvariant() switch
            {
                "last_weeks" or "last_week" => Days(7, "week") + ".",
                "last_months" or "last_month" => Days(30, "month") + " (30-day months; the calendar month before this one is {\"previous\": \"month\"}, this one so far {\"this\": \"month\"}).",
                "last_years" or "last_year" => Days(365, "year") + ".",
                "last_minutes" or "last_minute" => " Windows count days or hours: the shortest is {\"last_hours\": 1}.",
                "last" or "past" or "prior" when Unit() is { } unit => $" Did you mean {{\"previous\": \"{unit}\"}} (the whole calendar {unit} before this one; {{\"this\": \"{unit}\"}} is this one so far)?",
                "current" or "calendar" or "within" when Unit() is { } unit => $" Did you mean {{\"this\": \"{unit}\"}} (this calendar {unit} so far)?",
                _ => null,
            };
        }

        private Window? ReadWindow(JsonElement element, string path)
        {
            const string Shapes = "{\"last_days\": N}, {\"last_hours\": N}, {\"between_days_ago\": [A, B]}, {\"since\": T}, {\"before\": T}, {\"from\": T1, \"to\": T2}, {\"this\": PERIOD} or {\"previous\": PERIOD, \"periods\": N} (PERIOD day, week, month, quarter or year; either may add \"time_zone\": an IANA zone such as \"America/New_York\")";
            if (element.ValueKind != JsonValueKind.Object)
            {
                var meant = element.ValueKind == JsonValueKind.String ? WindowPhrase(element.GetString()!) : null;
                Error(path, $"A window is one of {Shapes}, not {Describe(element)}.{meant}");
                return null;
            }

            var keys = element.EnumerateObject().Select(p => p.Name).ToList();
            foreach (var key in keys.Where(k => !DslNames.WindowKinds.Contains(k)))
            {
                Error(path, $"Unknown window field '{key}'.{OtherUnit(key, element.GetProperty(key)) ?? Suggestions.DidYouMean(key, DslNames.WindowKinds)} A window is one of {Shapes}.");
                return null;
            }

            var isFromTo = keys.Count == 2 && keys.Contains("from") && keys.Contains("to");
            var isCalendar = keys.Contains("this") || keys.Contains("previous");
            var calendarKeys = keys.Where(k => k is not ("periods" or "time_zone")).ToList();
            if (isCalendar && calendarKeys.Count == 1 && (keys.Contains("previous") || !keys.Contains("periods")))
            {
                return ReadCalendarWindow(element, path);
            }

            if (keys.Count != 1 && !isFromTo)
            {
                var found = keys.Count == 0 ? "an empty object" : Suggestions.JoinQuoted(keys, "and");
                Error(path, $"A window has exactly one shape, found {found}. Use one of {Shapes}.");
                return null;
            }

            if (isFromTo)
            {
                var from = ReadInstant(element.GetProperty("from"), path, "from");
                var to = ReadInstant(element.GetProperty("to"), path, "to");
                if (from is null || to is null)
                {
                    return null;
                }

                if (from >= to)
                {
                    Error(path, "In a from/to window, \"from\" must be earlier than \"to\" (from ≤ ts < to).");
                    return null;
                }

                return new FromToWindow(from.Value, to.Value);
            }

            var value = element.GetProperty(keys[0]);
            switch (keys[0])
            {
                case "last_days":
                    return ReadInteger(value, path, "last_days", 1, MaxDays) is { } days ? new LastDaysWindow(days) : null;
                case "last_hours":
                    return ReadInteger(value, path, "last_hours", 1, MaxHours) is { } hours ? new LastHoursWindow(hours) : null;
                case "between_days_ago":
                    if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != 2)
                    {
                        Error(path, $"\"between_days_ago\" takes two whole numbers [A, B] with A < B (from B days ago up to A days ago), not {Describe(value)}.");
                        return null;
                    }

                    var a = ReadInteger(value[0], path, "between_days_ago[0]", 0, MaxDays);
                    var b = ReadInteger(value[1], path, "between_days_ago[1]", 0, MaxDays);
                    if (a is null || b is null)
                    {
                        return null;
                    }

                    if (a >= b)
                    {
                        Error(path, $"\"between_days_ago\": [A, B] needs A < B (events from B days ago up to A days ago); got [{a}, {b}].");
                        return null;
                    }

                    return new BetweenDaysAgoWindow(a.Value, b.Value);
                case "since":
                    return ReadInstant(value, path, "since") is { } since ? new SinceWindow(since) : null;
                case "before":
                    return ReadInstant(value, path, "before") is { } before ? new BeforeWindow(before) : null;
                case "periods":
                    Error(path, "\"periods\" counts the periods of a \"previous\" window: {\"previous\": \"month\", \"periods\": 3} is the 3 whole months before this one.");
                    return null;
                case "time_zone":
                    Error(path, "\"time_zone\" sets the time zone of a calendar window: {\"this\": \"day\", \"time_zone\": \"America/New_York\"} is today in New York.");
                    return null;
                default:
                    Error(path, $"\"{keys[0]}\" needs its partner: a window {{\"from\": T1, \"to\": T2}} has both.");
                    return null;
            }
        }

        /// <summary><c>{"this": P, "time_zone"?: Z}</c> or <c>{"previous": P, "periods"?: N, "time_zone"?: Z}</c>.</summary>
        private Window? ReadCalendarWindow(JsonElement element, string path)
        {
            var isThis = element.TryGetProperty("this", out var thisElement);
            var unit = ReadCalendarUnit(isThis ? thisElement : element.GetProperty("previous"), path, isThis ? "this" : "previous");
            var ok = unit is not null;
            string? zone = null;
            if (element.TryGetProperty("time_zone", out var zoneElement))
            {
                ok &= TryReadTimeZone(zoneElement, path, out zone);
            }

            if (isThis)
            {
                return ok ? new ThisPeriodWindow(unit!.Value, zone) : null;
            }

            var periods = element.TryGetProperty("periods", out var periodsElement)
                ? unit is { } u ? ReadInteger(periodsElement, path, "periods", 1, CalendarPeriods.MaxPeriods(u)) : null
                : 1;
            return ok && periods is { } n ? new PreviousPeriodsWindow(unit!.Value, n, zone) : null;
        }

        /// <summary>
        /// An IANA time zone id the system knows ("America/New_York", "Europe/Berlin"); UTC itself is no time zone of the
        /// window (null), so the two spellings of a UTC window are one definition.
        /// </summary>
        private bool TryReadTimeZone(JsonElement element, string path, out string? id)
        {
            id = null;
            var text = element.ValueKind == JsonValueKind.String ? element.GetString()!.Trim() : null;
            // "EST" and "MST" are fixed offsets in the time zone database, kept for old systems: whoever writes them means
            // New York's or Denver's clock, daylight saving time included.
            var legacyOffset = text is not null && text.ToUpperInvariant() is "EST" or "MST";
            if (text is { Length: > 0 and <= 64 } && !legacyOffset && TimeZoneInfo.TryFindSystemTimeZoneById(text, out var zone) && zone.HasIanaId)
            {
                id = zone.Id is "UTC" or "Etc/UTC" or "Etc/GMT" or "GMT" or "Etc/Universal" or "Universal" or "Zulu" or "Etc/Zulu" ? null : zone.Id;
                return true;
            }

            var hint = text is null ? string.Empty : TimeZoneMeant(text);
            Error(path, $"\"time_zone\" takes an IANA time zone such as \"America/New_York\", \"Europe/Berlin\" or \"UTC\", not {(text is null ? Describe(element) : $"\"{Truncate(text)}\"")}.{hint}");
            return false;
        }

        /// <summary>The period of a <c>this</c> or <c>previous</c> window: day, week, month, quarter or year.</summary>
        private CalendarUnit? ReadCalendarUnit(JsonElement element, string path, string field)
        {
            var text = element.ValueKind == JsonValueKind.String ? element.GetString()! : null;
            if (text is not null && DslNames.TryParseCalendarUnit(text, out var unit))
            {
                return unit;
            }

            var meant = text is null ? null : CalendarUnitMeant(text);
            var hint = meant is not null ? $" Did you mean \"{meant}\"?" : string.Empty;
            Error(path, $"\"{field}\" takes a calendar period: \"day\", \"week\", \"month\", \"quarter\" or \"year\" (UTC; weeks start on Monday), not {(text is null ? Describe(element) : $"\"{Truncate(text)}\"")}.{hint}");
            return null;
        }

        /// <summary>"months", "Month", "calendar_month", "mon": the period meant.</summary>
        private static string? CalendarUnitMeant(string text)
        {
            var lower = text.Trim().ToLowerInvariant().Replace("calendar_", string.Empty, StringComparison.Ordinal).Replace("calendar ", string.Empty, StringComparison.Ordinal);
            var singular = lower.EndsWith('s') ? lower[..^1] : lower;
            if (DslNames.CalendarUnits.Contains(singular))
            {
                return singular;
            }

            return lower switch
            {
                "today" or "daily" => "day",
                "weekly" => "week",
                "monthly" => "month",
                "quarterly" => "quarter",
                "yearly" or "annual" or "annually" => "year",
                _ => Suggestions.Closest(lower, DslNames.CalendarUnits, 1).FirstOrDefault(),
            };
        }

        private PropertyFilter? ReadFilter(JsonElement element, string path, bool isEventWhere)
        {
            if (!RequireObject(element, path, "a filter {\"name\": …, \"op\": …, \"value\": …}"))
            {
                return null;
            }

            var ok = CheckFields(
                element,
                path,
                FilterFields,
                ["name", "op"],
                (field, value) => ExplainCaseField(field, value) ?? (isEventWhere ? null : ExplainNegationField(field, value)),
                field => MissingFilterField(field, element));
            var name = element.TryGetProperty("name", out var nameElement) ? ReadString(nameElement, $"{path}.name", requireNonBlank: true) : null;
            if (name == PropertyFilter.ValueProperty && !isEventWhere)
            {
                Error($"{path}.name", "\"$value\" names an event's numeric value: use it in an event's \"where\" or \"measure\", not on a profile property.");
                ok = false;
            }

            if (!element.TryGetProperty("op", out var opElement))
            {
                return null;
            }

            var opName = ReadString(opElement, $"{path}.op", requireNonBlank: true);
            if (opName is null)
            {
                return null;
            }

            if (!DslNames.TryParseOperator(opName, out var op))
            {
                Error($"{path}.op", $"Unknown operator '{opName}'.{DslNames.DidYouMeanFilterOperator(opName)} Operators: {string.Join(", ", DslNames.FilterOperators)}.");
                return null;
            }

            var values = ReadOperands(element, path, op, name == PropertyFilter.ValueProperty);
            var ignoreCase = ReadIgnoreCase(element, path, op, name == PropertyFilter.ValueProperty);
            var zone = ReadFilterTimeZone(element, path, op, ref ok);
            return ok && name is not null && values is not null && ignoreCase is not null ? new PropertyFilter(name, op, values, ignoreCase.Value, zone) : null;
        }

        /// <summary>A filter's optional <c>"time_zone"</c>: only anniversary_in_next_days counts calendar days.</summary>
        private string? ReadFilterTimeZone(JsonElement filter, string path, FilterOperator op, ref bool ok)
        {
            if (!filter.TryGetProperty("time_zone", out var element))
            {
                return null;
            }

            if (op != FilterOperator.AnniversaryInNextDays)
            {
                Error($"{path}.time_zone", $"'{op.Name()}' counts time, not calendar days: \"time_zone\" applies to anniversary_in_next_days (and to calendar windows). Leave it out.");
                ok = false;
                return null;
            }

            ok &= TryReadTimeZone(element, $"{path}.time_zone", out var zone);
            return zone;
        }

        /// <summary>A filter's optional <c>"ignore_case"</c>: a boolean, true only where the operator compares text.</summary>
        private bool? ReadIgnoreCase(JsonElement filter, string path, FilterOperator op, bool isEventValue)
        {
            if (!filter.TryGetProperty("ignore_case", out var element) || element.ValueKind == JsonValueKind.Null)
            {
                return false;
            }

            var fieldPath = $"{path}.ignore_case";
            if (element.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                var unquoted = element.ValueKind == JsonValueKind.String && element.GetString()!.Trim().ToLowerInvariant() is "true" or "false"
                    ? $" Write {element.GetString()!.Trim().ToLowerInvariant()} without quotes."
                    : string.Empty;
                Error(fieldPath, $"\"ignore_case\" is true or false, not {Describe(element)}.{unquoted}");
                return null;
            }

            if (element.ValueKind == JsonValueKind.False)
            {
                return false;
            }

            if (isEventValue)
            {
                Error(fieldPath, "\"$value\" is a number: \"ignore_case\" applies to text. Leave it out.");
                return null;
            }

            if (!op.ComparesText())
            {
                Error(fieldPath, $"'{op.Name()}' does not compare text: \"ignore_case\" applies to eq, neq, in, not_in, contains, not_contains, starts_with and ends_with. Leave it out.");
                return null;
            }

            return true;
        }

        private List<Scalar>? ReadOperands(JsonElement filter, string path, FilterOperator op, bool isEventValue)
        {
            var valuePath = $"{path}.value";
            var hasValue = filter.TryGetProperty("value", out var value) && value.ValueKind != JsonValueKind.Null;
            var opName = op.Name();
            if (op is FilterOperator.IsSet or FilterOperator.IsNotSet)
            {
                if (hasValue)
                {
                    Error(valuePath, $"'{opName}' takes no value.");
                    return null;
                }

                return [];
            }

            if (isEventValue && (op.IsTextOperator() || op.IsDateOperator()))
            {
                Error($"{path}.op", $"'{opName}' does not apply to \"$value\", which is a number: use eq, neq, in, not_in, gt, gte, lt, lte, between, is_set or is_not_set.");
                return null;
            }

            if (!hasValue)
            {
                Error(path, $"'{opName}' needs a \"value\".");
                return null;
            }

            switch (op)
            {
                case FilterOperator.Eq or FilterOperator.Neq:
                    return ReadScalar(value, valuePath, opName, isEventValue) is { } scalar ? [scalar] : null;
                case FilterOperator.In or FilterOperator.NotIn:
                    if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
                    {
                        var one = value.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False
                            ? $" Write [{Truncate(value.GetRawText())}] for one value."
                            : string.Empty;
                        Error(valuePath, $"'{opName}' takes a non-empty array of values, not {Describe(value)}.{one}");
                        return null;
                    }

                    if (value.GetArrayLength() > MaxListLength)
                    {
                        Error(valuePath, $"'{opName}' takes at most {MaxListLength} values; this list has {value.GetArrayLength()}.");
                        return null;
                    }

                    var list = new List<Scalar>();
                    var index = 0;
                    foreach (var item in value.EnumerateArray())
                    {
                        if (ReadScalar(item, $"{valuePath}[{index++}]", opName, isEventValue) is { } element)
                        {
                            list.Add(element);
                        }
                    }

                    return list.Count == value.GetArrayLength() ? list : null;
                case FilterOperator.Contains or FilterOperator.NotContains or FilterOperator.StartsWith or FilterOperator.EndsWith:
                    if (value.ValueKind != JsonValueKind.String)
                    {
                        Error(valuePath, $"'{opName}' compares text: the value must be a string, not {Describe(value)}.");
                        return null;
                    }

                    return ReadString(value, valuePath, requireNonBlank: false) is { } text ? [new StringScalar(text)] : null;
                case FilterOperator.Gt or FilterOperator.Gte or FilterOperator.Lt or FilterOperator.Lte:
                    if (value.ValueKind == JsonValueKind.String && IsoTime.TryParse(value.GetString()!, out _))
                    {
                        // The likeliest intent: a date comparison, which has its own operators.
                        var instead = op is FilterOperator.Gt or FilterOperator.Gte ? "after" : "before";
                        Error(valuePath, $"'{opName}' compares numbers, and {Describe(value)} is a date: compare dates with '{instead}' (or 'in_last_days', 'more_than_days_ago', 'in_next_days').");
                        return null;
                    }

                    return ReadNumber(value, valuePath, $"'{opName}' compares numbers: the value") is { } number ? [new NumberScalar(number)] : null;
                case FilterOperator.Between:
                    if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() != 2)
                    {
                        Error(valuePath, $"'between' takes two numbers [lo, hi] (inclusive), not {Describe(value)}.{BoundsAsArray(value)}");
                        return null;
                    }

                    var lo = ReadNumber(value[0], $"{valuePath}[0]", "the lower bound");
                    var hi = ReadNumber(value[1], $"{valuePath}[1]", "the upper bound");
                    if (lo is null || hi is null)
                    {
                        return null;
                    }

                    if (lo > hi)
                    {
                        Error(valuePath, $"'between' needs lo ≤ hi; got [{Format(lo.Value)}, {Format(hi.Value)}].");
                        return null;
                    }

                    return [new NumberScalar(lo.Value), new NumberScalar(hi.Value)];
                case FilterOperator.Before or FilterOperator.After:
                    if (value.ValueKind != JsonValueKind.String || !IsoTime.TryParse(value.GetString()!, out _))
                    {
                        Error(valuePath, $"'{opName}' takes an ISO-8601 date or timestamp such as \"2024-02-29\" or \"2024-02-29T10:00:00Z\", not {Describe(value)}.");
                        return null;
                    }

                    return [new StringScalar(value.GetString()!)];
                default:
                    var max = op == FilterOperator.AnniversaryInNextDays ? MaxAnniversaryDays : MaxDays;
                    return ReadInteger(value, valuePath, opName, 0, max) is { } days ? [new NumberScalar(days)] : null;
            }
        }

        private Scalar? ReadScalar(JsonElement element, string path, string opName, bool numbersOnly)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Number when ReadNumber(element, path, "the value") is { } number:
                    return new NumberScalar(number);
                case JsonValueKind.String when !numbersOnly:
                    return ReadString(element, path, requireNonBlank: false) is { } text ? new StringScalar(text) : null;
                case JsonValueKind.True or JsonValueKind.False when !numbersOnly:
                    return new BoolScalar(element.GetBoolean());
                case JsonValueKind.Number:
                    return null;
                default:
                    var expected = numbersOnly ? "a number (\"$value\" is numeric)" : "a string, number or boolean";
                    var several = element.ValueKind == JsonValueKind.Array && opName is "eq" or "neq"
                        ? $" For one of several values use \"op\": \"{(opName == "eq" ? "in" : "not_in")}\"."
                        : string.Empty;
                    Error(path, $"'{opName}' takes {expected}, not {Describe(element)}.{several}");
                    return null;
            }
        }

        private DateTime? ReadInstant(JsonElement element, string path, string field)
        {
            if (element.ValueKind == JsonValueKind.String && IsoTime.TryParse(element.GetString()!, out var instant))
            {
                return instant;
            }

            var relative = element.ValueKind == JsonValueKind.String ? RelativeTime(field, element.GetString()!) : string.Empty;
            Error(path, $"\"{field}\" takes an ISO-8601 date or timestamp such as \"2024-02-29\" or \"2024-02-29T10:00:00Z\" (years 1900–2299), not {Describe(element)}.{relative}");
            return null;
        }

        private int? ReadInteger(JsonElement element, string path, string what, int min, int max)
        {
            if (element.ValueKind == JsonValueKind.Number && element.TryGetDouble(out var number) && number == Math.Floor(number) && number >= min && number <= max)
            {
                return (int)number;
            }

            Error(path, $"\"{what}\" takes a whole number from {min} to {max}, not {Describe(element)}.{Unquoted(element)}");
            return null;
        }

        private double? ReadNumber(JsonElement element, string path, string what)
        {
            if (element.ValueKind == JsonValueKind.Number && element.TryGetDouble(out var number) && double.IsFinite(number))
            {
                return number;
            }

            Error(path, $"{Capitalize(what)} must be a number, not {Describe(element)}.{Unquoted(element)}");
            return null;
        }

        private string? ReadString(JsonElement element, string path, bool requireNonBlank)
        {
            if (element.ValueKind != JsonValueKind.String)
            {
                Error(path, $"Expected a string, not {Describe(element)}.");
                return null;
            }

            var text = element.GetString()!;
            if (text.Length > MaxStringLength)
            {
                Error(path, $"Strings are at most {MaxStringLength} characters; this one has {text.Length}.");
                return null;
            }

            if (requireNonBlank && string.IsNullOrWhiteSpace(text))
            {
                Error(path, "Expected a non-empty string.");
                return null;
            }

            return text;
        }

        private bool RequireObject(JsonElement element, string path, string what)
        {
            if (element.ValueKind == JsonValueKind.Object)
            {
                return true;
            }

            Error(path, $"Expected {what}, not {Describe(element)}.");
            return false;
        }

        /// <summary>
        /// Reports unknown fields (with suggestions) and missing required ones; true when there were none.
        /// <paramref name="explain"/> may answer an unknown field with what it means here (a window's field beside the
        /// window, a count written as an object), naming the required fields its answer covers so those are not also
        /// reported missing; <paramref name="missingHint"/> adds to a missing field's message.
        /// </summary>
        private bool CheckFields(
            JsonElement element,
            string path,
            IReadOnlyList<string> allowed,
            IReadOnlyList<string> required,
            Func<string, JsonElement, FieldHint?>? explain = null,
            Func<string, string>? missingHint = null)
        {
            var ok = true;
            var covered = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in element.EnumerateObject())
            {
                if (allowed.Contains(property.Name))
                {
                    continue;
                }

                ok = false;
                if (explain?.Invoke(property.Name, property.Value) is { } hint)
                {
                    Error(Join(path, property.Name), hint.Message);
                    covered.UnionWith(hint.Covers);
                }
                else
                {
                    Error(Join(path, property.Name), $"Unknown field '{Truncate(property.Name)}'.{DslNames.DidYouMeanField(property.Name, allowed)} Allowed here: {string.Join(", ", allowed)}.");

                    // "key" for "name": the field meant is named once, not also reported missing.
                    if (DslNames.FieldMeant(property.Name, allowed) is { } meant)
                    {
                        covered.Add(meant);
                    }
                }
            }

            foreach (var name in required)
            {
                if (!element.TryGetProperty(name, out _) && !covered.Contains(name))
                {
                    Error(Join(path, name), $"Missing required field '{name}'.{missingHint?.Invoke(name)}");
                    ok = false;
                }
            }

            return ok;
        }

        private void Error(string path, string message) => Errors.Add(new DslError(path, message));

        private static string Join(string path, string field) => path.Length == 0 ? field : $"{path}.{field}";

        private static string Capitalize(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];

        private static string Truncate(string text) => text.Length <= 60 ? text : text[..57] + "...";

        private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);

        private static string Describe(JsonElement element) => element.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => $"an array of {element.GetArrayLength()}",
            JsonValueKind.String => $"the string \"{Truncate(element.GetString()!)}\"",
            JsonValueKind.Number => $"the number {element.GetRawText()}",
            JsonValueKind.True or JsonValueKind.False => $"the boolean {element.GetRawText()}",
            JsonValueKind.Null => "null",
            _ => "nothing",
        };
    }
}
