using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Core.Sql;

/// <summary>
/// The behavioural conditions. Each is one or more columns of the same event aggregate (one GROUP BY profile_id over
/// the events sort key, the metrics and the union of the time ranges pushed into its WHERE) and a predicate over
/// them in the outer WHERE; random_bucket and in_list read the profile id only.
/// </summary>
public static partial class SegmentCompiler
{
    /// <summary>
    /// A column of the event aggregate: the rows it reads (metric, time range, filtered further) and its aggregate.
    /// With <paramref name="Parts"/> and <paramref name="AggregateOf"/>, the aggregate is rebuilt over only the terms
    /// of its selection that the aggregate's WHERE does not already imply (null: every row the WHERE lets through).
    /// </summary>
    private sealed record EventColumn(
        string Metric, TimeRange Range, bool Filtered, SqlFragment Aggregate, SqlFragment Selection,
        SelectionParts? Parts = null, Func<SqlFragment?, SqlFragment>? AggregateOf = null);

    /// <summary>The terms of a leaf's row selection, kept apart so that the ones its aggregate's WHERE implies can be left out.</summary>
    private sealed record SelectionParts(SqlFragment Metric, SqlFragment? From, SqlFragment? Until, IReadOnlyList<SqlFragment> Filters)
    {
        public SqlFragment All => Without(metric: false, from: false, until: false)!;

        /// <summary>The terms not left out, joined with AND; null when none is left.</summary>
        public SqlFragment? Without(bool metric, bool from, bool until)
        {
            var terms = new List<SqlFragment>();
            if (!metric)
            {
                terms.Add(Metric);
            }

            if (!from && From is not null)
            {
                terms.Add(From);
            }

            if (!until && Until is not null)
            {
                terms.Add(Until);
            }

            terms.AddRange(Filters);
            return terms.Count == 0 ? null : Sql.Join(Sql.Of($" AND "), terms);
        }
    }

    /// <summary>
    /// When "a period's count <paramref name="op"/> <paramref name="value"/>" depends only on whether the period has
    /// an event: the verdict of every period that has one (that of a period without one is the opposite). Null when
    /// it depends on the count, or when every period passes or none does.
    /// </summary>
    internal static bool? PassesByPresence(Comparison op, double value)
    {
        static bool Holds(Comparison op, double count, double value) => op switch
        {
            Comparison.Eq => count == value,
            Comparison.Neq => count != value,
            Comparison.Gt => count > value,
            Comparison.Gte => count >= value,
            Comparison.Lt => count < value,
            _ => count <= value,
        };

        // Counts are whole: the verdict is the same for every count from 1 up exactly when it is the same at 1 and
        // at the first whole count above the value (the threshold ops change at most once, eq and neq only there).
        var withEvents = Holds(op, 1, value);
        var beyond = Math.Max(2, Math.Floor(Math.Abs(value)) + 1);
        var sameFromOne = Holds(op, beyond, value) == withEvents && (value < 2 || value != Math.Floor(value) || op is not (Comparison.Eq or Comparison.Neq));
        return sameFromOne && Holds(op, 0, value) != withEvents ? withEvents : null;
    }

    private sealed partial class QueryBuilder
    {
        private SqlFragment driverId = Sql.Of($"u.profile_id");

        private SqlFragment BehaviouralPredicate(Condition condition) => condition switch
        {
            FirstTimeCondition c => FirstTime(c),
            SequenceCondition c => Sequence(c),
            StoppedCondition c => Stopped(c),
            RestartedCondition c => Restarted(c),
            RegularlyCondition c => Regularly(c),
            LastEventCondition c => LastEvent(c),
            RandomBucketCondition c => RandomBucket(c),
            InListCondition c => InList(c),
            _ => throw new InvalidOperationException($"Unexpected condition {condition.GetType().Name} after inlining."),
        };

