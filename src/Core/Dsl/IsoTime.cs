using System.Globalization;
using System.Text.RegularExpressions;

namespace SegmentMcp.Core.Dsl;

/// <summary>
/// The one ISO-8601 grammar of the product, for ingested timestamps and for dates in definitions and property values:
/// <c>YYYY-MM-DD</c> (00:00:00 UTC), optionally followed by <c>T</c>, <c>t</c> or a space, <c>hh:mm[:ss[(.|,)f…]]</c>
/// and a zone <c>Z</c>, <c>z</c>, <c>±hh</c>, <c>±hhmm</c> or <c>±hh:mm</c>; no zone means UTC. Years 1900–2299, and the
/// instant after its offset stays in that range, as ClickHouse's <c>DateTime64</c> does. Fractions beyond
/// milliseconds are dropped (<see cref="Truncate"/>), as the <c>DateTime64(3, 'UTC')</c> columns keep them. The
/// compiler's SQL matches the same text (<see cref="SqlPattern"/>) and normalizes it (<c>t</c>/<c>z</c> upper-cased,
/// <c>,</c> as <c>.</c>, <c>±hh</c> as <c>±hh:00</c>) before parsing, so a text is a date in SQL exactly when it is one
/// here; ingest's allocation-free parser over UTF-8 bytes implements this grammar too.
/// </summary>
public static partial class IsoTime
{
    /// <summary>The pattern as ClickHouse re2 text (no backslashes), without anchors' tag prefix.</summary>
    public const string SqlPattern =
        "(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([Tt ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.,][0-9]+)?)?([Zz]|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?";

    /// <summary>The first instant of the range (ClickHouse DateTime64's range starts in 1900).</summary>
    public static readonly DateTime MinInstant = new(1900, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>The first instant past the range.</summary>
    public static readonly DateTime EndOfRange = new(2300, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>Drops what a <c>DateTime64(3)</c> column does not keep: everything below a millisecond. Unspecified kinds become UTC.</summary>
    public static DateTime Truncate(DateTime utc) =>
        new(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerMillisecond), utc.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : utc.Kind);

    public static bool TryParse(string text, out DateTime utc)
    {
        utc = default;
        var match = Pattern().Match(text);
        if (!match.Success)
        {
            return false;
        }

        var year = int.Parse(match.Groups["y"].ValueSpan, CultureInfo.InvariantCulture);
        var month = int.Parse(match.Groups["mo"].ValueSpan, CultureInfo.InvariantCulture);
        var day = int.Parse(match.Groups["d"].ValueSpan, CultureInfo.InvariantCulture);
        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            return false;
        }

        var value = new DateTime(year, month, day, 0, 0, 0, DateTimeKind.Utc);
        if (match.Groups["h"].Success)
        {
            value = value.AddHours(int.Parse(match.Groups["h"].ValueSpan, CultureInfo.InvariantCulture))
                .AddMinutes(int.Parse(match.Groups["mi"].ValueSpan, CultureInfo.InvariantCulture));
        }

        if (match.Groups["s"].Success)
        {
            value = value.AddSeconds(int.Parse(match.Groups["s"].ValueSpan, CultureInfo.InvariantCulture));
        }

        if (match.Groups["f"].Success)
        {
            var fraction = (match.Groups["f"].Value + "00")[..3];
            value = value.AddMilliseconds(int.Parse(fraction, CultureInfo.InvariantCulture));
        }

        if (match.Groups["oh"].Success)
        {
            var offset = new TimeSpan(
                int.Parse(match.Groups["oh"].ValueSpan, CultureInfo.InvariantCulture),
                match.Groups["om"].Success ? int.Parse(match.Groups["om"].ValueSpan, CultureInfo.InvariantCulture) : 0,
                0);
            value = match.Groups["sign"].Value == "+" ? value - offset : value + offset;
        }

        utc = value;
        return value >= MinInstant && value < EndOfRange;
    }

    /// <summary>The canonical text of an instant: <c>2024-02-29T10:00:00.000Z</c>.</summary>
    public static string Format(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(?<y>(19|2[0-2])[0-9]{2})-(?<mo>[0-9]{2})-(?<d>[0-9]{2})([Tt ](?<h>[01][0-9]|2[0-3]):(?<mi>[0-5][0-9])(:(?<s>[0-5][0-9])([.,](?<f>[0-9]+))?)?([Zz]|(?<sign>[+-])(?<oh>[01][0-9]|2[0-3])(:?(?<om>[0-5][0-9]))?)?)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
