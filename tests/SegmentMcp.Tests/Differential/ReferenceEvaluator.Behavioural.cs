using System.Security.Cryptography;
using System.Text;
using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Tests.Differential;

/// <summary>The behavioural conditions, written from their definitions by brute force (every combination of events).</summary>
public sealed partial class ReferenceEvaluator
{
    private sealed partial class Context
    {
        private bool Behavioural(Condition condition, string profile)
        {
            var mine = eventsByProfile.GetValueOrDefault(profile, []);
            switch (condition)
            {
                case FirstTimeCondition c:
                    {
                        var matching = Matching(mine, c.Metric, c.Where).ToList();
                        return matching.Count > 0 && InWindow(c.Window, matching.Min(e => e.Ts));
                    }

                case SequenceCondition c:
                    return SequenceFrom(c, mine, 0, null, null);
                case StoppedCondition c:
                    {
                        var matching = Matching(mine, c.Metric, c.Where).ToList();
                        return matching.Any(e => InWindow(new BetweenDaysAgoWindow(c.FromDaysAgo, c.ToDaysAgo), e.Ts))
                            && !matching.Any(e => InWindow(new LastDaysWindow(c.RecentDays), e.Ts));
                    }

                case RestartedCondition c:
                    {
                        var all = mine.Where(e => e.Metric == c.Metric).Select(e => e.Ts).ToList();
                        var recent = all.Where(t => t >= now.AddDays(-c.RecentDays)).ToList();
                        if (recent.Count == 0)
                        {
                            return false;
                        }

                        var first = recent.Min();
                        var before = all.Where(t => t < first).ToList();
                        return before.Count > 0 && first - before.Max() >= TimeSpan.FromDays(c.GapDays);
                    }

                case RegularlyCondition c:
                    {
                        // Each event's period counted back from now's in wall time (UTC's or the zone's), not by edges.
                        var unit = c.Period switch { Period.Day => CalendarUnit.Day, Period.Week => CalendarUnit.Week, _ => CalendarUnit.Month };
                        var currentIndex = PeriodIndex(unit, Local(now, c.TimeZone));
                        var backs = Matching(mine, c.Metric, c.Where).Where(e => e.Ts <= now).Select(e => currentIndex - PeriodIndex(unit, Local(e.Ts, c.TimeZone))).ToList();
                        var passing = 0;
                        for (var i = 1; i <= c.Periods; i++)
                        {
                            var count = backs.Count(back => back == i);
                            passing += Compare(count, c.Op, c.Value) ? 1 : 0;
                        }

                        return passing >= c.MinPeriods;
                    }

                case LastEventCondition c:
                    {
                        var latest = mine.Where(e => e.Metric == c.Metric).OrderBy(e => e.Ts).ThenBy(e => e.IngestedAt).LastOrDefault();
                        return c.Filter.IsEventValue
                            ? Filter(c.Filter, string.Empty, latest?.Value, isEventValue: true)
                            : Filter(c.Filter, latest?.Properties.GetValueOrDefault(c.Filter.Name, string.Empty) ?? string.Empty, null);
                    }

                case RandomBucketCondition c:
                    {
                        var hash = MD5.HashData(Encoding.UTF8.GetBytes(tenant + "\n" + profile + "\n" + c.Seed));
                        return BitConverter.ToUInt64(hash, 0) % 10000 < (ulong)Math.Round(c.Percent * 100);
                    }

                case InListCondition c:
                    return owner.Lists
                        .Where(l => l.Tenant == tenant && l.ListId == c.ListId && l.ProfileId == profile && l.At <= now)
                        .OrderBy(l => l.At).ThenBy(l => l.IngestedAt)
                        .LastOrDefault()?.Added ?? false;
                default:
                    throw new InvalidOperationException(condition.GetType().Name);
            }
        }

        /// <summary>Tries every event of step <paramref name="index"/> after the previous one: a plain search of all chains.</summary>
        private bool SequenceFrom(SequenceCondition c, List<TestEvent> mine, int index, DateTime? first, DateTime? previous)
        {
            if (index == c.Steps.Count)
            {
                if (previous - first > TimeSpan.FromHours(c.WithinHours))
                {
                    return false;
                }

                if (c.ThenNot is not { } thenNot)
                {
                    return true;
                }

                var end = previous!.Value.AddHours(thenNot.WithinHours);
                return end <= now && !mine.Any(e => e.Metric == thenNot.Metric && e.Ts > previous && e.Ts <= end);
            }

            var step = c.Steps[index];
            return Matching(mine, step.Metric, step.Where)
                .Where(e => InWindow(c.Window, e.Ts) && (previous is null || e.Ts > previous))
                .Any(e => SequenceFrom(c, mine, index + 1, first ?? e.Ts, e.Ts));
        }

        private IEnumerable<TestEvent> Matching(List<TestEvent> mine, string metric, IReadOnlyList<PropertyFilter> where) =>
            mine.Where(x => x.Metric == metric)
                .Where(x => where.All(f => f.IsEventValue ? Filter(f, string.Empty, x.Value, isEventValue: true) : Filter(f, x.Properties.GetValueOrDefault(f.Name, string.Empty), null)));

        /// <summary>
        /// A sum or an average equals the value within 10⁻⁹ of it (at least 10⁻⁹; README, "Measures, comparisons,
        /// windows"), the bounds computed as the compiled query's parameters are; other measures compare exactly.
        /// </summary>
        private static bool MeasureHolds(EventCondition e, double m)
        {
            if (e.Measure.Kind is not (MeasureKind.Sum or MeasureKind.Avg))
            {
                return Compare(m, e.Op, e.Value);
            }

            var tolerance = 1e-9 * Math.Max(1, Math.Abs(e.Value));
            var (below, above) = (e.Value - tolerance, e.Value + tolerance);
            return e.Op switch
            {
                Comparison.Eq => m >= below && m <= above,
                Comparison.Neq => m < below || m > above,
                Comparison.Gt => m > above,
                Comparison.Gte => m >= below,
                Comparison.Lt => m < below,
                _ => m <= above,
            };
        }

        private static bool Compare(double m, Comparison op, double value) => op switch
        {
            Comparison.Eq => m == value,
            Comparison.Neq => m != value,
            Comparison.Gt => m > value,
            Comparison.Gte => m >= value,
            Comparison.Lt => m < value,
            _ => m <= value,
        };
    }
}
