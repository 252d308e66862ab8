using System.Text;
using SegmentMcp.Core.Ingest;

namespace SegmentMcp.Tests.Ingest;

public class Iso8601Tests
{
    [Theory]
    [InlineData("2026-11-20T10:00:00Z", "2026-11-20 10:00:00.000")]
    [InlineData("2026-11-20T10:00:00.1239+02:00", "2026-11-20 08:00:00.123")]
    [InlineData("2026-11-20T10:00:00,5-0530", "2026-11-20 15:30:00.500")]
    [InlineData("2026-11-20T01:00+03", "2026-11-19 22:00:00.000")]
    [InlineData("2026-11-20 10:00:00", "2026-11-20 10:00:00.000")]
    [InlineData("2026-11-20", "2026-11-20 00:00:00.000")]
    [InlineData("2028-02-29t23:59:59.999999999z", "2028-02-29 23:59:59.999")]
    [InlineData("1900-01-01T00:00:00Z", "1900-01-01 00:00:00.000")]
    public void Accepted_forms_become_utc_milliseconds(string text, string expected)
    {
        Assert.True(Iso8601.TryParse(Encoding.UTF8.GetBytes(text), out var ticks));
        var formatted = new byte[Iso8601.FormattedLength];
        Iso8601.Format(ticks, formatted);
        Assert.Equal(expected, Encoding.UTF8.GetString(formatted));
    }

    [Theory]
    [InlineData("")]
    [InlineData("20261120")]
    [InlineData("2026-13-01")]
    [InlineData("2026-02-29")]
    [InlineData("2026-11-20T24:00:00Z")]
    [InlineData("2026-11-20T10")]
    [InlineData("2026-11-20T10:00:00.Z")]
    [InlineData("2026-11-20T10:00:00Zjunk")]
    [InlineData("2026-11-20T10:00:00+25:00")]
    [InlineData("1899-12-31T23:59:59Z")]
    [InlineData("2300-01-01T00:00:00Z")]
    [InlineData("20/11/2026")]
    public void Other_text_is_rejected(string text) =>
        Assert.False(Iso8601.TryParse(Encoding.UTF8.GetBytes(text), out _));

    [Theory]
    [InlineData("1763632800", "2025-11-20 10:00:00.000", "seconds")]
    [InlineData("1763632800.123", "2025-11-20 10:00:00.123", "seconds")]
    [InlineData("1763632800.9999", "2025-11-20 10:00:00.999", "seconds")]
    [InlineData("1000000000", "2001-09-09 01:46:40.000", "seconds")]
    [InlineData("1763632800123", "2025-11-20 10:00:00.123", "milliseconds")]
    [InlineData("1763632800123456", "2025-11-20 10:00:00.123", "microseconds")]
    [InlineData("1763632800123456789", "2025-11-20 10:00:00.123", "nanoseconds")]
    public void A_number_since_1970_has_its_unit_told_by_its_size(string number, string expected, string unit)
    {
        Assert.True(Iso8601.TryFromEpoch(decimal.Parse(number, System.Globalization.CultureInfo.InvariantCulture), out var ticks, out var read));
        var formatted = new byte[Iso8601.FormattedLength];
        Iso8601.Format(ticks, formatted);
        Assert.Equal((expected, unit), (Encoding.UTF8.GetString(formatted), read));
    }

    [Theory]
    [InlineData("20261120", null)] // a date written as digits, not August 1970
    [InlineData("0", null)]
    [InlineData("-86400", null)]
    [InlineData("999999999", null)]
    [InlineData("500000000000", null)] // milliseconds before 2001, or seconds in the year 17814
    [InlineData("500000000000000", null)]
    [InlineData("50000000000", "seconds")] // after 2299
    [InlineData("20261120100000", "milliseconds")] // yyyyMMddHHmmss: after 2299 in milliseconds
    public void Other_numbers_are_refused(string number, string? unit)
    {
        Assert.False(Iso8601.TryFromEpoch(decimal.Parse(number, System.Globalization.CultureInfo.InvariantCulture), out _, out var read));
        Assert.Equal(unit, read);
    }
}