        /// <summary>The earliest matching event over all time (minOrNull: NULL for none) lies in the window.</summary>
        private SqlFragment FirstTime(FirstTimeCondition c)
        {
            var selection = Selection(c.Metric, c.Where, TimeRange.All);
            var window = TimeRange.Of(c.Window, now);
            if (window.From is { } start && start > DateTime.UnixEpoch)
            {
                // A window starting after 1970: minIf's value for no matching event (and a missed join's default), the
                // epoch, fails the lower bound by itself, so the first time need not be Nullable (minOrNullIf's
                // Nullable state and the ifNull tests cost 10–20% of the query on the 2M-profile demo).
                var earliest = AddEventColumn(c.Metric, TimeRange.All, c.Where.Count > 0, Sql.Of($"minIf(ts, {selection})"), selection);
                var bounds = new List<SqlFragment> { Sql.Of($"{earliest} >= {Sql.Param(DateTimeType, start)}") };
                if (window.Until is { } end)
                {
                    bounds.Add(Sql.Of($"{earliest} < {Sql.Param(DateTimeType, end)}"));
                }

                return Parenthesize(Sql.And(bounds));
            }

            var first = AddEventColumn(c.Metric, TimeRange.All, c.Where.Count > 0, Sql.Of($"minOrNullIf(ts, {selection})"), selection);
            var tests = new List<SqlFragment> { Sql.Of($"isNotNull({first})") };
            if (window.From is { } from)
            {
                tests.Add(Sql.Of($"ifNull({first} >= {Sql.Param(DateTimeType, from)}, 0)"));
            }

            if (window.Until is { } until)
            {
                tests.Add(Sql.Of($"ifNull({first} < {Sql.Param(DateTimeType, until)}, 0)"));
            }

            return Parenthesize(Sql.And(tests));
        }

        /// <summary>A count in the earlier window and none in the recent one: two counts, each over its own range.</summary>
        private SqlFragment Stopped(StoppedCondition c)
        {
            var before = Count(c.Metric, c.Where, TimeRange.Of(c.Before, now));
            var recent = Count(c.Metric, c.Where, TimeRange.Of(c.Recent, now));
            return Sql.Of($"({before} > 0 AND {recent} = 0)");
        }

        private SqlFragment Count(string metric, IReadOnlyList<PropertyFilter> where, TimeRange range)
        {
            var parts = SelectionOf(metric, where, range);
            static SqlFragment CountOf(SqlFragment? s) => s is null ? Sql.Of($"count()") : Sql.Of($"countIf({s})");
            return AddEventColumn(new EventColumn(metric, range, where.Count > 0, CountOf(parts.All), parts.All, parts, CountOf));
        }

        /// <summary>
        /// The first event of the recent days (f) and the latest event before them (p): every event before f is
        /// before the recent days, so the gap before f is f − p.
        /// </summary>
        private SqlFragment Restarted(RestartedCondition c)
        {
            var edge = now.AddDays(-c.RecentDays);
            var recent = new TimeRange(edge, null);
            var earlier = new TimeRange(null, edge);
            var recentSelection = Selection(c.Metric, [], recent);
            var earlierSelection = Selection(c.Metric, [], earlier);
            var first = AddEventColumn(c.Metric, recent, false, Sql.Of($"minOrNullIf(ts, {recentSelection})"), recentSelection);
            var previous = AddEventColumn(c.Metric, earlier, false, Sql.Of($"maxOrNullIf(ts, {earlierSelection})"), earlierSelection);
            var gap = Sql.Param("Int64", (long)c.GapDays * 86_400_000);
            return Sql.Of($"ifNull(toUnixTimestamp64Milli({first}) - toUnixTimestamp64Milli({previous}) >= {gap}, 0)");
        }

