using System.Text.Json;

namespace SegmentMcp.Core.Dsl;

/// <summary>The reader of the behavioural conditions (first_time, sequence, stopped, restarted, regularly, last_event, random_bucket, in_list).</summary>
public static partial class SegmentDefinitionJson
{
    public const int MaxSequenceSteps = 5;
    public const int MaxPeriods = 52;

    private sealed partial class Reader
    {
        private static readonly string[] FirstTimeFields = ["metric", "where", "window"];
        private static readonly string[] SequenceFields = ["steps", "within_hours", "window"];
        private static readonly string[] StepFields = ["metric", "where", "then_not"];
        private static readonly string[] ThenNotFields = ["metric", "within_hours"];
        private static readonly string[] StoppedFields = ["metric", "where", "before_days", "recent_days"];
        private static readonly string[] RestartedFields = ["metric", "gap_days", "recent_days"];
        private static readonly string[] RegularlyFields = ["metric", "where", "period", "periods", "min_periods", "op", "value", "time_zone"];
        private static readonly string[] LastEventFields = ["metric", "property", "op", "value", "ignore_case", "time_zone"];
        private static readonly string[] RandomBucketFields = ["percent", "seed"];
        private static readonly string[] InListFields = ["id"];

        private Condition? ReadBehavioural(string kind, JsonElement body, string path)
        {
            if (!RequireObject(body, path, $"a {kind} condition (an object)"))
            {
                return null;
            }

            return kind switch
            {
                "first_time" => ReadFirstTime(body, path),
                "sequence" => ReadSequence(body, path),
                "stopped" => ReadStopped(body, path),
                "restarted" => ReadRestarted(body, path),
                "regularly" => ReadRegularly(body, path),
                "last_event" => ReadLastEvent(body, path),
                "random_bucket" => ReadRandomBucket(body, path),
                _ => ReadInList(body, path),
            };
        }

        private FirstTimeCondition? ReadFirstTime(JsonElement body, string path)
        {
            var ok = CheckFields(body, path, FirstTimeFields, ["metric", "window"], ExplainWindowField);
            var metric = ReadMetric(body, path);
            var where = ReadWhere(body, path, ref ok);
            var window = ReadOptionalWindow(body, path, ref ok);
            return ok && metric is not null && window is not null ? new FirstTimeCondition(metric, where, window) : null;
        }

        private SequenceCondition? ReadSequence(JsonElement body, string path)
        {
            var ok = CheckFields(body, path, SequenceFields, ["steps", "within_hours"], ExplainWindowField);
            var within = body.TryGetProperty("within_hours", out var withinElement) ? ReadInteger(withinElement, path, "within_hours", 1, MaxHours) : null;
            var window = ReadOptionalWindow(body, path, ref ok);
            if (!body.TryGetProperty("steps", out var stepsElement))
            {
                return null;
            }

            var stepsPath = $"{path}.steps";
            if (stepsElement.ValueKind != JsonValueKind.Array || stepsElement.GetArrayLength() is 0 or > MaxSequenceSteps)
            {
                Error(stepsPath, $"\"steps\" is an array of 1 to {MaxSequenceSteps} steps {{\"metric\": …, \"where\": […]}}, not {Describe(stepsElement)}.");
                return null;
            }

            var steps = new List<SequenceStep>();
            var count = stepsElement.GetArrayLength();
            var index = 0;
            foreach (var item in stepsElement.EnumerateArray())
            {
                var stepPath = $"{stepsPath}[{index}]";
                var isLast = ++index == count;
                if (item.ValueKind == JsonValueKind.String)
                {
                    Error(stepPath, $"Expected a step {{\"metric\": …, \"where\": […]}}, not {Describe(item)}: write {{\"metric\": {Truncate(item.GetRawText())}}}.");
                    ok = false;
                    continue;
                }

                if (!RequireObject(item, stepPath, "a step {\"metric\": …, \"where\": […]}"))
                {
                    ok = false;
                    continue;
                }

                ok &= CheckFields(item, stepPath, StepFields, ["metric"]);
                var metric = ReadMetric(item, stepPath);
                var where = ReadWhere(item, stepPath, ref ok);
                ThenNot? thenNot = null;
                if (item.TryGetProperty("then_not", out var thenNotElement))
                {
                    if (!isLast)
                    {
                        Error($"{stepPath}.then_not", "\"then_not\" belongs on the last step only (no event of a metric within some hours after the sequence ends).");
                        ok = false;
                    }
                    else
                    {
                        thenNot = ReadThenNot(thenNotElement, $"{stepPath}.then_not");
                        ok &= thenNot is not null;
                    }
                }

                if (metric is null)
                {
                    ok = false;
                }
                else
                {
                    steps.Add(new SequenceStep(metric, where, thenNot));
                }
            }

            return ok && within is not null && steps.Count == count ? new SequenceCondition(steps, within.Value, window) : null;
        }

