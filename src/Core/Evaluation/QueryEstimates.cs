using System.Collections.Concurrent;

namespace SegmentMcp.Core.Evaluation;

/// <summary>
/// The engine's estimates of whole segment queries' rows (<c>EXPLAIN ESTIMATE</c>), kept per segment version and
/// reused by later ticks within <see cref="EvaluatorOptions.EstimateReuse"/> of evaluation time. An estimate only
/// chooses between a whole query and chunks (both exact), and what a whole query reads moves with the data, not
/// from one tick to the next; planning the estimates of a 1% hour cost a serial 120 ms before phase 2.
/// </summary>
/// <remarks>One instance per evaluator; share it among evaluators over the same database (a benchmark's runs).</remarks>
public sealed class QueryEstimates
{
    private readonly ConcurrentDictionary<(string Tenant, string SegmentId, int Version), (DateTime At, long Rows)> rows = new();

    /// <summary>The rows estimated for the version at an evaluation time within <paramref name="reuse"/> of <paramref name="at"/>.</summary>
    public bool TryGet(string tenant, string segmentId, int version, DateTime at, TimeSpan reuse, out long estimated)
    {
        if (rows.TryGetValue((tenant, segmentId, version), out var known) && (at - known.At).Duration() <= reuse)
        {
            estimated = known.Rows;
            return true;
        }

        estimated = 0;
        return false;
    }

    public void Set(string tenant, string segmentId, int version, DateTime at, long estimated) =>
        rows[(tenant, segmentId, version)] = (at, estimated);
}