        /// <summary>
        /// Each matching event of the counted periods becomes its period's number (1 = the last whole period) by
        /// arithmetic from the current period's start: days and weeks have a fixed length in UTC, months are counted
        /// with toRelativeMonthNum. In a time zone, whose days need not last 24 hours, an event's period is the number of
        /// period starts (computed here, at most 53) after it. The outer WHERE counts the periods whose count passes. When the test only asks
        /// whether a period has an event at all (at least once, or never), the periods are bits of one UInt64 (at most
        /// 52 periods) instead of an array of every event's period: a fixed-size state, 132–148 ms against 207–213 ms
        /// for weekly browsers on the 2M-profile demo.
        /// </summary>
        private SqlFragment Regularly(RegularlyCondition c)
        {
            var (oldest, current) = c.Span(now);
            var range = new TimeRange(oldest, current);
            var selection = Selection(c.Metric, c.Where, range);
            var number = c.TimeZone is not null
                ? Sql.Of($"arrayCount(period_start -> period_start > ts, {Sql.Param($"Array({DateTimeType})", c.Edges(now).ToArray())})")
                : c.Period == Period.Month
                ? Sql.Of($"toRelativeMonthNum({Sql.Param(DateTimeType, current)}) - toRelativeMonthNum(ts)")
                : Sql.Of($"intDiv({Sql.Param("Int64", UnixMilliseconds(current))} - toUnixTimestamp64Milli(ts) - 1, {Sql.Param("Int64", c.Period == Period.Day ? 86_400_000L : 7 * 86_400_000L)}) + 1");
            if (PassesByPresence(c.Op, c.Value) is { } passesWithEvents)
            {
                var bits = AddEventColumn(c.Metric, range, c.Where.Count > 0, Sql.Of($"groupBitOrIf(bitShiftLeft(toUInt64(1), toUInt8({number})), {selection})"), selection);
                var present = Sql.Of($"bitCount({bits})");
                var passing = passesWithEvents ? present : Sql.Of($"{Sql.Param("UInt8", (long)c.Periods)} - {present}");
                return Sql.Of($"{passing} >= {Sql.Param("UInt8", (long)c.MinPeriods)}");
            }

            var periods = AddEventColumn(c.Metric, range, c.Where.Count > 0, Sql.Of($"groupArrayIf(toUInt8({number}), {selection})"), selection);
            var counts = Sql.Of($"arrayMap(period_number -> countEqual({periods}, period_number), range(1, {Sql.Param("UInt8", (long)c.Periods + 1)}))");
            return Sql.Of($"arrayCount(period_count -> period_count {Operator(c.Op)} {Sql.Param("Float64", c.Value)}, {counts}) >= {Sql.Param("UInt8", (long)c.MinPeriods)}");
        }

        /// <summary>
        /// The property of the latest event by (ts, ingested_at). <c>$value</c> is wrapped in a tuple so that the
        /// aggregate does not skip events whose value is NULL (the latest event decides, even without a value).
        /// </summary>
        private SqlFragment LastEvent(LastEventCondition c)
        {
            var selection = Sql.Of($"metric = {Sql.Param("String", c.Metric)}");
            ValueSql value;
            if (c.Filter.IsEventValue)
            {
                var column = AddEventColumn(c.Metric, TimeRange.All, false, Sql.Of($"argMaxIf(tuple(value), (ts, ingested_at), {selection})"), selection);
                value = new EventValueSql(Sql.Of($"tupleElement({column}, 1)"));
            }
            else
            {
                var column = AddEventColumn(c.Metric, TimeRange.All, false, Sql.Of($"argMaxIf({EventProperty(c.Filter.Name)}, (ts, ingested_at), {selection})"), selection);
                value = new TaggedValueSql(column);
            }

            return FilterSql.Predicate(c.Filter, value, nowParameter, now);
        }

