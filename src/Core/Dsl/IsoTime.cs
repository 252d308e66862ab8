using System.Globalization;
using System.Text.RegularExpressions;

namespace SegmentMcp.Core.Dsl;

/// <summary>
/// The ISO-8601 dates and timestamps the language accepts: <c>YYYY-MM-DD</c> (00:00:00 UTC), optionally followed by
/// <c>T</c> or a space, <c>hh:mm[:ss[.fff]]</c> and <c>Z</c> or an offset; no zone means UTC. Years 1900–2299, the
/// range of ClickHouse's DateTime64. The compiler's SQL applies the same pattern (<see cref="SqlPattern"/>) before
/// parsing, so a text is a date in SQL exactly when it is one here.
/// </summary>
public static partial class IsoTime
{
    /// <summary>The pattern as ClickHouse re2 text (no backslashes), without anchors' tag prefix.</summary>
    public const string SqlPattern =
        "(19|2[0-2])[0-9]{2}-[0-9]{2}-[0-9]{2}([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]{1,9})?)?(Z|[+-]([01][0-9]|2[0-3]):?[0-5][0-9])?)?";

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
            // DateTime64(3) keeps milliseconds: further digits are dropped, as ClickHouse does.
            var fraction = (match.Groups["f"].Value + "00")[..3];
            value = value.AddMilliseconds(int.Parse(fraction, CultureInfo.InvariantCulture));
        }

        if (match.Groups["oh"].Success)
        {
            var offset = new TimeSpan(
                int.Parse(match.Groups["oh"].ValueSpan, CultureInfo.InvariantCulture),
                int.Parse(match.Groups["om"].ValueSpan, CultureInfo.InvariantCulture),
                0);
            value = match.Groups["sign"].Value == "+" ? value - offset : value + offset;
        }

        utc = value;
        return true;
    }

    /// <summary>The first instant a time argument may name (ClickHouse DateTime64's range starts in 1900).</summary>
    public static readonly DateTime MinArgument = new(1900, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>The first instant past the range a time argument may name.</summary>
    public static readonly DateTime EndOfArguments = new(2300, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>
    /// Like <see cref="TryParse"/>, and the instant itself (after its offset is applied) lies in 1900–2299: an offset
    /// cannot carry a time out of the range the engine represents.
    /// </summary>
    public static bool TryParseInRange(string text, out DateTime utc) =>
        TryParse(text, out utc) && utc >= MinArgument && utc < EndOfArguments;

    /// <summary>The canonical text of an instant: <c>2024-02-29T10:00:00.000Z</c>.</summary>
    public static string Format(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(?<y>(19|2[0-2])[0-9]{2})-(?<mo>[0-9]{2})-(?<d>[0-9]{2})([T ](?<h>[01][0-9]|2[0-3]):(?<mi>[0-5][0-9])(:(?<s>[0-5][0-9])([.](?<f>[0-9]{1,9}))?)?(Z|(?<sign>[+-])(?<oh>[01][0-9]|2[0-3]):?(?<om>[0-5][0-9]))?)?$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
