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
}
