namespace SegmentMcp.Core.Sql;

/// <summary>
/// The ClickHouse types of instants, in one place: every stored time is <see cref="Milliseconds"/> (what
/// <see cref="Dsl.IsoTime.Truncate"/> keeps); ingestion watermarks compare with <c>ingested_at</c> in microseconds.
/// </summary>
public static class ClickHouseTime
{
    /// <summary>Event, update, evaluation and log times.</summary>
    public const string Milliseconds = "DateTime64(3, 'UTC')";

    /// <summary><c>ingested_at</c> and the evaluator's ingestion watermark.</summary>
    public const string Microseconds = "DateTime64(6, 'UTC')";
}
