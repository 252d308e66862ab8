using System.Text;
using SegmentMcp.Core.Ingest;

namespace SegmentMcp.Tests.Ingest;

/// <summary>A JSON array of records turned into NDJSON: one record a line, in any layout, and every way an array breaks.</summary>
public sealed class JsonArrayTranslatorTests
{
    private static (string Output, JsonArrayProblem? Problem, long Records) Translate(string json, bool byteOrderMark = false)
    {
        var translator = new JsonArrayTranslator();
        using var input = new MemoryStream([.. (byteOrderMark ? "\uFEFF"u8.ToArray() : []), .. Encoding.UTF8.GetBytes(json)]);
        using var output = new MemoryStream();
        var problem = translator.Translate(input, output);
        return (Encoding.UTF8.GetString(output.ToArray()).Replace((char)CsvTranslator.BadRecordMark, '!'), problem, translator.Records);
    }

    [Fact]
    public void A_pretty_printed_array_becomes_one_line_a_record()
    {
        var (output, problem, records) = Translate("""
            [
              {
                "profile_id": "p1",
                "properties": {"tags": ["a", "b"], "note": "braces } ] and \"quotes\", commas"}
              },
              {"profile_id": "p2"}
            ]
            """.ReplaceLineEndings("\r\n"));

        Assert.Null(problem);
        Assert.Equal(2, records);
        var lines = output.Split('\n')[..^1];
        Assert.Equal(2, lines.Length);
        Assert.DoesNotContain('\r', output);
        using (var first = System.Text.Json.JsonDocument.Parse(lines[0]))
        {
            Assert.Equal("braces } ] and \"quotes\", commas", first.RootElement.GetProperty("properties").GetProperty("note").GetString());
            Assert.Equal(2, first.RootElement.GetProperty("properties").GetProperty("tags").GetArrayLength());
        }

        Assert.Equal("{\"profile_id\": \"p2\"}", lines[1]);
    }

    [Theory]
    [InlineData("[{\"a\":1},{\"b\":\"x\\\\\"},{\"c\":\"\\\\\\\"}\"}]", 3)]
    [InlineData("[]", 0)]
    [InlineData("  \n [ ] \n", 0)]
    [InlineData("", 0)]
    public void A_one_line_or_empty_array_reads_record_by_record(string json, long expected)
    {
        var (output, problem, records) = Translate(json);

        Assert.Null(problem);
        Assert.Equal(expected, records);
        Assert.Equal(expected, output.Count(c => c == '\n'));
        Assert.All(output.Split('\n')[..^1], line => System.Text.Json.JsonDocument.Parse(line).Dispose());
    }

    [Fact]
    public void An_element_that_is_no_object_is_a_bad_record_in_its_place_and_a_byte_order_mark_is_skipped()
    {
        var (output, problem, records) = Translate("[{\"a\":1}, 42, \"text\", [1, 2], true, null, {\"b\":2}]", byteOrderMark: true);

        Assert.Null(problem);
        Assert.Equal(7, records);
        Assert.Equal(
            [
                "{\"a\":1}",
                "!expected a JSON object (a record), not a number",
                "!expected a JSON object (a record), not a string",
                "!expected a JSON object (a record), not an array",
                "!expected a JSON object (a record), not a boolean",
                "!expected a JSON object (a record), not null",
                "{\"b\":2}",
            ],
            output.Split('\n')[..^1]);
    }

    [Theory]
    [InlineData("{\"profile_id\":\"p1\"}\n{\"profile_id\":\"p2\"}\n", 1, "the file starts with '{', not '[': a JSON array of records starts with '['; a file of one JSON object a line is NDJSON (--format ndjson)")]
    [InlineData("profile_id,city\n", 1, "a JSON array of records starts with '[', and this file starts with 'p'")]
    [InlineData("[\n{\"a\":1},\n{\"a\":2}\n", 3, "the file ends before the array's closing ']' (after record 2): was the export cut short?")]
    [InlineData("[\n{\"a\":1},\n", 2, "the file ends before the array's closing ']' (after record 1 and a comma): was the export cut short?")]
    [InlineData("[\n{\"a\":1},\n{\"a\":\n", 3, "the file ends inside record 2, which starts here: was the export cut short?")]
    [InlineData("[\n{\"a\":1}\n{\"a\":2}]", 3, "expected ',' or ']' after record 1, found '{' (is a comma missing between two records?)")]
    [InlineData("[{\"a\":1},,{\"a\":2}]", 1, "a ',' where record 2 should start (two commas in a row, or a comma after '[')")]
    [InlineData("[{\"a\":1}]\n[{\"a\":2}]", 2, "'[' after the array's closing ']': a file holds one array of records")]
    public void An_array_that_cannot_be_read_is_one_problem_at_its_line(string json, long line, string reason)
    {
        var (_, problem, _) = Translate(json);

        Assert.Equal(new JsonArrayProblem(line, reason), problem);
    }

    [Fact]
    public void Records_split_across_read_buffers_come_out_whole()
    {
        var records = Enumerable.Range(0, 5_000).Select(i => $"{{\"profile_id\": \"p{i}\", \"note\": \"{new string('x', i % 97)}\\\\\"}}").ToList();

        var (output, problem, count) = Translate("[\n  " + string.Join(",\n  ", records) + "\n]\n");

        Assert.Null(problem);
        Assert.Equal(5_000, count);
        Assert.Equal(records, output.Split('\n')[..^1]);
    }
}