        private ThenNot? ReadThenNot(JsonElement element, string path)
        {
            if (!RequireObject(element, path, "{\"metric\": …, \"within_hours\": H}"))
            {
                return null;
            }

            var ok = CheckFields(element, path, ThenNotFields, ["metric", "within_hours"]);
            var metric = ReadMetric(element, path);
            var hours = element.TryGetProperty("within_hours", out var hoursElement) ? ReadInteger(hoursElement, path, "within_hours", 1, MaxHours) : null;
            return ok && metric is not null && hours is not null ? new ThenNot(metric, hours.Value) : null;
        }

        private StoppedCondition? ReadStopped(JsonElement body, string path)
        {
            var ok = CheckFields(body, path, StoppedFields, ["metric", "before_days", "recent_days"]);
            var metric = ReadMetric(body, path);
            var where = ReadWhere(body, path, ref ok);
            var recent = body.TryGetProperty("recent_days", out var recentElement) ? ReadInteger(recentElement, path, "recent_days", 1, MaxDays) : null;
            (int A, int B)? before = null;
            if (body.TryGetProperty("before_days", out var beforeElement))
            {
                var a = beforeElement.ValueKind == JsonValueKind.Array && beforeElement.GetArrayLength() == 2 ? ReadInteger(beforeElement[0], path, "before_days[0]", 0, MaxDays) : null;
                var b = a is null ? null : ReadInteger(beforeElement[1], path, "before_days[1]", 0, MaxDays);
                if (a is null || b is null || a >= b)
                {
                    Error($"{path}.before_days", $"\"before_days\" takes two whole numbers [A, B] with A < B (events from B days ago up to A days ago), not {Describe(beforeElement)}.{BeforeDaysMeant(beforeElement, body)}");
                }
                else
                {
                    before = (a.Value, b.Value);
                }
            }

            if (before is { } window && recent is { } days && days > window.A)
            {
                Error($"{path}.recent_days", $"\"recent_days\" ({days}) may not exceed the start of \"before_days\" ({window.A}): the recent days come after the earlier window.");
                ok = false;
            }

            return ok && metric is not null && before is not null && recent is not null
                ? new StoppedCondition(metric, where, before.Value.A, before.Value.B, recent.Value)
                : null;
        }

        private RestartedCondition? ReadRestarted(JsonElement body, string path)
        {
            var ok = CheckFields(body, path, RestartedFields, ["metric", "gap_days", "recent_days"]);
            var metric = ReadMetric(body, path);
            var gap = body.TryGetProperty("gap_days", out var gapElement) ? ReadInteger(gapElement, path, "gap_days", 1, MaxDays) : null;
            var recent = body.TryGetProperty("recent_days", out var recentElement) ? ReadInteger(recentElement, path, "recent_days", 1, MaxDays) : null;
            return ok && metric is not null && gap is not null && recent is not null ? new RestartedCondition(metric, gap.Value, recent.Value) : null;
        }

        private RegularlyCondition? ReadRegularly(JsonElement body, string path)
        {
            var ok = CheckFields(body, path, RegularlyFields, ["metric", "period", "periods", "min_periods", "op", "value"]);
            var metric = ReadMetric(body, path);
            var where = ReadWhere(body, path, ref ok);
            Period? period = null;
            if (body.TryGetProperty("period", out var periodElement))
            {
                var name = periodElement.ValueKind == JsonValueKind.String ? periodElement.GetString()! : string.Empty;
                var index = DslNames.Periods.ToList().IndexOf(name);
                if (index < 0)
                {
                    Error($"{path}.period", $"\"period\" is one of {string.Join(", ", DslNames.Periods.Select(p => $"\"{p}\""))}, not {Describe(periodElement)}.{Suggestions.DidYouMean(name, DslNames.Periods)}");
                }
                else
                {
                    period = (Period)index;
                }
            }

            var periods = body.TryGetProperty("periods", out var periodsElement) ? ReadInteger(periodsElement, path, "periods", 1, MaxPeriods) : null;
            var minimum = body.TryGetProperty("min_periods", out var minElement) ? ReadInteger(minElement, path, "min_periods", 1, MaxPeriods) : null;
            if (periods is { } n && minimum is { } k && k > n)
            {
                Error($"{path}.min_periods", $"\"min_periods\" ({k}) may not exceed \"periods\" ({n}).");
                ok = false;
            }

            var op = ReadComparison(body, path);
            var value = body.TryGetProperty("value", out var valueElement) ? ReadNumber(valueElement, $"{path}.value", "the number each period's count is compared with") : null;
            string? zone = null;
            if (body.TryGetProperty("time_zone", out var zoneElement))
            {
                ok &= TryReadTimeZone(zoneElement, $"{path}.time_zone", out zone);
            }

