using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Ingest;

/// <summary>The ingest and demo verbs as a user runs them: the real executable, its own data directory, exit codes.</summary>
[Trait("Category", "Engine")]
public sealed class IngestCommandTests : IDisposable
{
    private const string GoodEvent = """{"profile_id":"p1","metric":"Placed Order","timestamp":"2026-11-20T10:00:00Z","value":42.5,"properties":{"category":"shoes"}}""";
    private readonly string directory = Directory.CreateTempSubdirectory("segmentmcp-cli-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    [Fact]
    public async Task Ingest_from_stdin_writes_and_a_rerun_adds_nothing()
    {
        var profiles = Write("profiles.ndjson", """{"profile_id":"p1","properties":{"city":"Boston"}}""");

        var first = await HostProcess.RunAsync(GoodEvent + "\n" + GoodEvent.Replace("p1", "p2", StringComparison.Ordinal) + "\n", "ingest", "--events", "-", "--profiles", profiles, "--company", "acme", "--data", Data);
        var again = await HostProcess.RunAsync(GoodEvent + "\n" + GoodEvent.Replace("p1", "p2", StringComparison.Ordinal) + "\n", "ingest", "--events", "-", "--profiles", profiles, "--company", "acme", "--data", Data);

        Assert.True(first.ExitCode == 0, first.StandardError);
        Assert.Contains("events:   2 rows written from stdin", first.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("profiles: 1 rows written from " + profiles, first.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(0, again.ExitCode);
    }

    [Fact]
    public async Task Bad_lines_are_reported_exactly_and_exit_1()
    {
        var events = Write("events.ndjson", GoodEvent, "{\"profile_id\":\"p1\"", GoodEvent.Replace("\"p1\"", "\"\"", StringComparison.Ordinal));

        var run = await HostProcess.RunAsync(null, "ingest", "--events", events, "--data", Data);
        var skipping = await HostProcess.RunAsync(null, "ingest", "--events", events, "--company", "acme", "--skip-invalid", "--data", Data);

        Assert.Equal(1, run.ExitCode);
        Assert.Equal(
            [
                "line 1: missing field 'company_id' (or pass --company)",
                "line 2: not valid JSON at column 19",
                "line 3: field 'profile_id' is empty",
            ],
            run.StandardError.Split('\n').Where(l => l.StartsWith("line ", StringComparison.Ordinal)));
        Assert.Contains("nothing was written", run.StandardError, StringComparison.Ordinal);
        Assert.Equal(0, skipping.ExitCode);
        Assert.Contains("1 rows written", skipping.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("2 bad lines skipped", skipping.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_utf16_file_is_named_as_such_and_a_utf8_byte_order_mark_with_crlf_is_read()
    {
        var utf16 = Path.Combine(directory, "events-utf16.ndjson");
        await File.WriteAllTextAsync(utf16, GoodEvent + "\n", System.Text.Encoding.Unicode);
        var utf8 = Path.Combine(directory, "events-bom.ndjson");
        await File.WriteAllTextAsync(utf8, GoodEvent + "\r\n" + GoodEvent.Replace("p1", "p2", StringComparison.Ordinal) + "\r\n", new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        var refused = await HostProcess.RunAsync(null, "ingest", "--events", utf16, "--company", "acme", "--data", Data);
        var read = await HostProcess.RunAsync(null, "ingest", "--events", utf8, "--company", "acme", "--data", Data);

        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith("line 1: not UTF-8 text (NUL bytes or a UTF-16 byte-order mark: a UTF-16 file?); save it as UTF-8", refused.StandardError, StringComparison.Ordinal);
        Assert.True(read.ExitCode == 0, read.StandardError);
        Assert.Contains("events:   2 rows written", read.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ingest", "--data", "DATA")]
    [InlineData("ingest", "--events", "/no/such/file.ndjson", "--data", "DATA")]
    [InlineData("ingest", "--events", "-", "--profiles", "-", "--data", "DATA")]
    [InlineData("ingest", "--events", "x", "--bogus", "1", "--data", "DATA")]
    [InlineData("demo", "--profiles", "zero", "--data", "DATA")]
    [InlineData("ingest", "--events", "-", "--parallel-inserts", "0", "--data", "DATA")]
    public async Task Usage_mistakes_exit_2_and_say_what_is_wrong(params string[] arguments)
    {
        var run = await HostProcess.RunAsync(null, [.. arguments.Select(a => a == "DATA" ? Data : a)]);

        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith($"segmentmcp {arguments[0]}: ", run.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_loads_a_small_tenant_and_prints_a_summary()
    {
        var run = await HostProcess.RunAsync(null, "demo", "--profiles", "200", "--seed", "3", "--reference-time", "2026-11-30T00:00:00Z", "--data", Data);
        var again = await HostProcess.RunAsync(null, "demo", "--profiles", "200", "--seed", "3", "--reference-time", "2026-11-30T00:00:00Z", "--data", Data);

        Assert.True(run.ExitCode == 0, run.StandardError);
        Assert.Matches(@"demo tenant 'demo': 200 profiles, [\d,]+ events, [\d,]+ profile records", run.StandardOutput);
        Assert.Contains("history: 2025-10-26 to 2026-11-30 00:00 UTC (seed 3)", run.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("replaced the existing data of tenant 'demo'", again.StandardError, StringComparison.Ordinal);
    }

    private string Data => Path.Combine(directory, "data");

    private string Write(string name, params string[] lines)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllLines(path, lines);
        return path;
    }
}
