using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using SegmentMcp.Core.Ingest;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Mcp.Tools;

/// <summary>A bad line of a file, or for a JSON array a bad record (its place in the array) in <see cref="Record"/>.</summary>
internal sealed record ImportProblem(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Line,
    string Reason,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Record = null)
{
    public override string ToString() => Record is { } record
        ? string.Create(CultureInfo.InvariantCulture, $"record {record}: {Reason}")
        : string.Create(CultureInfo.InvariantCulture, $"line {Line}: {Reason}");
}

internal sealed record ImportListResult(
    string ListId,
    string Name,
    bool Created,
    long IdsRead,
    long Added,
    long AlreadyOn,
    long Size,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Note = null);

internal sealed record ImportFileResult(
    string Path,
    string Kind,
    string Format,
    long Lines,
    long RowsWritten,
    long InvalidLines,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ImportProblem>? Problems,
    double Seconds,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? DryRun = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? ValidRows = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? Properties = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<JsonObject>? Sample = null);

/// <summary>
/// Loads a file from the user's computer into this workspace: events or profile records through the same ingest as
/// <c>segmentmcp ingest</c> (validation, batches with deduplication tokens, CSV translation), or profile ids onto a
/// static list as <c>segmentmcp lists import</c> reads them. Served over stdio only,
/// as <see cref="ExportTools"/> is: a remote HTTP server has no business reading its own files for a caller.
/// </summary>
[McpServerToolType]
internal sealed partial class ImportTools(ITenantAccessor tenant, IClickHouseEngine engine, StorageSchema schema, ListStore lists, ProfileReader profiles)
{
    /// <summary>Bad lines an answer lists; the count covers them all.</summary>
    public const int MaxProblems = 20;

