using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.Evaluation;

/// <summary>
/// Projections the evaluator's phase 1 reads through, added to <see cref="StorageSchema"/>'s tables with idempotent
/// ALTERs (run by <see cref="StorageSchema.EnsureCreatedAsync"/>). The base tables are sorted for segment queries
/// (by metric or property, then profile); these sort the same rows by time or value so that "events of metric M
/// with ts in a window edge's sweep" or "updates that took effect between t0 and t1" read only those rows.
/// Parts written before a projection existed are read without it (slower, still correct).
/// </summary>
public static class EvaluationSchema
{
    public static IReadOnlyList<string> Statements(StorageSchema schema) =>
    [
        $"ALTER TABLE {schema.Events} ADD PROJECTION IF NOT EXISTS by_time (SELECT tenant, metric, ts, profile_id ORDER BY tenant, metric, ts)",
        $"ALTER TABLE {schema.Traits} ADD PROJECTION IF NOT EXISTS by_update (SELECT tenant, property, updated_at, profile_id ORDER BY tenant, property, updated_at)",
        $"ALTER TABLE {schema.Traits} ADD PROJECTION IF NOT EXISTS by_value (SELECT tenant, property, value, updated_at, profile_id ORDER BY tenant, property, value)",
    ];
}
