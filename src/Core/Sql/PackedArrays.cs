namespace SegmentMcp.Core.Sql;

/// <summary>
/// Since schema 19 the key-value tables (<see cref="TableNames.ProfileTimelines"/> and the tables beside it) keep each
/// array of times or numbers packed into one String: the array's values, 8 bytes each, as <c>reinterpret</c> lays them
/// out. A key-value read decodes every value of the row it finds one by one; a String is one copy. On the 2M-profile
/// demo (server) 20,000 seen-time rows of 88 times each were looked up in 88–130 ms packed and decoded against 143–180
/// ms as arrays, and replayed chunk statements of a 1% tick took 852 against 1,008 ms.
/// </summary>
public static class PackedArrays
{
    /// <summary>An array of times packed as Array(DateTime64(3, 'UTC')) (cast first, so the layout is always milliseconds).</summary>
    public static SqlFragment PackTimes3(SqlFragment array) => PackEach(Sql.Of($"CAST({array}, 'Array(DateTime64(3, \\'UTC\\'))')"));

    /// <summary>An array of times packed as Array(DateTime64(6, 'UTC')) (microseconds).</summary>
    public static SqlFragment PackTimes6(SqlFragment array) => PackEach(Sql.Of($"CAST({array}, 'Array(DateTime64(6, \\'UTC\\'))')"));

    /// <summary>
    /// An array of nullable numbers packed as Float64 values with NaN for NULL (ingested values come from JSON, which
    /// has no NaN, so NaN stands for nothing else).
    /// </summary>
    public static SqlFragment PackNullableNumbers(SqlFragment array) =>
        PackEach(Sql.Of($"arrayMap(packed_value -> ifNull(toFloat64(packed_value), nan), {array})"));

    /// <summary>
    /// The bytes <c>reinterpret(array, 'String')</c> gives, value by value: only recent ClickHouse releases accept that form (26.7
    /// does; reading back, <c>reinterpret(string, 'Array(T)')</c>, is older), and this one costs the same (a million event
    /// rows packed in 1.5–1.7 s either way, identical bytes). <c>reinterpretAsString</c> drops a value's trailing zero
    /// bytes, so each is padded back to its 8.
    /// </summary>
    private static SqlFragment PackEach(SqlFragment array) =>
        Sql.Of($"arrayStringConcat(arrayMap(packed_value -> rightPad(reinterpretAsString(packed_value), 8, '\\0'), {array}))");

    /// <summary>A packed Array(DateTime64(3, 'UTC')) read back (an empty String is an empty array).</summary>
    public static SqlFragment Times3(SqlFragment packed) => Sql.Of($"reinterpret({packed}, 'Array(DateTime64(3, \\'UTC\\'))')");

    /// <summary>A packed Array(DateTime64(6, 'UTC')) read back.</summary>
    public static SqlFragment Times6(SqlFragment packed) => Sql.Of($"reinterpret({packed}, 'Array(DateTime64(6, \\'UTC\\'))')");

    /// <summary>A packed Array(Nullable(Float64)) read back (see <see cref="PackNullableNumbers"/>).</summary>
    public static SqlFragment NullableNumbers(SqlFragment packed) =>
        Sql.Of($"arrayMap(packed_value -> if(isNaN(packed_value), NULL, packed_value), reinterpret({packed}, 'Array(Float64)'))");

    /// <summary>A key-value row's events as ARRAY JOIN columns <c>ts</c>, <c>value</c> and <c>ingested_at</c>.</summary>
    public static SqlFragment EventColumns { get; } =
        Sql.Of($"{Times3(Sql.Of($"event_ts"))} AS ts, {NullableNumbers(Sql.Of($"event_value"))} AS value, {Times6(Sql.Of($"event_ingested_at"))} AS ingested_at");

    /// <summary>A trait history row as ARRAY JOIN columns <c>property</c>, <c>value</c>, <c>updated_at</c> and <c>ingested_at</c>.</summary>
    public static SqlFragment TraitHistoryColumns { get; } =
        Sql.Of($"trait_property AS property, trait_value AS value, {Times3(Sql.Of($"trait_updated_at"))} AS updated_at, {Times6(Sql.Of($"trait_ingested_at"))} AS ingested_at");
}
