using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Export;

/// <summary>
/// Where membership feeds stopped, kept in a file so that a restarted <c>segments watch</c> or <c>serve --post</c> goes
/// on from there rather than from its own start, losing nothing recorded while it was down:
/// <c>{"tenants": {"acme": {"since": T, "positions": {"segment-id": T, …}}}}</c>, written whole after every delivered
/// round (beside the file, then moved over it, so a crash leaves the last state or the one before).
/// </summary>
internal sealed class FeedStateFile(string path, string flag)
{
    public string Path { get; } = path;

    /// <summary>The file for <paramref name="flag"/>, or a usage problem: it must be a file name in a folder that exists.</summary>
    public static string? Problem(string flag, string path)
    {
        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        return path.Length == 0 || Directory.Exists(path) ? $"{flag}: '{path}' is not a file name"
            : folder is not null && !Directory.Exists(folder) ? $"{flag}: no directory '{folder}' to keep '{System.IO.Path.GetFileName(path)}' in"
            : null;
    }

    /// <summary>
    /// The feed of <paramref name="tenant"/> as the file left it (from its <c>since</c> and positions), or one from
    /// <paramref name="since"/> when the file or the tenant is not there yet.
    /// </summary>
    public MembershipFeed Resume(ISegmentStore segments, IMembershipReader membership, string tenant, IReadOnlyCollection<string>? segmentIds, DateTime since)
    {
        var saved = Load();
        return saved.TryGetValue(tenant, out var state)
            ? new MembershipFeed(segments, membership, tenant, segmentIds, state.Since, state.Positions)
            : new MembershipFeed(segments, membership, tenant, segmentIds, since);
    }

    /// <summary>Every tenant's state in the file; none when there is no file yet. A file of another shape is an error naming it.</summary>
    public Dictionary<string, (DateTime Since, Dictionary<string, DateTime> Positions)> Load()
    {
        var states = new Dictionary<string, (DateTime, Dictionary<string, DateTime>)>(StringComparer.Ordinal);
        if (!File.Exists(Path))
        {
            return states;
        }

        try
        {
            var root = JsonNode.Parse(File.ReadAllText(Path))?["tenants"]?.AsObject() ?? throw new InvalidDataException("no \"tenants\" object");
            foreach (var (tenant, state) in root)
            {
                var positions = new Dictionary<string, DateTime>(StringComparer.Ordinal);
                foreach (var (segment, at) in state?["positions"]?.AsObject() ?? throw new InvalidDataException($"tenant '{tenant}' has no \"positions\" object"))
                {
                    positions[segment] = Time(at);
                }

                states[tenant] = (Time(state["since"]), positions);
            }

            return states;
        }
        catch (Exception exception) when (exception is JsonException or InvalidDataException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException(
                $"{flag} {Path}: not a state file this program wrote ({exception.Message}); move it away to start from now, or name another file", exception);
        }
    }

    /// <summary>Writes the feeds' states over the file's, keeping other tenants' as they were.</summary>
    public void Save(IEnumerable<(string Tenant, MembershipFeed Feed)> feeds)
    {
        var states = Load();
        foreach (var (tenant, feed) in feeds)
        {
            states[tenant] = (feed.Since, new Dictionary<string, DateTime>(feed.Positions, StringComparer.Ordinal));
        }

        var tenants = new JsonObject();
        foreach (var (tenant, (since, positions)) in states.OrderBy(s => s.Key, StringComparer.Ordinal))
        {
            var marks = new JsonObject();
            foreach (var (segment, at) in positions.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                marks[segment] = Iso(at);
            }

            tenants[tenant] = new JsonObject { ["since"] = Iso(since), ["positions"] = marks };
        }

        var beside = Path + ".writing";
        File.WriteAllText(beside, new JsonObject { ["tenants"] = tenants }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.Move(beside, Path, overwrite: true);
    }

    private static DateTime Time(JsonNode? node) =>
        DateTime.ParseExact(node?.GetValue<string>() ?? throw new InvalidDataException("a time is missing"), "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    // Ticks, not milliseconds: a position is the exclusive end of what was read, and must come back exactly.
    private static string Iso(DateTime time) => time.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
}
