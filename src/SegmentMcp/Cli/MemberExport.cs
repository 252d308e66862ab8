using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Storage;
using SegmentMcp.Export;

namespace SegmentMcp.Cli;

/// <summary>
/// The flags and the writing that every verb exporting profiles shares (<c>segments export</c>, <c>segments
/// changes</c>, <c>lists export</c>): a format, profile properties as extra columns, and an output file replaced only
/// once every row is written.
/// </summary>
internal static class MemberExport
{
    public static readonly Option<string> Format = Flags.Text(
        "--format", "ids|csv|ndjson", "ids: one profile id a line; csv: a profile_id column with a header; ndjson: {\"profile_id\": …} a line.", "ids",
        value => value is "ids" or "csv" or "ndjson" ? null : $"--format must be ids, csv or ndjson, not '{value}'");

    public static readonly Option<string?> Properties = Flags.Text(
        "--properties", "NAME,…", "Profile properties to add as columns (csv) or fields (ndjson), e.g. email,city: each profile's values at the rows' time (segments export: the members' time; changes: --until; watch: a round's last change; lists export: --as-of or now).");

    public static readonly Option<string?> Output = Flags.Text("--output", "FILE", "Write the members to FILE instead of standard output (replaced whole, only once every member is read).");

    public static string? OutputFile(ParseResult args)
    {
        var output = args.GetValue(Output);
        if (output is not null && (output.Length == 0 || Directory.Exists(output)))
        {
            throw new UsageException($"--output: '{output}' is not a file name");
        }

        // Checked before anything is read: the export writes beside the file and would otherwise fail at the end.
        var folder = output is null ? null : Path.GetDirectoryName(Path.GetFullPath(output));
        return folder is not null && !Directory.Exists(folder)
            ? throw new UsageException($"--output: no directory '{folder}' to write '{Path.GetFileName(output)}' in")
            : output;
    }

    public static readonly Option<bool> Excel = Flags.Switch(
        "--excel", "With --format csv: start the file with the UTF-8 byte-order mark, without which Excel opens it in the system's legacy code page (München as MÃ¼nchen).");

    /// <summary>Whether <c>--excel</c> is given; only a csv is written for Excel.</summary>
    public static bool ForExcel(ParseResult args, string format) =>
        args.GetValue(Excel) && (format == "csv" ? true : throw new UsageException("--excel: give --format csv as well (only a csv is written for Excel)"));

    public static string[] PropertyNames(ParseResult args, string format)
    {
        string[] properties = [.. (args.GetValue(Properties) ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal)];
        if (properties.Length > 0 && format == "ids")
        {
            throw new UsageException("--properties: give --format csv or ndjson as well (ids writes profile ids alone)");
        }

        return properties.FirstOrDefault(p => p is "profile_id" or "change" or "at") is { } taken
            ? throw new UsageException($"--properties: {taken} is a column of its own; name profile properties only")
            : properties;
    }

    /// <summary>Whether every name is one of the tenant's profile properties; says which is not on standard error.</summary>
    public static async Task<bool> KnownPropertiesAsync(ServiceProvider services, string company, string[] properties, CancellationToken stop)
    {
        if (properties.Length == 0)
        {
            return true;
        }

        var known = await TenantCatalogReader.ProfilePropertiesAsync(
            services.GetRequiredService<IClickHouseEngine>(), services.GetRequiredService<StorageSchema>(), company, stop).ConfigureAwait(false);
        if (properties.FirstOrDefault(p => !known.Contains(p, StringComparer.Ordinal)) is not { } unknown)
        {
            return true;
        }

        var catalog = await TenantCatalogReader.ReadAsync(services.GetRequiredService<IClickHouseEngine>(), services.GetRequiredService<StorageSchema>(), company, stop).ConfigureAwait(false);
        await Console.Error.WriteLineAsync($"--properties: '{company}' has no profile property '{unknown}'.{catalog.ProfilePropertyElsewhere(unknown, condition: false) ?? Suggestions.DidYouMean(unknown, known)}").ConfigureAwait(false);
        return false;
    }

    /// <summary>
    /// The rows to standard output, or to <paramref name="output"/>: written beside it and moved over it at the end, so
    /// a failed export leaves what was there.
    /// </summary>
    public static async Task<long> WriteAsync(
        ServiceProvider services, string company, string? output, string format, IReadOnlyList<string> leading, string[] properties, DateTime valuesAt,
        Func<ExportRow?, Task<IReadOnlyList<ExportRow>>> page, CancellationToken stop, bool forExcel = false)
    {
        var profiles = services.GetRequiredService<ProfileReader>();
        Task<long> WriteRowsAsync(Stream stream) => MemberWriter.WriteAsync(
            stream, format, leading, properties, page, ids => profiles.PropertiesOfAsync(company, ids, properties, valuesAt, stop), stop, forExcel);
        if (output is not null)
        {
            return await ExportFile.WriteAsync(output, $"--output {output}", WriteRowsAsync).ConfigureAwait(false);
        }

        await using var standardOutput = Console.OpenStandardOutput();
        return await WriteRowsAsync(standardOutput).ConfigureAwait(false);
    }
}
