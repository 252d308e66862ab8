using System.Data.Common;
using System.Globalization;
using System.Text.RegularExpressions;

namespace SegmentMcp.Core.Storage;

/// <summary>
/// An error reported by ClickHouse (embedded or server), with its numeric error code and symbolic name
/// (for example 60 / UNKNOWN_TABLE, 159 / TIMEOUT_EXCEEDED).
/// </summary>
public sealed partial class ClickHouseException : DbException
{
    public const int TimeoutExceeded = 159;
    public const int QueryWasCancelled = 394;
    public const int MemoryLimitExceeded = 241;
    public const int CannotOpenFile = 76;
    public const int NetworkError = 210;

    public ClickHouseException(int code, string errorName, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
        ErrorName = errorName;
    }

    public ClickHouseException()
        : this(0, string.Empty, "ClickHouse error")
    {
    }

    public ClickHouseException(string message)
        : this(0, string.Empty, message)
    {
    }

    public ClickHouseException(string message, Exception innerException)
        : this(0, string.Empty, message, innerException)
    {
    }

    /// <summary>ClickHouse's numeric error code (0 when the engine gave none).</summary>
    public int Code { get; }

    /// <summary>ClickHouse's symbolic error name, such as UNKNOWN_TABLE.</summary>
    public string ErrorName { get; }

    public override int ErrorCode => Code;

    /// <summary>
    /// True when the engine could not be reached or opened at all (a server down, a data directory another process
    /// holds): retrying the same request will not help until someone fixes it, and the message says what to fix.
    /// </summary>
    public bool IsUnavailable { get; private init; }

    /// <summary>An error for an engine that could not be reached or opened; its message names what and where.</summary>
    public static ClickHouseException Unavailable(int code, string errorName, string message, Exception? innerException = null) =>
        new(code, errorName, message, innerException) { IsUnavailable = true };

    /// <summary>Parses ClickHouse's "Code: 60. DB::Exception: … (UNKNOWN_TABLE)" text.</summary>
    public static ClickHouseException FromEngineText(string text, Exception? innerException = null)
    {
        var match = ErrorPattern().Match(text);
        var code = match.Success ? int.Parse(match.Groups["code"].Value, CultureInfo.InvariantCulture) : 0;
        var name = match.Success ? match.Groups["name"].Value : string.Empty;
        var message = match.Success ? match.Groups["message"].Value.Trim() : text.Trim();
        return new ClickHouseException(code, name, message, innerException);
    }

    [GeneratedRegex(@"^\s*Code:\s*(?<code>\d+)\.\s*(?:DB::Exception:\s*)?(?<message>.*?)(?:\s*\((?<name>[A-Z_]+)\))?(?:\s*\(version [^)]*\))?\s*$", RegexOptions.Singleline)]
    private static partial Regex ErrorPattern();
}
