using SegmentMcp.Core.Dsl;
using SqlF = SegmentMcp.Core.Sql.Sql;

namespace SegmentMcp.Core.Sql;

/// <summary>
/// Phase 1 for the behavioural conditions. Each is reduced to event leaves the rules of <see cref="CandidateQuery"/>
/// already cover (new rows, window edges, relative dates in where filters) plus explicit time ranges of events for
/// what moves with time in another way (a calendar period boundary, a then_not interval elapsing).
/// </summary>
internal static partial class CandidateQuery
{
    /// <summary>Event leaves and per-metric ts ranges whose events' profiles are candidates.</summary>
    private sealed record Derived(List<EventCondition> Leaves, List<(string Metric, DateTime From, DateTime To)> Ranges);

    /// <remarks>
    /// Why each reduction is complete (a leaf reads only events with ts ≤ now, as event leaves do):
    /// <list type="bullet">
    /// <item>first_time: the earliest matching event changes only with new rows, a future event becoming current,
    /// or a where date crossing (leaf M, where F, no window); its being in W changes only when an edge of W
    /// crosses it (leaf M, window W).</item>
    /// <item>stopped: two counts, each an event leaf over its window — exactly the same rules.</item>
    /// <item>restarted: with the events before and after the recent edge fixed, f − p does not depend on now, so
    /// only that edge and the upper edge matter (leaf M, last_days N) besides new rows anywhere (leaf M, no window).</item>
    /// <item>regularly: within one current period the counted periods are fixed (a from/to leaf over them); when the
    /// current period changed between t0 and t1 every count shifts, so every profile with a matching event in the
    /// periods counted at t0 or t1 is a candidate (a profile with none has all counts 0 at both times).</item>
    /// <item>last_event: the latest event changes with new rows or a future event becoming current (leaf M, no
    /// window), and the filter on its property with a relative date crossing (leaf M, where = the filter).</item>
    /// <item>sequence: each step is an event leaf over W; the then_not interval of a last-step event at tk elapses
    /// when t0 &lt; tk + H2 ≤ t1 (a range of last-step events); a blocking event matters only when new (leaf M', W):
    /// one already ingested but after t0 lies in an interval that had not elapsed at t0, so nothing changed.</item>
    /// </list>
    /// </remarks>
    private static Derived DerivedLeaves(IReadOnlyList<Condition> behavioural, DateTime t0, DateTime t1)
    {
        var leaves = new List<EventCondition>();
        var ranges = new List<(string Metric, DateTime From, DateTime To)>();
        foreach (var condition in behavioural)
        {
            switch (condition)
            {
                case FirstTimeCondition c:
                    leaves.Add(Leaf(c.Metric, c.Where, null));
                    leaves.Add(Leaf(c.Metric, [], c.Window));
                    break;
                case StoppedCondition c:
                    leaves.Add(Leaf(c.Metric, c.Where, c.Before));
                    leaves.Add(Leaf(c.Metric, c.Where, c.Recent));
                    break;
                case RestartedCondition c:
                    leaves.Add(Leaf(c.Metric, [], null));
                    leaves.Add(Leaf(c.Metric, [], new LastDaysWindow(c.RecentDays)));
                    break;
                case RegularlyCondition c:
                    var before = c.Span(t0);
                    var after = c.Span(t1);
                    leaves.Add(Leaf(c.Metric, c.Where, new FromToWindow(before.Oldest, after.Current)));
                    if (before.Current != after.Current)
                    {
                        ranges.Add((c.Metric, before.Oldest, after.Current));
                    }

                    break;
                case LastEventCondition c:
                    leaves.Add(Leaf(c.Metric, [], null));
                    leaves.Add(Leaf(c.Metric, [c.Filter], null));
                    break;
                case SequenceCondition c:
                    leaves.AddRange(c.Steps.Select(step => Leaf(step.Metric, step.Where, c.Window)));
                    if (c.ThenNot is { } thenNot)
                    {
                        leaves.Add(Leaf(thenNot.Metric, [], c.Window));
                        ranges.Add((c.Steps[^1].Metric, t0.AddHours(-thenNot.WithinHours), t1.AddHours(-thenNot.WithinHours)));
                    }

                    break;
            }
        }

        return new Derived(leaves, ranges);

        static EventCondition Leaf(string metric, IReadOnlyList<PropertyFilter> where, Window? window) =>
            new(metric, where, window, Measure.Count, Comparison.Gte, 1);
    }

    /// <summary>
    /// Static lists: an add or remove that takes effect in (t0, t1], or one written after w0 (whatever its time, up
    /// to t1), changes in_list for that profile.
    /// </summary>
    private static SqlFragment ListChanges(TableNames schema, IReadOnlyList<string> lists, SqlFragment tenant, SqlFragment t0, SqlFragment t1, SqlFragment w0) =>
        SqlF.Of(
            $"SELECT profile_id FROM {SqlF.Table(schema.ListMembers)} WHERE tenant = {tenant} AND list_id IN {SqlF.Param("Array(String)", lists.ToArray())} AND at <= {t1} AND (at > {t0} OR ingested_at > {w0})");
}