    [McpServerTool(Name = "import_file", Title = "Load events or profiles from a file", ReadOnly = false, Destructive = false, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Loads a file from the user's computer into this workspace: kind "events" (what people did: one row per event,
        with profile_id, metric, timestamp, value?) or "profiles" (who they are: profile_id and property columns such as
        email, city, plan). csv (a header row naming the columns; every column other than the fields is a property) or
        ndjson (a record a line: {"profile_id", "metric", "timestamp", "value"?, "properties"?} for events,
        {"profile_id", "properties", "updated_at"?} for profiles; times in ISO-8601 or as seconds or milliseconds since
        1970) or json (one array of such records, as many tools
        export; a file starting with '[' is read so, and its problems name records), from the extension unless format
        is given. For an
        export that names fields its own way, columns maps each field to its csv column, e.g. {"profile_id":
        "Customer Email", "timestamp": "Order Date", "value": "Total"}, or to its json key, e.g. {"profile_id":
        "userId", "metric": "event", "properties": "traits"}, or "properties.distinct_id" for a member of an object (a
        record lacking a field names the key it looks like instead); metric names the event of every row without one (an orders export: "Placed Order"). Every line is checked first: by default one bad
        line loads nothing, and the error lists the bad lines; skip_invalid loads the good lines and lists the bad ones
        (only when the user agrees to leave them out); dry_run checks the whole file and loads nothing (valid_rows, the
        bad lines in problems, and sample: the first 5 good records as they would be stored, to check with the user that
        each column landed where meant: the times, the value, numbers as numbers). For a csv, properties names the columns loaded as properties: for events, event
        properties (use them in an event condition's where), for profiles, profile properties. Loading the same file
        again stores nothing twice. Saved segments take the new data
        at their next evaluation; call refresh_segments for it now, then describe_schema shows the new names. Example:
        {"path": "~/Downloads/orders.csv", "kind": "events", "metric": "Placed Order", "columns": {"profile_id":
        "Email", "timestamp": "Created at", "value": "Total"}}.
        """)]
    public async Task<ImportFileResult> ImportFile(
        McpServer server,
        RequestContext<CallToolRequestParams> context,
        [Description("The file to load: an absolute path, or one starting with ~/ for the user's home folder, e.g. ~/Downloads/contacts.csv.")] string path,
        [Description("events (one row per thing a person did) or profiles (one row per person, with their properties).")] string kind,
        [Description("csv, ndjson (one JSON object a line) or json (one array of records, [{…}, {…}]); default from the path's extension (.csv or .tsv; .ndjson, .jsonl or .json: json when the file starts with '[', else ndjson).")] string? format = null,
        [Description("The csv column or json key holding each field when the file does not use the field's name, e.g. {\"profile_id\": \"Customer ID\", \"timestamp\": \"Order Date\"} or {\"profile_id\": \"userId\", \"metric\": \"event\"}. Fields: profile_id, metric, timestamp, value (events), updated_at (profiles), company_id, and for ndjson/json properties (the object of properties, e.g. \"traits\").")] JsonElement? columns = null,
        [Description("Events without a metric (a csv without a metric column, records without the field): the metric of each, e.g. \"Placed Order\".")] string? metric = null,
        [Description("ndjson/json: a property holding an object (traits' {\"address\": {\"city\": …}}) becomes a property per member, named address.city, so conditions can compare it; arrays stay JSON text. Default false: the object is one property holding its JSON text.")] bool? flatten = null,
        [Description("Load the good lines and list the bad ones, instead of loading nothing when a line is bad; only when the user agreed. Default false.")] bool? skip_invalid = null,
        [Description("Check the file and load nothing: valid_rows says how many rows a load would write, problems lists the bad lines, sample shows the first 5 good records as they would be stored. Default false.")] bool? dry_run = null,
        CancellationToken cancellationToken = default)
    {
        var file = SourcePath(path);
        var ingestKind = kind switch
        {
            "events" => IngestKind.Events,
            "profiles" => IngestKind.Profiles,
            _ => throw new McpException($"kind: '{ToolSupport.Echo(kind)}' is not events or profiles: events are rows of what people did (a metric and a time), profiles rows of who they are (their properties)."),
        };
        var fileFormat = Format(format, file);
        var csv = fileFormat == "csv";
        var mapped = Columns(columns, metric, ingestKind, csv);
        var source = fileFormat switch
        {
            "csv" => IngestSource.File(file).AsCsv(mapped),
            "json" => IngestSource.File(file).AsJsonArray(mapped),
            _ => IngestSource.File(file).WithMap(mapped),
        };

        var token = context.Params?.ProgressToken;
        var options = new IngestOptions
        {
            Company = tenant.Tenant,
            SkipInvalid = skip_invalid == true,
            DryRun = dry_run == true,
            FlattenProperties = flatten == true,
            MaxKeptErrors = MaxProblems,
            OnProgress = p => Notify(server, token, new ProgressNotificationValue
            {
                Progress = p.Lines,
                Message = string.Create(CultureInfo.InvariantCulture, $"{(p.Phase == IngestPhase.Validating ? "checking" : "loading")}, line {p.Lines:N0}, {p.Rows:N0} rows written"),
            }),
        };

        IngestResult result;
        try
        {
            result = await new NdjsonIngestor(engine, schema, options)
                .IngestAsync(ingestKind == IngestKind.Events ? source : null, ingestKind == IngestKind.Profiles ? source : null, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            // Validation reads the whole file before anything is written, so a file that cannot be read is usually
            // refused untouched; batches written before a later failure stay and are not written twice by a retry.
            throw new McpException($"path: {exception.Message} Tell the user; once the file reads, loading it again stores nothing twice.", exception);
        }

        var problems = result.Errors
            .Select(e => e.Unit == "record" ? new ImportProblem(null, InToolTerms(e.Reason), e.Line) : new ImportProblem(e.Line, InToolTerms(e.Reason)))
            .ToList();
        if (result.Rejected)
        {
            throw new McpException(Refusal(file, result, problems, fileFormat));
        }

        var loaded = result.Sources.Single();
        if (dry_run == true)
        {
            return new ImportFileResult(file, kind, fileFormat, loaded.Lines, 0, loaded.InvalidLines, problems.Count > 0 ? problems : null, Math.Round(result.Elapsed.TotalSeconds, 3), DryRun: true, ValidRows: loaded.ValidRecords, Properties: loaded.CsvProperties,
                Sample: loaded.Sample is { Count: > 0 } sample ? [.. sample.Select(r => r.ToJson(loaded.LineUnit))] : null);
        }

        if (token is { } progressToken)
        {
            // Awaited, unlike the reports on the way: a notification sent after the result would miss the request's stream.
            await server.NotifyProgressAsync(
                progressToken,
                new ProgressNotificationValue { Progress = loaded.Lines, Total = loaded.Lines, Message = string.Create(CultureInfo.InvariantCulture, $"{loaded.RowsWritten:N0} rows written") },
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        return new ImportFileResult(file, kind, fileFormat, loaded.Lines, loaded.RowsWritten, loaded.InvalidLines, problems.Count > 0 ? problems : null, Math.Round(result.Elapsed.TotalSeconds, 3), Properties: loaded.CsvProperties);
    }

    [McpServerTool(Name = "import_list", Title = "Put a file's profile ids on a static list", ReadOnly = false, Destructive = false, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("""
        Puts the profile ids of a file on the user's computer on a static list, any number of them: "here are the
        people who came to our webinar" or a suppression list from another tool. The file is one id a line, or a csv
        whose header has a profile_id column (what export_segment writes), or any csv with column naming the column of
        the ids (e.g. "Email"). name creates a new list called that (refused when a list has that name); list_id adds to an existing one (ids already on it
        stay as they are). Every line is checked first: one bad line adds nothing, and the error lists the bad lines.
        Segments use the list as {"in_list": {"id": LIST_ID}}. A note names ids no data has yet (they stay on the list
        and count once data arrives; ids are exact and case-sensitive). Example: {"path": "~/Downloads/attendees.csv",
        "name": "Webinar attendees", "column": "Email"}.
        """)]
    public async Task<ImportListResult> ImportList(
        [Description("The file of ids: an absolute path, or one starting with ~/ for the user's home folder, e.g. ~/Downloads/attendees.csv.")] string path,
        [Description("Create a new list with this name, e.g. \"Webinar attendees\" (give name or list_id).")] string? name = null,
        [Description("Add to this existing list (from list_lists; give name or list_id).")] string? list_id = null,
        [Description("The csv column holding the profile ids when it is not profile_id, e.g. \"Email\".")] string? column = null,
        CancellationToken cancellationToken = default)
    {
        var file = SourcePath(path);
        if ((name is null) == (list_id is null))
        {
            throw new McpException("name: give name to create a new list, or list_id to add to an existing one (one of the two).");
        }

        if (name is not null && name.Trim().Length == 0)
        {
            throw new McpException("name: give the new list a name, e.g. \"Webinar attendees\".");
        }

        if (column is not null && column.Trim().Length == 0)
        {
            throw new McpException("column: give the name of the csv column holding the ids, as its header writes it, or leave column out.");
        }

        var existing = list_id is null ? null : await ListTools.RequireAsync(lists, tenant.Tenant, list_id, cancellationToken).ConfigureAwait(false);
        if (name is not null
            && (await lists.ListAsync(tenant.Tenant, cancellationToken).ConfigureAwait(false)).FirstOrDefault(l => string.Equals(l.Name.Trim(), name.Trim(), StringComparison.OrdinalIgnoreCase)) is { } namesake)
        {
            // A second call after a wrong first one would otherwise leave two lists of one name.
            throw new McpException(string.Create(
                CultureInfo.InvariantCulture,
                $"name: a list called '{ToolSupport.Echo(namesake.Name)}' exists already ({namesake.Id}, {namesake.Size:N0} on it). Pass list_id to add to it, delete_list it first if it was loaded wrong, or choose another name."));
        }

        List<string> ids;
        List<string> bad;
        try
        {
            (ids, bad) = await ProfileIdColumn.ReadIdsAsync(File.OpenRead(file), column?.Trim(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new McpException($"path: {exception.Message} Nothing was added.", exception);
        }

        if (bad.Count > 0)
        {
            var more = bad.Count > MaxProblems ? string.Create(CultureInfo.InvariantCulture, $"\n… and {bad.Count - MaxProblems:N0} more bad lines.") : string.Empty;
            throw new McpException(string.Create(
                CultureInfo.InvariantCulture,
                $"{ToolSupport.Echo(Path.GetFileName(file))}: {bad.Count:N0} bad line{(bad.Count == 1 ? string.Empty : "s")}, so no id was added. Tell the user; for a csv, column names the column of the ids.\n{string.Join("\n", bad.Take(MaxProblems).Select(b => b.Replace("(--column NAME)", "(column: NAME)", StringComparison.Ordinal)))}{more}"));
        }

        if (ids.Count == 0)
        {
            throw new McpException($"path: '{ToolSupport.Echo(Path.GetFileName(file))}' holds no profile ids (only blank lines, or a csv header without rows); nothing was changed.");
        }

        var company = tenant.Tenant;
        var list = existing ?? await lists.CreateAsync(company, name!.Trim(), [], cancellationToken).ConfigureAwait(false);
        long added = 0;
        foreach (var batch in ids.Chunk(ListStore.MaxProfilesPerCall))
        {
            added += (await lists.AddAsync(company, list.Id, batch, cancellationToken).ConfigureAwait(false)).Changed;
        }

        var size = (await lists.GetAsync(company, list.Id, cancellationToken).ConfigureAwait(false))?.Size ?? 0;
        var note = await ListTools.WithoutDataNoteAsync(profiles, company, ids, cancellationToken).ConfigureAwait(false);
        return new ImportListResult(list.Id, list.Name, existing is null, ids.Count, added, ids.Count - added, size, note);
    }

    /// <summary>A progress report from the ingest's own thread, which must not wait for the client.</summary>
    private static void Notify(McpServer server, ProgressToken? token, ProgressNotificationValue value)
    {
        if (token is { } progressToken)
        {
            _ = server.NotifyProgressAsync(progressToken, value, cancellationToken: CancellationToken.None);
        }
    }

    /// <summary>Why nothing was loaded, with the bad lines the model needs to tell the user or to fix its mapping.</summary>
    private static string Refusal(string file, IngestResult result, List<ImportProblem> problems, string format)
    {
        // A csv's line 1 is its header; records start at line 2. A JSON array's problems are records, unless the
        // array itself cannot be read (a line of the file).
        var header = format == "csv" && problems.Any(p => p.Line == 1);
        var array = format == "json" && problems.Any(p => p.Line is not null);
        var lines = string.Join("\n", problems);
        var more = result.InvalidLines > problems.Count
            ? string.Create(CultureInfo.InvariantCulture, $"\n… and {result.InvalidLines - problems.Count:N0} more bad lines.")
            : string.Empty;
        // The bad records (the first kept) lack fields whose keys they name: mapping them loads the file; skipping would not.
        var renamed = header || array ? null : FieldAliases.Suggested([.. result.Errors.Select(e => e.Reason)]);
        var advice = header
            ? "Its header cannot be read, so no line can: map the fields to the file's columns with columns (and metric), or tell the user what the file lacks."
            : array
            ? "Its JSON array cannot be read, so none of its records can; tell the user what is wrong with the file."
            : renamed is not null
            ? $"Its records name the fields with their own keys, so nothing was loaded: call again with columns: {JsonSerializer.Serialize(renamed.ToDictionary(p => p.Field, p => p.Key))}, and tell the user which keys were read as which fields."
            : string.Create(
                CultureInfo.InvariantCulture,
                $"{result.InvalidLines:N0} bad line{(result.InvalidLines == 1 ? string.Empty : "s")}, so nothing was loaded. Show the user; if they agree to leave the bad lines out, call again with skip_invalid: true.");
        return $"{ToolSupport.Echo(Path.GetFileName(file))}: {advice}\n{lines}{more}";
    }

    /// <summary>A reason in this tool's arguments where the ingest names the command line's flags.</summary>
    private static string InToolTerms(string reason)
    {
        var flags = MapFlag().Replace(
            reason.Replace("(--metric NAME)", "(metric: NAME)", StringComparison.Ordinal).Replace("(--format ndjson)", "(format: \"ndjson\")", StringComparison.Ordinal)
                .Replace("with --format json", "with format: \"json\"", StringComparison.Ordinal)
                .Replace(", --map)", ", columns)", StringComparison.Ordinal),
            m => $"(columns: {{\"{m.Groups[1].Value}\": COLUMN}})");
        return FieldAliases.HintPattern().Replace(flags, m => $"columns: {{\"{m.Groups[1].Value}\": {JsonSerializer.Serialize(FieldAliases.Unquoted(m.Groups[2].Value))}}} reads it");
    }

    [GeneratedRegex(@"\(--map (\w+)=COLUMN\)")]
    private static partial Regex MapFlag();

    /// <summary>The file to read, or an error the model can act on.</summary>
    private static string SourcePath(string? path)
    {
        var file = LocalFiles.FullPath(path, "ask the user which file to load", "~/Downloads/contacts.csv");
        if (Directory.Exists(file))
        {
            throw new McpException($"path: '{ToolSupport.Echo(file)}' is a folder; give the file in it to load.");
        }

        return File.Exists(file)
            ? file
            : throw new McpException($"path: there is no file '{ToolSupport.Echo(file)}'. Ask the user where the file is (an absolute path, or one starting with ~/).");
    }

    private static string Format(string? format, string file)
    {
        if (format is not null)
        {
            return format is "csv" or "ndjson" or "json"
                ? format
                : throw new McpException($"format: '{ToolSupport.Echo(format)}' is not csv, ndjson or json.");
        }

        return Path.GetExtension(file).ToLowerInvariant() switch
        {
            ".csv" or ".tsv" => "csv",
            ".ndjson" or ".jsonl" or ".json" => IngestSource.StartsWithJsonArray(file) ? "json" : "ndjson",
            var other => throw new McpException($"format: required for a file ending in '{ToolSupport.Echo(other)}'; give csv, ndjson or json (a spreadsheet must be saved as csv first)."),
        };
    }

    /// <summary>The mapping (csv columns or json keys) from <paramref name="columns"/> and <paramref name="metric"/>, checked field by field.</summary>
    private static FieldMap? Columns(JsonElement? columns, string? metric, IngestKind kind, bool csv)
    {
        var given = columns is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } ? columns : null;
        if (given is null && metric is null)
        {
            return null;
        }

        if (metric is not null)
        {
            if (kind != IngestKind.Events)
            {
                throw new McpException("metric: names the event of every row, for kind events; a profiles file has no metric.");
            }

            if (metric.Trim().Length == 0)
            {
                throw new McpException("metric: give the metric's name, e.g. \"Placed Order\", or leave metric out.");
            }
        }

        var fields = new List<(string Field, string Column)>();
        if (given is { } mapping)
        {
            if (mapping.ValueKind != JsonValueKind.Object)
            {
                throw new McpException("columns: must be an object from field to column name, e.g. {\"profile_id\": \"Customer ID\"}.");
            }

            foreach (var entry in mapping.EnumerateObject())
            {
                if (!FieldMap.FieldNames.Contains(entry.Name, StringComparer.Ordinal))
                {
                    throw new McpException($"columns.{ToolSupport.Echo(entry.Name)}: not a field; fields are {string.Join(", ", FieldMap.FieldNames)}. Every column that is no field's is loaded as a property under its own name.");
                }

                if (entry.Name == FieldMap.PropertiesField && csv)
                {
                    throw new McpException("columns.properties: for ndjson and json records, whose properties are one object; in a csv every column that is no field's is a property.");
                }

                if (entry.Value.ValueKind != JsonValueKind.String || entry.Value.GetString()!.Trim().Length == 0)
                {
                    throw new McpException($"columns.{entry.Name}: give the name of the file's {(csv ? "column, as its header writes it" : "key, as its records write it")}.");
                }

                fields.Add((entry.Name, csv ? entry.Value.GetString()!.Trim() : entry.Value.GetString()!));
            }
        }

        return metric is not null && fields.Any(f => f.Field == "metric")
            ? throw new McpException("metric: columns.metric already names the column holding the metric; give one of the two.")
            : new FieldMap(fields, metric?.Trim());
    }
}