        /// <summary>
        /// Sequences by greedy matching over each step's sorted event times (in ms): from every first-step event, the
        /// earliest later event of each next step; a first-step event starts a sequence exactly when this chain
        /// completes within the hours. With then_not, the last step may be any of its events after the chain's
        /// previous step, within the hours, whose then_not interval has elapsed with no event of that metric in it.
        /// windowFunnel is not used: it reports only the deepest level reached (not the last step's time then_not
        /// needs), its window is in whole seconds for DateTime, and its handling of events that match several steps or
        /// share a timestamp differs between modes and versions.
        /// </summary>
        private SqlFragment Sequence(SequenceCondition c)
        {
            var window = TimeRange.Of(c.Window, now);
            var steps = c.Steps.Select(step =>
            {
                var selection = Selection(step.Metric, step.Where, window);
                return AddEventColumn(step.Metric, window, step.Where.Count > 0, Sql.Of($"arraySort(groupArrayIf(toUnixTimestamp64Milli(ts), {selection}))"), selection);
            }).ToList();
            var within = Sql.Param("Int64", (long)c.WithinHours * 3_600_000);

            // chain[i]: for each first-step event, the time of the greedy chain's step i (NULL when it breaks).
            var chain = new List<SqlFragment> { steps[0] };
            var last = c.ThenNot is null ? steps.Count : steps.Count - 1;
            for (var i = 1; i < last; i++)
            {
                chain.Add(Sql.Of($"arrayMap(seq_t -> arrayFirstOrNull(seq_x -> ifNull(seq_x > seq_t, 0), {steps[i]}), {chain[i - 1]})"));
            }

            if (c.ThenNot is not { } thenNot)
            {
                return Sql.Of($"arrayExists((seq_s, seq_e) -> ifNull(seq_e - seq_s <= {within}, 0), {steps[0]}, {chain[^1]})");
            }

            var after = new TimeRange(window.From, null);
            var notSelection = Selection(thenNot.Metric, [], after);
            var blockers = AddEventColumn(thenNot.Metric, after, false, Sql.Of($"arraySort(groupArrayIf(toUnixTimestamp64Milli(ts), {notSelection}))"), notSelection);
            var hours = Sql.Param("Int64", (long)thenNot.WithinHours * 3_600_000);
            var nowMs = Sql.Param("Int64", UnixMilliseconds(now));
            var abandoned = Sql.Of($"arrayFilter(seq_k -> seq_k + {hours} <= {nowMs} AND NOT arrayExists(seq_b -> seq_b > seq_k AND seq_b <= seq_k + {hours}, {blockers}), {steps[^1]})");
            return steps.Count == 1
                ? Sql.Of($"notEmpty({abandoned})")
                : Sql.Of($"arrayExists((seq_s, seq_p) -> arrayExists(seq_k -> ifNull(seq_k > seq_p, 0) AND seq_k - seq_s <= {within}, {abandoned}), {steps[0]}, {chain[^1]})");
        }

        /// <summary>Milliseconds since 1970 of a UTC time, whatever its Kind says (as toUnixTimestamp64Milli reads ts).</summary>
        private static long UnixMilliseconds(DateTime utc) => (utc.Ticks - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerMillisecond;

        /// <summary>The first 64 bits of MD5(tenant, newline, profile id, newline, seed), little-endian, modulo 10,000.</summary>
        private SqlFragment RandomBucket(RandomBucketCondition c)
        {
            var prefix = Sql.Param("String", tenant + "\n");
            var suffix = Sql.Param("String", "\n" + c.Seed);
            return Sql.Of($"(reinterpretAsUInt64(MD5(concat({prefix}, {driverId}, {suffix}))) % 10000 < {Sql.Param("UInt16", (long)c.BasisPoints)})");
        }

        /// <summary>On the list at now: the profile's latest add/remove row by (at, ingested_at) up to now is an add.</summary>
        private SqlFragment InList(InListCondition c) =>
            Sql.Of($"{driverId} IN (SELECT profile_id FROM {Sql.Table(schema.ListMembers)} WHERE tenant = {tenantParameter} AND list_id = {Sql.Param("String", c.ListId)} AND at <= {nowParameter}{RestrictProfiles()} GROUP BY profile_id HAVING argMax(added, (at, ingested_at)) = 1)");
    }
}
