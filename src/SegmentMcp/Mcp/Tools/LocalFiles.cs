using ModelContextProtocol;

namespace SegmentMcp.Mcp.Tools;

/// <summary>Paths on the user's own machine, as the stdio-only file tools take them.</summary>
internal static class LocalFiles
{
    /// <summary>
    /// The full path <paramref name="path"/> names: absolute, or under <c>~/</c>. A relative path is refused because the
    /// server's working folder is wherever the MCP client started it, nothing the user chose.
    /// </summary>
    public static string FullPath(string? path, string asked, string example)
    {
        var given = path?.Trim();
        if (string.IsNullOrEmpty(given))
        {
            throw new McpException($"path: required; {asked} (an absolute path, or one starting with ~/).");
        }

        if (given == "~" || given.StartsWith("~/", StringComparison.Ordinal) || given.StartsWith("~\\", StringComparison.Ordinal))
        {
            given = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), given.Length > 2 ? given[2..] : string.Empty);
        }

        return Path.IsPathFullyQualified(given)
            ? Path.GetFullPath(given)
            : throw new McpException($"path: '{ToolSupport.Echo(given)}' is relative, and the server's working folder is nothing the user chose. Give an absolute path or one starting with ~/ (their home folder), e.g. {example}.");
    }
}
