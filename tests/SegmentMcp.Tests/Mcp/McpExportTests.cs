using System.Text.Json;
using System.Text.Json.Nodes;

namespace SegmentMcp.Tests.Mcp;

/// <summary><c>export_segment</c> through a real MCP client over pipes: the file a user asked for, and every refusal.</summary>
[Trait("Category", "Engine")]
public sealed class McpExportTests(McpFixture fixture) : IClassFixture<McpFixture>, IAsyncLifetime
{
    private readonly string directory = Directory.CreateTempSubdirectory("segmentmcp-export-").FullName;
    private McpPipeServer server = null!;

    public async Task InitializeAsync() => server = await McpPipeServer.StartAsync(fixture.Engine, fixture.Schema, "acme");

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task Writes_the_members_with_their_properties_in_the_format_of_the_extension_and_replaces_only_when_told()
    {
        var created = await server.CallAsync("create_segment", new { definition = JsonDocument.Parse(McpTestData.BostonOpeners).RootElement });
        var id = (string)created["segment_id"]!;
        var csv = Path.Combine(directory, "boston.csv");

        var exported = await server.CallAsync("export_segment", new { segment_id = id, path = csv, properties = new[] { "city", "age" } });
        var first = await File.ReadAllTextAsync(csv);
        var refused = await server.FailAsync("export_segment", new { segment_id = id, path = csv });
        var replaced = await server.CallAsync("export_segment", new { segment_id = id, path = csv, overwrite = true });
        var ndjson = await server.CallAsync("export_segment", new { segment_id = id, path = Path.Combine(directory, "boston.jsonl"), properties = new[] { "age" } });
        var ids = await server.CallAsync("export_segment", new { segment_id = id, path = Path.Combine(directory, "boston.txt") });
        var past = await server.CallAsync("export_segment", new { segment_id = id, path = Path.Combine(directory, "then.csv"), as_of = (string)created["evaluated_at"]! });
        var excel = await server.CallAsync("export_segment", new { segment_id = id, path = Path.Combine(directory, "excel.csv"), properties = new[] { "city" }, for_excel = true });

        Assert.Equal(id, (string?)exported["segment_id"]);
        Assert.Equal(csv, (string?)exported["path"]);
        Assert.Equal("csv", (string?)exported["format"]);
        Assert.Equal(2, (long)exported["members"]!);
        Assert.Equal(["city", "age"], exported["properties"]!.AsArray().Select(p => (string?)p));
        Assert.Equal((string?)created["evaluated_at"], (string?)exported["evaluated_at"]);
        Assert.False(exported.AsObject().ContainsKey("replaced"));
        Assert.Equal("profile_id,city,age\np1,Boston,41\np2,Boston,\n", first);
        Assert.Equal($"path: '{csv}' already exists. Ask the user whether to replace it (then pass overwrite: true) or choose another name.", refused);
        Assert.True((bool)replaced["replaced"]!);
        Assert.Equal("profile_id\np1\np2\n", await File.ReadAllTextAsync(csv));
        Assert.Equal("ndjson", (string?)ndjson["format"]);
        Assert.Equal(
            ["""{"profile_id":"p1","age":41}""", """{"profile_id":"p2","age":null}"""],
            await File.ReadAllLinesAsync(Path.Combine(directory, "boston.jsonl")));
        Assert.Equal("ids", (string?)ids["format"]);
        Assert.Equal(["p1", "p2"], await File.ReadAllLinesAsync(Path.Combine(directory, "boston.txt")));
        Assert.Equal((string?)created["evaluated_at"], (string?)past["as_of"]);
        Assert.Equal("profile_id\np1\np2\n", await File.ReadAllTextAsync(Path.Combine(directory, "then.csv")));

        Assert.Equal(2, (long)excel["members"]!);
        Assert.Equal([0xEF, 0xBB, 0xBF, .. "profile_id,city\np1,Boston\np2,Boston\n"u8], await File.ReadAllBytesAsync(Path.Combine(directory, "excel.csv")));

        // No temporary file is left beside the exports.
        Assert.Equal(["boston.csv", "boston.jsonl", "boston.txt", "excel.csv", "then.csv"], Directory.GetFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Refuses_what_it_cannot_write_naming_the_argument_and_writes_nothing()
    {
        var id = (string)(await server.CallAsync("create_segment", new { definition = JsonDocument.Parse(McpTestData.BostonOpeners).RootElement }))["segment_id"]!;
        var missing = Path.Combine(directory, "no-such-folder", "x.csv");

        Assert.StartsWith("path: 'exports/x.csv' is relative, and the server's working folder is nothing the user chose.", await server.FailAsync("export_segment", new { segment_id = id, path = "exports/x.csv" }), StringComparison.Ordinal);
        Assert.StartsWith($"path: there is no folder '{Path.GetDirectoryName(missing)}' to write 'x.csv' in.", await server.FailAsync("export_segment", new { segment_id = id, path = missing }), StringComparison.Ordinal);
        Assert.StartsWith($"path: '{directory}' is a folder; add a file name", await server.FailAsync("export_segment", new { segment_id = id, path = directory }), StringComparison.Ordinal);
        Assert.StartsWith("format: required for a file ending in '.xlsx'", await server.FailAsync("export_segment", new { segment_id = id, path = Path.Combine(directory, "x.xlsx") }), StringComparison.Ordinal);
        Assert.Equal("for_excel: only a csv file is written for Excel; this export is ndjson.", await server.FailAsync("export_segment", new { segment_id = id, path = Path.Combine(directory, "x.ndjson"), for_excel = true }));
        Assert.StartsWith("properties: an ids file holds profile ids alone", await server.FailAsync("export_segment", new { segment_id = id, path = Path.Combine(directory, "x.txt"), properties = new[] { "city" } }), StringComparison.Ordinal);
        Assert.StartsWith("properties: no profile property 'cty' in this workspace. Did you mean 'city'", await server.FailAsync("export_segment", new { segment_id = id, path = Path.Combine(directory, "x.csv"), properties = new[] { "cty" } }), StringComparison.Ordinal);
        Assert.StartsWith("as_of: 2001-01-01T00:00:00.000Z is before the segment's first evaluation", await server.FailAsync("export_segment", new { segment_id = id, path = Path.Combine(directory, "x.csv"), as_of = "2001-01-01T00:00:00Z" }), StringComparison.Ordinal);
        Assert.StartsWith("segment_id: no segment 'nope' in this workspace.", await server.FailAsync("export_segment", new { segment_id = "nope", path = Path.Combine(directory, "x.csv") }), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(directory));

        var tool = (await server.Client.ListToolsAsync()).Single(t => t.Name == "export_segment").ProtocolTool;
        Assert.False(tool.Annotations!.ReadOnlyHint);
        Assert.True(tool.Annotations.DestructiveHint);
        Assert.Equal(["path", "segment_id"], JsonNode.Parse(tool.InputSchema.GetRawText())!["required"]!.AsArray().Select(r => (string?)r).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Writes_who_entered_and_left_with_their_properties_and_refuses_what_it_cannot_write()
    {
        var created = await server.CallAsync("create_segment", new { definition = JsonDocument.Parse(McpTestData.BostonOpeners).RootElement });
        var id = (string)created["segment_id"]!;
        var at = (string)created["evaluated_at"]!;
        var joined = Path.Combine(directory, "joined.csv");

        var entered = await server.CallAsync("export_changes", new { segment_id = id, path = joined, only = "entered", properties = new[] { "city" } });
        var exited = await server.CallAsync("export_changes", new { segment_id = id, path = Path.Combine(directory, "left.ndjson"), only = "exited", since = at });

        Assert.Equal(2, (long)entered["entered"]!);
        Assert.Equal(0, (long)entered["exited"]!);
        Assert.Equal("csv", (string?)entered["format"]);
        Assert.False(entered.AsObject().ContainsKey("since"));
        // The result writes times as every tool does (trailing zeros dropped); the file always with milliseconds.
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$", (string?)entered["until"]);
        var atInFile = ((DateTime)created["evaluated_at"]!).ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal($"profile_id,change,at,city\np1,entered,{atInFile},Boston\np2,entered,{atInFile},Boston\n", await File.ReadAllTextAsync(joined));
        Assert.Equal(0, (long)exited["entered"]! + (long)exited["exited"]!);
        Assert.Equal(at, (string?)exited["since"]);
        Assert.Equal(string.Empty, await File.ReadAllTextAsync(Path.Combine(directory, "left.ndjson")));

        Assert.StartsWith("format: changes are written as csv or ndjson", await server.FailAsync("export_changes", new { segment_id = id, path = Path.Combine(directory, "x.txt") }), StringComparison.Ordinal);
        Assert.Equal("only: 'joined' is not entered or exited; omit it for both.", await server.FailAsync("export_changes", new { segment_id = id, path = Path.Combine(directory, "x.csv"), only = "joined" }));
        Assert.Equal("since: must be earlier than until.", await server.FailAsync("export_changes", new { segment_id = id, path = Path.Combine(directory, "x.csv"), since = at, until = at }));
        Assert.StartsWith($"path: '{joined}' already exists.", await server.FailAsync("export_changes", new { segment_id = id, path = joined }), StringComparison.Ordinal);
        Assert.Equal(["joined.csv", "left.ndjson"], Directory.GetFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}
