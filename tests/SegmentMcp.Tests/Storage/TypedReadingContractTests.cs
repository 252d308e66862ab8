using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Tests.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>Typed reading (<see cref="Row"/>, <see cref="EngineReading"/>) over what each adapter returns.</summary>
public abstract partial class EngineContractTests
{
    [Fact]
    public async Task Integers_of_every_width_read_as_Int64_and_UInt64()
    {
        var row = (await Engine.QueryAsync(new SqlStatement(
            """
            SELECT toInt8(-8) AS i8, toUInt8(200) AS u8, toInt16(-16) AS i16, toUInt16(60000) AS u16, toInt32(-32) AS i32,
                   toUInt32(4000000000) AS u32, toInt64(-64) AS i64, toUInt64(64) AS u64, toUInt64(18446744073709551615) AS big,
                   toInt128(-128) AS i128, toUInt256(256) AS u256, toLowCardinality(toNullable(toUInt8(9))) AS wrapped
            """))).RowAt(0);

        Assert.Equal(-8L, row.GetInt64(0));
        Assert.Equal(200L, row.GetInt64(1));
        Assert.Equal(-16L, row.GetInt64(2));
        Assert.Equal(60000L, row.GetInt64(3));
        Assert.Equal(-32, row.GetInt32(4));
        Assert.Equal(4_000_000_000L, row.GetInt64(5));
        Assert.Equal(-64L, row.GetInt64(6));
        Assert.Equal(64UL, row.GetUInt64(7));
        Assert.Equal(ulong.MaxValue, row.GetUInt64(8));
        Assert.Equal(-128L, row.GetInt64(9));
        Assert.Equal(256L, row.GetInt64(10));
        Assert.Equal(9L, row.GetNullableInt64(11));
        Assert.Equal(200.0, row.GetDouble(1));

        AssertUnreadable(() => row.GetInt64(8), "'big'", "UInt64");
        AssertUnreadable(() => row.GetInt32(5), "'u32'", "Int32");
    }

    [Fact]
    public async Task Floats_decimals_and_flags_read_as_double_and_bool()
    {
        var row = (await Engine.QueryAsync(new SqlStatement(
            """
            SELECT toFloat32(1.5) AS f32, toFloat64(-2.25) AS f64, toDecimal64(3.75, 2) AS d,
                   true AS b, toUInt8(0) AS flag_off, toUInt8(1) AS flag_on, CAST(NULL, 'Nullable(Float64)') AS missing, 1 = 1 AS compared
            """))).RowAt(0);

        Assert.Equal(1.5, row.GetDouble(0));
        Assert.Equal(-2.25, row.GetDouble(1));
        Assert.Equal(3.75, row.GetDouble(2));
        Assert.True(row.GetBoolean(3));
        Assert.False(row.GetBoolean(4));
        Assert.True(row.GetBoolean(5));
        Assert.Null(row.GetNullableDouble(6));
        Assert.True(row.IsNull(6));
        Assert.True(row.GetBoolean(7));

        AssertUnreadable(() => row.GetInt64(1), "'f64'", "Int64");
        AssertUnreadable(() => row.GetDouble(6), "'missing'", "NULL", "Nullable(Float64)");
    }

