using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.App;

/// <summary>A segment's size at the end of one UTC day (at its last evaluation for the last day), and who entered and exited that day.</summary>
public sealed record GrowthDay(DateOnly Date, long Size, long Entered, long Exited);

/// <summary>
/// A saved segment's size day by day, replayed backwards from its current size through its entered/exited log: the
/// last <see cref="Days"/> UTC days up to its last evaluation, from its first evaluation on (days before it are left out).
/// </summary>
public sealed record SegmentGrowth(string SegmentId, long Size, DateTime? EvaluatedAt, DateTime? FirstEvaluatedAt, int Days, IReadOnlyList<GrowthDay> History)
{
    public const int DefaultDays = 30;

    public const int MaxDays = 366;

    /// <summary>
    /// The last <paramref name="days"/> days of <paramref name="saved"/>: one aggregate of its log since the first of
    /// them, and the current size. Exact because every change since the first evaluation is in the log (derived, on one
    /// engine, for generations written without it), so the size at a day's end is today's less what changed after.
    /// </summary>
    public static async Task<SegmentGrowth> ReadAsync(
        IMembershipReader membership, IMembershipHistory log, string tenant, SavedSegment saved, int days, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(days);
        var first = await log.FirstEvaluatedAtAsync(tenant, saved.Id, cancellationToken).ConfigureAwait(false);
        if (saved.EvaluatedAt is not { } evaluatedAt || first is null)
        {
            return new SegmentGrowth(saved.Id, 0, saved.EvaluatedAt, first, days, []);
        }

        var size = await membership.CountAsync(tenant, saved.Id, cancellationToken).ConfigureAwait(false);
        var lastDay = DateOnly.FromDateTime(evaluatedAt);
        var firstDay = DateOnly.FromDateTime(first.Value) is var start && start > lastDay.AddDays(1 - days) ? start : lastDay.AddDays(1 - days);
        var changes = (await membership.ChangesByDayAsync(tenant, saved.Id, firstDay.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc), cancellationToken).ConfigureAwait(false))
            .ToDictionary(c => c.Day);

        // Backwards from the last evaluation: a day's end is the next day's end less that next day's net change.
        var daysBack = new List<GrowthDay>();
        var atEnd = size;
        for (var day = lastDay; day >= firstDay; day = day.AddDays(-1))
        {
            var change = changes.GetValueOrDefault(day) ?? new DailyChanges(day, 0, 0);
            daysBack.Add(new GrowthDay(day, atEnd, change.Entered, change.Exited));
            atEnd -= change.Entered - change.Exited;
        }

        daysBack.Reverse();
        return new SegmentGrowth(saved.Id, size, evaluatedAt, first, days, daysBack);
    }
}