            return ok && metric is not null && period is not null && periods is not null && minimum is not null && op is not null && value is not null
                ? new RegularlyCondition(metric, where, period.Value, periods.Value, minimum.Value, op.Value, value.Value, zone)
                : null;
        }

        private LastEventCondition? ReadLastEvent(JsonElement body, string path)
        {
            var ok = CheckFields(body, path, LastEventFields, ["metric", "property", "op"], ExplainCaseField);
            var metric = ReadMetric(body, path);
            var property = body.TryGetProperty("property", out var propertyElement) ? ReadString(propertyElement, $"{path}.property", requireNonBlank: true) : null;
            if (!body.TryGetProperty("op", out var opElement) || ReadString(opElement, $"{path}.op", requireNonBlank: true) is not { } opName)
            {
                return null;
            }

            if (!DslNames.TryParseOperator(opName, out var op))
            {
                Error($"{path}.op", $"Unknown operator '{opName}'.{DslNames.DidYouMeanFilterOperator(opName)} Operators: {string.Join(", ", DslNames.FilterOperators)}.");
                return null;
            }

            var values = ReadOperands(body, path, op, property == PropertyFilter.ValueProperty);
            var ignoreCase = ReadIgnoreCase(body, path, op, property == PropertyFilter.ValueProperty);
            var zone = ReadFilterTimeZone(body, path, op, ref ok);
            return ok && metric is not null && property is not null && values is not null && ignoreCase is not null
                ? new LastEventCondition(metric, new PropertyFilter(property, op, values, ignoreCase.Value, zone))
                : null;
        }

        private RandomBucketCondition? ReadRandomBucket(JsonElement body, string path)
        {
            var ok = CheckFields(body, path, RandomBucketFields, ["percent", "seed"]);
            double? percent = null;
            if (body.TryGetProperty("percent", out var percentElement))
            {
                if (percentElement.ValueKind == JsonValueKind.Number && percentElement.TryGetDouble(out var p) && p is >= 0 and <= 100 && Math.Abs((p * 100) - Math.Round(p * 100)) < 1e-6)
                {
                    percent = Math.Round(p * 100) / 100;
                }
                else
                {
                    Error($"{path}.percent", $"\"percent\" takes a number from 0 to 100 in steps of 0.01, not {Describe(percentElement)}.");
                }
            }

            string? seed = null;
            if (body.TryGetProperty("seed", out var seedElement))
            {
                seed = seedElement.ValueKind == JsonValueKind.Number && seedElement.TryGetInt64(out var number)
                    ? number.ToString(System.Globalization.CultureInfo.InvariantCulture)
                    : seedElement.ValueKind == JsonValueKind.String ? ReadString(seedElement, $"{path}.seed", requireNonBlank: false) : null;
                if (seed is null && seedElement.ValueKind != JsonValueKind.String)
                {
                    Error($"{path}.seed", $"\"seed\" takes a string or a whole number (the same seed gives the same buckets), not {Describe(seedElement)}.");
                }
            }

            return ok && percent is not null && seed is not null ? new RandomBucketCondition(percent.Value, seed) : null;
        }

        private InListCondition? ReadInList(JsonElement body, string path)
        {
            var ok = CheckFields(body, path, InListFields, ["id"]);
            var id = body.TryGetProperty("id", out var idElement) ? ReadString(idElement, $"{path}.id", requireNonBlank: true) : null;
            return ok && id is not null ? new InListCondition(id) : null;
        }

        private string? ReadMetric(JsonElement body, string path) =>
            body.TryGetProperty("metric", out var element) ? ReadString(element, $"{path}.metric", requireNonBlank: true) : null;

        /// <summary>The optional "window"; a present but bad window clears <paramref name="ok"/>.</summary>
        private Window? ReadOptionalWindow(JsonElement body, string path, ref bool ok)
        {
            if (!body.TryGetProperty("window", out var element))
            {
                return null;
            }

            var window = ReadWindow(element, $"{path}.window");
            ok &= window is not null;
            return window;
        }

        private Comparison? ReadComparison(JsonElement body, string path)
        {
            if (!body.TryGetProperty("op", out var element) || ReadString(element, $"{path}.op", requireNonBlank: true) is not { } name)
            {
                return null;
            }

            if (DslNames.TryParseComparison(name, out var comparison))
            {
                return comparison;
            }

            Error($"{path}.op", $"Unknown comparison '{name}'.{DslNames.DidYouMeanOperator(name, DslNames.Comparisons)} A count is compared with one of {string.Join(", ", DslNames.Comparisons)}.");
            return null;
        }
    }
}
