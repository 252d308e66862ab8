using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.App;

/// <summary>How many profiles two saved segments have in common, as of their last evaluations.</summary>
public sealed record OverlapPair(string A, string B, long Both);

/// <summary>Saved segments' sizes and, for every pair, their common members (<c>segment_overlap</c>, <c>segments overlap</c>).</summary>
public sealed record SegmentOverlapResult(IReadOnlyDictionary<string, long> Sizes, IReadOnlyList<OverlapPair> Pairs)
{
    public const int MinSegments = 2;

    public const int MaxSegments = 8;

    /// <summary>The sizes of <paramref name="segmentIds"/> (saved segments, checked by the caller) and each pair's overlap, in the order given.</summary>
    public static async Task<SegmentOverlapResult> ReadAsync(IMembershipReader membership, string tenant, IReadOnlyList<string> segmentIds, CancellationToken cancellationToken)
    {
        var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var id in segmentIds)
        {
            sizes[id] = await membership.CountAsync(tenant, id, cancellationToken).ConfigureAwait(false);
        }

        var pairs = new List<OverlapPair>();
        for (var i = 0; i < segmentIds.Count; i++)
        {
            for (var j = i + 1; j < segmentIds.Count; j++)
            {
                pairs.Add(new OverlapPair(segmentIds[i], segmentIds[j], await membership.OverlapAsync(tenant, segmentIds[i], segmentIds[j], cancellationToken).ConfigureAwait(false)));
            }
        }

        return new SegmentOverlapResult(sizes, pairs);
    }
}
