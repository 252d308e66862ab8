using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.App;

/// <summary>How many entries and exits a saved segment's evaluations recorded since a time (its log, as <c>segment_growth</c> reads it).</summary>
public sealed record SegmentActivity(long Entered, long Exited)
{
    /// <summary>Segments whose logs are read side by side: each is one small aggregate.</summary>
    private const int Parallel = 4;

    /// <summary>Per segment id, the entries and exits recorded at or after <paramref name="since"/>.</summary>
    public static async Task<IReadOnlyDictionary<string, SegmentActivity>> SinceAsync(
        IMembershipReader membership, string tenant, IReadOnlyList<string> segmentIds, DateTime since, CancellationToken cancellationToken)
    {
        var activity = new Dictionary<string, SegmentActivity>(StringComparer.Ordinal);
        foreach (var batch in segmentIds.Chunk(Parallel))
        {
            var days = await Task.WhenAll(batch.Select(id => membership.ChangesByDayAsync(tenant, id, since, cancellationToken))).ConfigureAwait(false);
            for (var i = 0; i < batch.Length; i++)
            {
                activity[batch[i]] = new SegmentActivity(days[i].Sum(d => d.Entered), days[i].Sum(d => d.Exited));
            }
        }

        return activity;
    }
}