    [Fact]
    public async Task Dates_and_times_read_as_utc_DateTime()
    {
        var at = new DateTime(2026, 11, 20, 10, 0, 0, 123, DateTimeKind.Utc);
        var row = (await Engine.QueryAsync(new SqlStatement(
            """
            SELECT {t:DateTime64(3, 'UTC')} AS t3, toDateTime64('2026-11-20 10:00:00.123456', 6, 'UTC') AS t6,
                   toDateTime('2026-11-20 10:00:00', 'UTC') AS t0, toDate('2026-11-20') AS d, toDate32('1900-01-01') AS d32,
                   CAST(NULL, 'Nullable(DateTime64(3, \'UTC\'))') AS missing, minOrNull(toDateTime64('2026-01-01 00:00:00', 3, 'UTC')) AS some
            """,
            [new SqlParameter("t", "DateTime64(3, 'UTC')", at)]))).RowAt(0);

        Assert.Equal(at, row.GetDateTime(0));
        Assert.Equal(at.AddTicks(4560), row.GetDateTime(1));
        Assert.Equal(new DateTime(2026, 11, 20, 10, 0, 0, DateTimeKind.Utc), row.GetDateTime(2));
        Assert.Equal(new DateTime(2026, 11, 20, 0, 0, 0, DateTimeKind.Utc), row.GetDateTime(3));
        Assert.Equal(new DateTime(1900, 1, 1, 0, 0, 0, DateTimeKind.Utc), row.GetDateTime(4));
        Assert.All(Enumerable.Range(0, 5), i => Assert.Equal(DateTimeKind.Utc, row.GetDateTime(i).Kind));
        Assert.Null(row.GetNullableDateTime(5));
        Assert.Equal(new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc), row.GetNullableDateTime(6));
    }

    [Fact]
    public async Task Text_arrays_and_maps_read_as_strings()
    {
        var row = (await Engine.QueryAsync(new SqlStatement(
            """
            SELECT 'text' AS s, toLowCardinality('low') AS lc, toFixedString('ab', 2) AS fixed, CAST('entered', 'Enum8(\'exited\' = 0, \'entered\' = 1)') AS e,
                   toUUID('00000000-0000-0000-0000-000000000001') AS id, ['a', 'b'] AS xs, CAST([], 'Array(String)') AS none,
                   [toLowCardinality('x')] AS lcs, map('k', 'v', 'k2', '') AS m, CAST(NULL, 'Nullable(String)') AS missing,
                   [1, 2] AS numbers, [NULL, 'x'] AS holes
            """))).RowAt(0);

        Assert.Equal("text", row.GetString(0));
        Assert.Equal("low", row.GetString(1));
        Assert.Equal("ab", row.GetString(2));
        Assert.Equal("entered", row.GetString(3));
        Assert.Equal("00000000-0000-0000-0000-000000000001", row.GetString(4));
        Assert.Equal(["a", "b"], row.GetStrings(5));
        Assert.Empty(row.GetStrings(6));
        Assert.Equal(["x"], row.GetStrings(7));
        Assert.Equal(new Dictionary<string, string> { ["k"] = "v", ["k2"] = string.Empty }, row.GetStringMap(8));
        Assert.Null(row.GetNullableString(9));

        AssertUnreadable(() => row.GetString(9), "'missing'", "NULL");
        AssertUnreadable(() => row.GetStrings(10), "'numbers'", "list of strings");
        AssertUnreadable(() => row.GetStrings(11), "'holes'");
        AssertUnreadable(() => row.GetInt64(0), "'s'", "String");
    }

    [Fact]
    public async Task Scalars_and_mapped_rows_come_from_fragments()
    {
        var tenant = Sql.Param("String", "it's");
        Assert.Equal(4L, await Engine.QueryScalarAsync<long>(Sql.Of($"SELECT length({tenant})")));
        Assert.Equal("it's", await Engine.QueryScalarAsync<string>(Sql.Of($"SELECT {tenant}")));
        Assert.Equal(DateTimeKind.Utc, (await Engine.QueryScalarAsync<DateTime>(new SqlStatement("SELECT now64(6, 'UTC')"))).Kind);
        Assert.Null(await Engine.QueryScalarAsync<long?>(new SqlStatement("SELECT CAST(NULL, 'Nullable(UInt64)')")));
        await Assert.ThrowsAsync<InvalidOperationException>(() => Engine.QueryScalarAsync<long>(new SqlStatement("SELECT 1 WHERE 0")));

        var pairs = await Engine.QueryAsync(
            Sql.Of($"SELECT number, toString(number * {Sql.Param("UInt64", 10L)}) FROM numbers(3) ORDER BY number"),
            row => (row.GetInt64(0), row.GetString(1)));
        Assert.Equal([(0L, "0"), (1L, "10"), (2L, "20")], pairs);

        var single = await Engine.QuerySingleAsync(Sql.Of($"SELECT count(), maxOrNull(number) FROM numbers(0)"), row => (row.GetInt64(0), row.GetNullableInt64(1)));
        Assert.Equal((0L, (long?)null), single);
    }

    [Fact]
    public async Task Streamed_rows_map_through_the_same_reader()
    {
        var total = 0L;
        var count = 0;
        await foreach (var (number, even) in Engine.StreamAsync(
            new SqlStatement("SELECT number, number % 2 = 0 FROM numbers({n:UInt64})", [new SqlParameter("n", "UInt64", 1000L)]),
            row => (row.GetInt64(0), row.GetBoolean(1))))
        {
            Assert.Equal(number % 2 == 0, even);
            total += number;
            count++;
        }

        Assert.Equal(1000, count);
        Assert.Equal(999L * 1000 / 2, total);
    }

    private static void AssertUnreadable(Func<object?> read, params string[] mentions)
    {
        var error = Assert.Throws<InvalidCastException>(read);
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, error.Message, StringComparison.Ordinal);
        }
    }
}
