using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Cli;

/// <summary><c>segmentmcp ingest</c> with CSV, as a user runs it: the real executable, its own data directory, exit codes.</summary>
[Trait("Category", "Engine")]
public sealed class IngestCommandTests : IDisposable
{
    private readonly string directory = Directory.CreateTempSubdirectory("segmentmcp-ingest-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    private string Data => Path.Combine(directory, "data");

    [Fact]
    public async Task A_csv_file_is_read_by_its_extension_and_standard_input_with_format_csv_and_segments_see_its_values()
    {
        var profiles = Path.Combine(directory, "crm-export.csv");
        await File.WriteAllTextAsync(profiles, "profile_id;email;city;lifetime_value\r\nu1;ann@example.com;Boston;120.5\r\nu2;bob@example.com;\"Boston\";80\r\nu3;cy@example.com;Paris;300\r\n");
        const string Events = "profile_id,metric,timestamp,value\nu1,Placed Order,2026-11-20T10:00:00Z,20\nu3,Placed Order,2026-11-21T10:00:00Z,35\n";
        var definition = Path.Combine(directory, "bostonians.json");
        await File.WriteAllTextAsync(definition, """{"condition": {"all": [{"property": {"name": "city", "op": "eq", "value": "Boston"}}, {"property": {"name": "lifetime_value", "op": "gt", "value": 100}}]}}""");

        var fromFile = await HostProcess.RunAsync(null, "ingest", "--profiles", profiles, "--company", "acme", "--data", Data);
        var fromStdin = await HostProcess.RunAsync(Events, "ingest", "--events", "-", "--format", "csv", "--company", "acme", "--data", Data);
        var preview = await HostProcess.RunAsync(null, "segments", "preview", "--file", definition, "--company", "acme", "--data", Data);
        var schema = await HostProcess.RunAsync(null, "schema", "--property", "lifetime_value", "--company", "acme", "--data", Data);

        Assert.True(fromFile.ExitCode == 0, fromFile.StandardError);
        Assert.Contains("profiles: 3 rows written from " + profiles + " (4 lines, 1 batch)", fromFile.StandardOutput, StringComparison.Ordinal);
        Assert.True(fromStdin.ExitCode == 0, fromStdin.StandardError);
        Assert.Contains("events:   2 rows written from stdin (3 lines, 1 batch)", fromStdin.StandardOutput, StringComparison.Ordinal);
        Assert.True(preview.ExitCode == 0, preview.StandardError);
        Assert.Contains("1 member at ", preview.StandardOutput, StringComparison.Ordinal);
        Assert.EndsWith("the first 1: u1", preview.StandardOutput.TrimEnd(), StringComparison.Ordinal);
        Assert.Contains("number", schema.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_rows_are_named_by_their_csv_line_and_nothing_is_written_and_a_bad_header_is_named_even_with_skip_invalid()
    {
        var profiles = Path.Combine(directory, "profiles.csv");
        await File.WriteAllTextAsync(profiles, "profile_id,city,note\nu1,Boston,\"a\nb\"\nu2,Rome\nu3,Oslo,x\n");
        var header = Path.Combine(directory, "header.tsv");
        await File.WriteAllTextAsync(header, "id\tcity\nu1\tBoston\n");

        var rejected = await HostProcess.RunAsync(null, "ingest", "--profiles", profiles, "--company", "acme", "--data", Data);
        var skipped = await HostProcess.RunAsync(null, "ingest", "--profiles", profiles, "--company", "acme", "--data", Data, "--skip-invalid");
        var badHeader = await HostProcess.RunAsync(null, "ingest", "--profiles", header, "--company", "acme", "--data", Data, "--skip-invalid");
        var badFormat = await HostProcess.RunAsync(null, "ingest", "--profiles", header, "--format", "xlsx", "--data", Data);

        Assert.Equal(1, rejected.ExitCode);
        Assert.Contains("line 4: 2 values where the header has 3 columns", rejected.StandardError, StringComparison.Ordinal);
        Assert.Contains("1 bad line; nothing was written", rejected.StandardError, StringComparison.Ordinal);
        Assert.True(skipped.ExitCode == 0, skipped.StandardError);
        Assert.Contains("profiles: 2 rows written from " + profiles + " (5 lines, 1 batch, 1 bad lines skipped)", skipped.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(1, badHeader.ExitCode);
        Assert.Contains("line 1: no 'profile_id' column (the header has: id, city)", badHeader.StandardError, StringComparison.Ordinal);
        Assert.Contains("The separator read is a tab.", badHeader.StandardError, StringComparison.Ordinal);
        Assert.Contains("a CSV header cannot be read, so no line of that file can; nothing was written", badHeader.StandardError, StringComparison.Ordinal);
        Assert.Equal(2, badFormat.ExitCode);
        Assert.Contains("--format must be ndjson or csv, not 'xlsx'", badFormat.StandardError, StringComparison.Ordinal);
    }
}
