using System.ComponentModel;
using System.Text.Json.Serialization;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Storage;
using SegmentMcp.Export;

namespace SegmentMcp.Mcp.Tools;

internal sealed record ExportSegmentResult(
    string SegmentId,
    string Path,
    string Format,
    long Members,
    IReadOnlyList<string> Properties,
    DateTime? EvaluatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTime? AsOf = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Replaced = null);

internal sealed record ExportChangesResult(
    string SegmentId,
    string Path,
    string Format,
    long Entered,
    long Exited,
    IReadOnlyList<string> Properties,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTime? Since,
    DateTime Until,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Replaced = null);

/// <summary>
/// Writes a segment's members, or its entries and exits, to a file on the machine the server runs on. Served over stdio only, where that machine
/// is the user's own; a remote HTTP server has no business writing its files for a caller.
/// </summary>
[McpServerToolType]
internal sealed class ExportTools(
    ITenantAccessor tenant, ISegmentStore store, IMembershipReader membership, IMembershipHistory history, MemberProfiles memberProfiles, ProfileReader profiles)
{
    public const int MaxProperties = 50;

    [McpServerTool(Name = "export_segment", Title = "Export a segment's members to a file", ReadOnly = false, Destructive = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Writes every member of a saved segment (as of its last evaluation, or at a past as_of) to a file on the user's
        computer, in profile id order, for "send me the list" or a campaign tool's import: csv (a profile_id column and
        one per property, with a header), ndjson ({"profile_id": …, property: value} a line) or ids (one id a line). Ask
        the user where to save it; path must be absolute or start with ~/ (their home folder), and its folder must
        exist. The format follows the extension (.csv, .ndjson or .jsonl, .txt) unless format is given. properties adds
        each member's profile values at the same time (up to 50; csv and ndjson); for_excel writes a csv the way Excel
        reads names with accents (set it when the user will open the file in Excel). An existing file is refused unless
        overwrite is true: set it only when the user said to replace that file. Example: {"segment_id":
        "boston-openers-3f9a", "path": "~/Downloads/boston-openers.csv", "properties": ["email", "first_name"]}.
        """)]
    public async Task<ExportSegmentResult> ExportSegment(
        [Description("The saved segment's id.")] string segment_id,
        [Description("Where to write: an absolute path, or one starting with ~/ for the user's home folder, e.g. ~/Downloads/vips.csv.")] string path,
        [Description("csv, ndjson or ids; default from the path's extension.")] string? format = null,
        [Description("Profile property names to add as columns (csv) or fields (ndjson), up to 50, e.g. [\"email\", \"city\"].")] string[]? properties = null,
        [Description("Export the members at this past ISO-8601 time (from the segment's history) instead of the latest evaluation.")] string? as_of = null,
        [Description("Replace the file if it exists (only when the user asked for that); default false.")] bool? overwrite = null,
        [Description("For a csv the user will open in Excel: start it with the UTF-8 byte-order mark, without which Excel shows München as MÃ¼nchen; default false.")] bool? for_excel = null,
        CancellationToken cancellationToken = default)
    {
        var (file, kind, existed) = Target(path, format, overwrite, for_excel);
        var asOf = ToolSupport.Time(as_of, "as_of");
        var saved = await ToolSupport.RequireSegmentAsync(store, tenant.Tenant, segment_id, cancellationToken).ConfigureAwait(false);
        var names = await memberProfiles.NamesAsync(tenant.Tenant, properties, cancellationToken, MaxProperties).ConfigureAwait(false);
        if (names.Length > 0 && kind == "ids")
        {
            throw new McpException("properties: an ids file holds profile ids alone; use a .csv or .ndjson path (or format csv or ndjson) to add properties.");
        }

        Func<string?, Task<IReadOnlyList<string>>> members;
        if (asOf is { } at)
        {
            var first = await history.FirstEvaluatedAtAsync(tenant.Tenant, saved.Id, cancellationToken).ConfigureAwait(false)
                ?? throw new McpException($"segment_id: '{saved.Id}' has not been evaluated yet, so it has no history; call refresh_segments first.");
            if (at < first)
            {
                throw new McpException($"as_of: {ToolSupport.Iso(at)} is before the segment's first evaluation at {ToolSupport.Iso(first)}; its history starts there.");
            }

            if (at > DateTime.UtcNow)
            {
                throw new McpException("as_of: give a past time; omit it for the members as of the latest evaluation.");
            }

            members = after => history.MembersAtAsync(tenant.Tenant, saved.Id, at, after, MemberWriter.Page, cancellationToken);
        }
        else
        {
            if (saved.EvaluatedAt is null)
            {
                throw new McpException($"segment_id: '{saved.Id}' has not been evaluated yet; call refresh_segments, then export.");
            }

            members = after => membership.MembersAsync(tenant.Tenant, saved.Id, after, MemberWriter.Page, cancellationToken);
        }

        var written = await WriteAsync(
            file,
            kind,
            [],
            names,
            async after => [.. (await members(after?.ProfileId).ConfigureAwait(false)).Select(m => new ExportRow(m, []))],
            asOf ?? saved.EvaluatedAt!.Value,
            for_excel == true,
            cancellationToken).ConfigureAwait(false);
        return new ExportSegmentResult(saved.Id, file, kind, written, names, saved.EvaluatedAt, asOf, existed ? true : null);
    }

    [McpServerTool(Name = "export_changes", Title = "Export who entered and left a segment to a file", ReadOnly = false, Destructive = true, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Writes who entered and who left a saved segment (its log of evaluations), oldest first, to a file on the user's
        computer: "everyone who joined VIPs since Monday, with their emails, for the welcome campaign". Rows are
        profile_id, change (entered or exited), at, then the properties asked for, each profile's values as of until.
        since and until bound the times (default: the whole log up to now); only keeps entries or exits. csv or ndjson,
        from the path's extension unless format is given; path, overwrite and for_excel as for export_segment: ask the
        user where to save it, and replace a file only when they said so. Example: {"segment_id": "vips-1a2b", "path":
        "~/Downloads/new-vips.csv", "since": "2026-11-30T00:00:00Z", "only": "entered", "properties": ["email"]}.
        """)]
    public async Task<ExportChangesResult> ExportChanges(
        [Description("The saved segment's id.")] string segment_id,
        [Description("Where to write: an absolute path, or one starting with ~/ for the user's home folder, e.g. ~/Downloads/joined.csv.")] string path,
        [Description("Changes at or after this ISO-8601 UTC time; default the beginning of the log.")] string? since = null,
        [Description("Changes before this ISO-8601 UTC time; default now.")] string? until = null,
        [Description("entered or exited: only those changes; default both.")] string? only = null,
        [Description("Profile property names to add as columns (csv) or fields (ndjson), up to 50, e.g. [\"email\"].")] string[]? properties = null,
        [Description("csv or ndjson; default from the path's extension.")] string? format = null,
        [Description("Replace the file if it exists (only when the user asked for that); default false.")] bool? overwrite = null,
        [Description("For a csv the user will open in Excel: start it with the UTF-8 byte-order mark, without which Excel shows München as MÃ¼nchen; default false.")] bool? for_excel = null,
        CancellationToken cancellationToken = default)
    {
        var (file, kind, existed) = Target(path, format, overwrite, for_excel);
        if (kind == "ids")
        {
            throw new McpException("format: changes are written as csv or ndjson (each row has its change and time); use a .csv or .ndjson path.");
        }

        var from = ToolSupport.Time(since, "since");
        var to = ToolSupport.Time(until, "until");
        if (from is not null && to is not null && from >= to)
        {
            throw new McpException("since: must be earlier than until.");
        }

        if (only is not (null or "entered" or "exited"))
        {
            throw new McpException($"only: '{ToolSupport.Echo(only)}' is not entered or exited; omit it for both.");
        }

        var saved = await ToolSupport.RequireSegmentAsync(store, tenant.Tenant, segment_id, cancellationToken).ConfigureAwait(false);
        var names = await memberProfiles.NamesAsync(tenant.Tenant, properties, cancellationToken, MaxProperties).ConfigureAwait(false);
        var now = DateTime.UtcNow;
        var end = to ?? now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMillisecond)); // milliseconds, as the log keeps times
        var changes = new ChangeRows(membership, tenant.Tenant, saved.Id, from, to, only, cancellationToken);
        await WriteAsync(file, kind, ChangeRows.Columns, names, changes.NextAsync, end, for_excel == true, cancellationToken).ConfigureAwait(false);
        return new ExportChangesResult(saved.Id, file, kind, changes.Entered, changes.Exited, names, from, end, existed ? true : null);
    }

    /// <summary>The file to write and its format, checked before anything is read; whether it exists (and may be replaced).</summary>
    private static (string File, string Kind, bool Existed) Target(string? path, string? format, bool? overwrite, bool? forExcel)
    {
        var file = FilePath(path);
        var kind = Format(format, file);
        if (forExcel == true && kind != "csv")
        {
            throw new McpException($"for_excel: only a csv file is written for Excel; this export is {kind}.");
        }

        var existed = File.Exists(file);
        return existed && overwrite != true
            ? throw new McpException($"path: '{ToolSupport.Echo(file)}' already exists. Ask the user whether to replace it (then pass overwrite: true) or choose another name.")
            : (file, kind, existed);
    }

    /// <summary>Writes the rows with the profiles' values at <paramref name="valuesAt"/>; a file that cannot be written is the model's to report.</summary>
    private async Task<long> WriteAsync(
        string file, string kind, IReadOnlyList<string> leading, string[] names, Func<ExportRow?, Task<IReadOnlyList<ExportRow>>> page, DateTime valuesAt, bool forExcel, CancellationToken cancellationToken)
    {
        try
        {
            return await ExportFile.WriteAsync(file, $"path: {file}", stream => MemberWriter.WriteAsync(
                stream,
                kind,
                leading,
                names,
                page,
                ids => profiles.PropertiesOfAsync(tenant.Tenant, ids, names, valuesAt, cancellationToken),
                cancellationToken,
                forExcel)).ConfigureAwait(false);
        }
        catch (IOException exception)
        {
            throw new McpException($"{exception.Message} Tell the user; nothing was written.", exception);
        }
    }

    /// <summary>The absolute path to write, or an error the model can act on.</summary>
    private static string FilePath(string? path)
    {
        var file = LocalFiles.FullPath(path, "ask the user where to save the file", "~/Downloads/segment.csv");
        if (Directory.Exists(file) || file.EndsWith(Path.DirectorySeparatorChar))
        {
            throw new McpException($"path: '{ToolSupport.Echo(file)}' is a folder; add a file name, e.g. {ToolSupport.Echo(Path.Combine(file, "segment.csv"))}.");
        }

        var folder = Path.GetDirectoryName(file)!;
        return Directory.Exists(folder)
            ? file
            : throw new McpException($"path: there is no folder '{ToolSupport.Echo(folder)}' to write '{ToolSupport.Echo(Path.GetFileName(file))}' in. Ask the user for an existing folder (the server creates none).");
    }

    private static string Format(string? format, string file)
    {
        if (format is not null)
        {
            return format is "csv" or "ndjson" or "ids"
                ? format
                : throw new McpException($"format: '{ToolSupport.Echo(format)}' is not one of csv, ndjson, ids.");
        }

        return Path.GetExtension(file).ToLowerInvariant() switch
        {
            ".csv" => "csv",
            ".ndjson" or ".jsonl" => "ndjson",
            ".txt" => "ids",
            var other => throw new McpException($"format: required for a file ending in '{ToolSupport.Echo(other)}'; give csv, ndjson or ids (or end the path in .csv, .ndjson or .txt)."),
        };
    }
}
