using System.Globalization;

namespace SegmentMcp.Core.Dsl;

/// <summary>The read-back of the behavioural conditions.</summary>
public static partial class ReadBack
{
    private static string BehaviouralClause(Condition condition)
    {
        switch (condition)
        {
            case FirstTimeCondition c:
                {
                    var (verb, _, rest) = Verb(c.Metric);
                    return $"who {verb}{rest}{Where(c.Where)} for the first time{Spaced(c.Window)}";
                }

            case SequenceCondition c:
                {
                    var steps = c.Steps.Select((step, i) =>
                    {
                        var (verb, _, rest) = Verb(step.Metric);
                        return $"{(i == 0 ? string.Empty : "then ")}{verb}{rest}{Where(step.Where)}";
                    });
                    var text = $"who {string.Join(", ", steps)}, within {Hours(c.WithinHours)}{Spaced(c.Window)}";
                    if (c.ThenNot is { } thenNot)
                    {
                        var (_, baseForm, rest) = Verb(thenNot.Metric);
                        text += $", and did not {baseForm}{rest} within {Hours(thenNot.WithinHours)} after";
                    }

                    return text;
                }

            case StoppedCondition c:
                {
                    var (verb, _, rest) = Verb(c.Metric);
                    return $"who {verb}{rest}{Where(c.Where)} {Window(c.Before)} but not {Window(c.Recent)}";
                }

            case RestartedCondition c:
                {
                    var (verb, _, rest) = Verb(c.Metric);
                    return $"who {verb}{rest} again {Window(new LastDaysWindow(c.RecentDays))} after a break of at least {Days(c.GapDays)}";
                }

            case RegularlyCondition c:
                {
                    var (verb, _, rest) = Verb(c.Metric);
                    var times = c.Value == 1 ? "time" : "times";
                    var period = c.Period.Name();
                    var periods = c.Periods == 1 ? $"the last whole {period}" : $"at least {Count(c.MinPeriods)} of the last {Count(c.Periods)} whole {period}s";
                    return Zoned($"who {verb}{rest}{Where(c.Where)} {Comparative(c.Op)} {Number(c.Value)} {times} a {period} in {periods}", c.TimeZone);
                }

            case LastEventCondition c:
                return $"whose latest {c.Metric} event is one{Where([c.Filter])}";
            case RandomBucketCondition c:
                return $"who fall in a random {Number(c.Percent)}% of profiles (seed {c.Seed})";
            case InListCondition c:
                return $"who are on list '{c.ListId}'";
            default:
                throw new InvalidOperationException("Unknown condition.");
        }
    }

    private static string Spaced(Window? window) => window is null ? string.Empty : " " + Window(window);

    private static string Hours(int hours) => hours == 1 ? "1 hour" : $"{Count(hours)} hours";

    private static string Count(int count) => count.ToString(CultureInfo.InvariantCulture);
}
