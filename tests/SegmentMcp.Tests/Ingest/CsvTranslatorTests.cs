using System.Text;
using SegmentMcp.Core.Ingest;

namespace SegmentMcp.Tests.Ingest;

/// <summary>CSV into the NDJSON records the ingestor reads: one output line per input line, bad records named by line.</summary>
public class CsvTranslatorTests
{
    [Fact]
    public void Columns_become_fields_and_properties_with_numbers_and_booleans_typed()
    {
        var (lines, bad, header) = Translate(
            IngestKind.Profiles,
            "Profile_ID,city,age,vip,zip,score,updated_at,note\n"
            + "u1,Boston,34,TRUE,02134,-1.5e3,2026-11-20T10:00:00Z,plain\n"
            + "u2,,0,false,12,1.,,\"\"\n");

        Assert.Null(header);
        Assert.Empty(bad);
        Assert.Equal(
            [
                "",
                """{"profile_id":"u1","updated_at":"2026-11-20T10:00:00Z","properties":{"city":"Boston","age":34,"vip":true,"zip":"02134","score":-1.5e3,"note":"plain"}}""",
                """{"profile_id":"u2","properties":{"age":0,"vip":false,"zip":12,"score":"1."}}""",
            ],
            lines);
    }

    [Fact]
    public void Event_columns_name_the_metric_time_and_value_and_an_empty_value_is_none()
    {
        var (lines, bad, _) = Translate(
            IngestKind.Events,
            "profile_id,metric,timestamp,value,category,company_id\n"
            + "u1,Placed Order,2026-11-20T10:00:00Z,42.50,shoes,acme\n"
            + "u1,Placed Order,2026-11-21T10:00:00Z,,,\n"
            + "u2,Placed Order,,forty,,\n");

        Assert.Empty(bad);
        Assert.Equal(
            [
                "",
                """{"profile_id":"u1","metric":"Placed Order","timestamp":"2026-11-20T10:00:00Z","value":42.50,"company_id":"acme","properties":{"category":"shoes"}}""",
                """{"profile_id":"u1","metric":"Placed Order","timestamp":"2026-11-21T10:00:00Z","properties":{}}""",
                // Left to the record checks, which name the field: an empty time, a value that is not a number.
                """{"profile_id":"u2","metric":"Placed Order","timestamp":"","value":"forty","properties":{}}""",
            ],
            lines);
    }

    [Theory]
    [InlineData("$42.50", ',', "42.50")]
    [InlineData("$1,234.50", ',', "1234.50")]
    [InlineData("-$5", ',', "-5")]
    [InlineData("1,234,567", '\t', "1234567")]
    [InlineData("£ 12", ',', "12")]
    [InlineData("42,50 €", ';', "42.50")]
    [InlineData("1.234,5", ';', "1234.5")]
    [InlineData("\u20AC1.234.567", ';', "1234567")]
    [InlineData("1,23", ',', null)]
    [InlineData("12,34.5", ',', null)]
    [InlineData("42.", ',', null)]
    [InlineData("forty", ',', null)]
    [InlineData("$", ',', null)]
    [InlineData("1.2.3", ',', null)]
    public void A_value_formatted_as_money_is_read_as_its_number(string cell, char separator, string? number) =>
        Assert.Equal(number, CsvTranslator.Amount(cell, separator));

    [Fact]
    public void Money_in_the_value_column_becomes_the_events_number_and_a_property_keeps_its_text()
    {
        var (lines, bad, _) = Translate(IngestKind.Events, "profile_id;metric;timestamp;value;Total\nu1;Placed Order;2026-11-20;1.234,50 €;1.234,50 €\nu2;Placed Order;2026-11-20;viel;x\n");

        Assert.Empty(bad);
        Assert.Equal("""{"profile_id":"u1","metric":"Placed Order","timestamp":"2026-11-20","value":1234.50,"properties":{"Total":"1.234,50 €"}}""", lines[1]);
        Assert.Equal("""{"profile_id":"u2","metric":"Placed Order","timestamp":"2026-11-20","value":"viel","properties":{"Total":"x"}}""", lines[2]);
    }

    [Theory]
    [InlineData("2026-11-20 10:00:00 -0500", "2026-11-20 10:00:00-0500")]
    [InlineData("2026-11-20 10:00:00 +01:00", "2026-11-20 10:00:00+01:00")]
    [InlineData("2026-11-20 10:00 UTC", "2026-11-20 10:00Z")]
    [InlineData("2026-11-20T10:00:00.5 Z", "2026-11-20T10:00:00.5Z")]
    [InlineData("2026-11-20 10:00:00", "2026-11-20 10:00:00")]
    [InlineData("2026-11-20 10:00:00 EST", "2026-11-20 10:00:00 EST")]
    [InlineData("Nov 20 2026 10:00 -0500", "Nov 20 2026 10:00 -0500")]
    public void A_time_whose_zone_follows_a_space_as_exports_write_it_is_read_as_iso(string cell, string written)
    {
        var (lines, bad, _) = Translate(IngestKind.Events, $"profile_id,metric,timestamp,Created at\nu1,Placed Order,{cell},{cell}\n");

        Assert.Empty(bad);
        // The time is the event's; a property keeps its text as it came.
        Assert.Equal($$$"""{"profile_id":"u1","metric":"Placed Order","timestamp":"{{{written}}}","properties":{"Created at":"{{{cell}}}"}}""", lines[1]);
    }

    [Fact]
    public void Quoted_values_keep_separators_quotes_and_line_breaks_and_output_lines_follow_input_lines()
    {
        var (lines, bad, _) = Translate(
            IngestKind.Profiles,
            "\uFEFFprofile_id,note,city\r\n"
            + "u1,\"says \"\"hi\"\", twice\",  Boston  \r\n"
            + "\r\n"
            + "u2,\"two\r\nlines\r\nhere\", \"Paris\" \r\n"
            + "u3,x,\"\"\r\n");

        Assert.Empty(bad);
        Assert.Equal(
            [
                "",
                """{"profile_id":"u1","properties":{"note":"says \"hi\", twice","city":"Boston"}}""",
                "",
                """{"profile_id":"u2","properties":{"note":"two\nlines\nhere","city":"Paris"}}""",
                "",
                "",
                """{"profile_id":"u3","properties":{"note":"x"}}""",
            ],
            lines);
    }

    [Theory]
    [InlineData("profile_id;city;plan\nu1;Köln;a,b\n", """{"profile_id":"u1","properties":{"city":"Köln","plan":"a,b"}}""")]
    [InlineData("profile_id\tcity\tplan\nu1\tKöln\ta;b, c\n", """{"profile_id":"u1","properties":{"city":"Köln","plan":"a;b, c"}}""")]
    [InlineData("\n\"profile_id\",\"city\"\nu1,\"Köln; Bonn\"", """{"profile_id":"u1","properties":{"city":"Köln; Bonn"}}""")]
    [InlineData("profile_id\nu1\n", """{"profile_id":"u1","properties":{}}""")]
    [InlineData("profile_id,city,,\nu1,Rome,,\n", """{"profile_id":"u1","properties":{"city":"Rome"}}""")]
    [InlineData("profile_id,,city\nu1,x,Rome\n", null)]
    [InlineData("profile_id,city\nu1,Rome,,\n", """{"profile_id":"u1","properties":{"city":"Rome"}}""")]
    public void The_separator_is_the_one_the_header_uses(string csv, string? record)
    {
        var (lines, bad, header) = Translate(IngestKind.Profiles, csv);

        if (record is null)
        {
            Assert.Equal(new CsvHeaderProblem(1, "column 2 has no name; every column needs one (a property name, or profile_id, …)"), header);
            return;
        }

        Assert.Null(header);
        Assert.Empty(bad);
        Assert.Equal(record, lines.Single(l => l.Length > 0));
    }

    [Fact]
    public void Bad_records_are_named_by_the_line_they_start_on_and_the_rest_still_translate()
    {
        var (lines, bad, _) = Translate(
            IngestKind.Profiles,
            "profile_id,city,plan\n"
            + "u1,Boston\n"
            + "u2,\"Paris\" France,gold\n"
            + "u3,Rome,gold,extra\n"
            + "u4,\"Lyon\nFrance\",M\u00fcller\uFFFD\n"
            + "u5,Oslo,free\n"
            + "u6,\"Bergen,free\n"
            + "u7,Oslo,free\n");

        Assert.Equal(
            [
                (2L, "2 values where the header has 3 columns"),
                (3L, "text after the closing quote of a value in column 2 ('city'); a quote inside a quoted value is written twice (\"\")"),
                (4L, "4 values where the header has 3 columns (a value holding a comma must be quoted: \"a,b\")"),
                (5L, "the value in column 'plan' is not UTF-8 text; save the file as UTF-8 (or UTF-16 with its byte-order mark)"),
                (8L, "a quoted value starts on this line and is never closed (a missing \")"),
            ],
            bad);
        Assert.Equal(9, lines.Count); // as many as the input has
        Assert.Equal("""{"profile_id":"u5","properties":{"city":"Oslo","plan":"free"}}""", lines[6]);
        Assert.All(lines.Where((_, i) => i != 6), l => Assert.Empty(l));
    }

    [Theory]
    [InlineData(IngestKind.Profiles, "id,email,city\nu1,a@b.c,Rome\n", "no 'profile_id' column (the header has: id, email, city); name the column that holds each profile's id profile_id, or say which it is (--map profile_id=COLUMN). The separator read is a comma.")]
    [InlineData(IngestKind.Events, "profile_id;metric;when\nu1;Opened Email;2026-11-20\n", "no 'timestamp' column (the header has: profile_id, metric, when); an event needs a timestamp column (ISO-8601, e.g. 2026-11-20T10:00:00Z), or say which column holds it (--map timestamp=COLUMN). The separator read is a semicolon.")]
    [InlineData(IngestKind.Events, "profile_id,timestamp\n", "no 'metric' column (the header has: profile_id, timestamp); an event needs a metric column (what happened: Placed Order, Opened Email, …), or one metric for every row (--metric NAME). The separator read is a comma.")]
    [InlineData(IngestKind.Profiles, "profile_id,city,Profile_Id\n", "columns 1 ('profile_id') and 3 ('Profile_Id') are both 'profile_id'")]
    [InlineData(IngestKind.Profiles, "profile_id,city,city\n", "columns 2 ('city') and 3 ('city') are both 'city'")]
    [InlineData(IngestKind.Profiles, "profile_id,\"city\n", "the header has a quoted name that is never closed (a missing \")")]
    [InlineData(IngestKind.Profiles, "profile_id,\"city\"x\n", "text after the closing quote of a value in column 2; a quote inside a quoted value is written twice (\"\")")]
    public void A_header_that_cannot_be_read_is_one_problem_naming_what_is_missing(IngestKind kind, string csv, string reason)
    {
        var (_, bad, header) = Translate(kind, csv);

        Assert.Empty(bad);
        Assert.Equal(new CsvHeaderProblem(1, reason), header);
    }

    [Fact]
    public void Utf16_with_its_byte_order_mark_is_read_and_without_one_is_named()
    {
        const string Csv = "profile_id,city\nu1,Zürich\n";
        var withMark = Translate(IngestKind.Profiles, [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes(Csv)]);
        var without = Translate(IngestKind.Profiles, Encoding.Unicode.GetBytes(Csv));

        Assert.Equal("""{"profile_id":"u1","properties":{"city":"Zürich"}}""", withMark.Lines[1]);
        Assert.Equal(new CsvHeaderProblem(1, "the header is not UTF-8 text; save the file as UTF-8 (or UTF-16 with its byte-order mark)"), without.Header);
    }

    [Fact]
    public void An_empty_input_has_no_records_and_no_problem()
    {
        var (lines, bad, header) = Translate(IngestKind.Events, string.Empty);

        Assert.Empty(lines);
        Assert.Empty(bad);
        Assert.Null(header);
    }

    [Theory]
    [InlineData("0", true)]
    [InlineData("-12.5", true)]
    [InlineData("1e9", true)]
    [InlineData("2.5E-3", true)]
    [InlineData("02134", false)]
    [InlineData("+1", false)]
    [InlineData("1.", false)]
    [InlineData(".5", false)]
    [InlineData("1,5", false)]
    [InlineData("1e", false)]
    [InlineData("-", false)]
    [InlineData("NaN", false)]
    public void Numbers_are_json_numbers(string text, bool number) => Assert.Equal(number, CsvTranslator.IsJsonNumber(text));

    [Fact]
    public void Mapped_columns_hold_their_fields_each_file_uses_the_one_it_has_and_one_metric_can_name_every_row()
    {
        var columns = new FieldMap(
            [("profile_id", "Customer Email"), ("profile_id", "email"), ("timestamp", "order date"), ("value", "Total"), ("updated_at", "Changed")],
            "Placed Order");

        var orders = Translate(IngestKind.Events, "Order ID,Customer Email,Order Date,Total\n1001,ann@x.io,2026-11-20 10:00,42.5\n", columns);
        var idsOnly = columns with { Fields = [("profile_id", "Customer Email"), ("profile_id", "email")] };
        var contacts = Translate(IngestKind.Profiles, "Email,City,Order Date\nann@x.io,Boston,2026-01-01\n", idsOnly);
        var named = Translate(IngestKind.Profiles, "profile_id,City\nu1,Rome\n", idsOnly);
        var missing = Translate(IngestKind.Profiles, "profile_id,City\nu1,Rome\n", columns);

        Assert.Equal("""{"metric":"Placed Order","profile_id":"ann@x.io","timestamp":"2026-11-20 10:00","value":42.5,"properties":{"Order ID":1001}}""", orders.Lines[1]);
        Assert.Equal("""{"profile_id":"ann@x.io","properties":{"City":"Boston","Order Date":"2026-01-01"}}""", contacts.Lines[1]);
        Assert.Equal("""{"profile_id":"u1","properties":{"City":"Rome"}}""", named.Lines[1]);
        Assert.Equal(new CsvHeaderProblem(1, "no column 'Changed' to read updated_at from (the header has: profile_id, City)."), missing.Header);
    }

    [Theory]
    [InlineData("Email,Customer Email\n", "columns 'Customer Email' and 'Email' are each given as profile_id; give one.")]
    [InlineData("Mail,City\n", "no column 'Customer Email' or 'email' to read profile_id from (the header has: Mail, City).")]
    [InlineData("email,metric,timestamp\n", "column 'metric' holds each event's metric, and a metric for every event ('Placed Order') was given too; give one or the other.")]
    [InlineData("email,profile_id,timestamp\n", "columns 1 ('email') and 2 ('profile_id') are both 'profile_id'")]
    public void A_mapping_the_header_cannot_satisfy_is_a_header_problem(string csv, string reason)
    {
        var columns = new FieldMap([("profile_id", "Customer Email"), ("profile_id", "email")], "Placed Order");

        Assert.Equal(new CsvHeaderProblem(1, reason), Translate(IngestKind.Events, csv, columns).Header);
    }

    [Theory]
    [InlineData("profile_id", true)]
    [InlineData("email,Profile_ID,city", true)]
    [InlineData("\"profile_id\";\"city\"", true)]
    [InlineData("email\t profile_id ", true)]
    [InlineData("u1", false)]
    [InlineData("profile_ids", false)]
    [InlineData("my profile_id", false)]
    public void A_file_of_ids_is_csv_when_its_first_line_names_a_profile_id_column(string firstLine, bool header) =>
        Assert.Equal(header, ProfileIdColumn.IsHeader(firstLine));

    [Fact]
    public void The_profile_id_column_gives_each_records_id_with_its_line_and_the_bad_records()
    {
        var (ids, bad) = ProfileIdColumn.Read(new MemoryStream(Encoding.UTF8.GetBytes("city,profile_id\n\"Boston,\nMA\",u1\n\nRome,u2\nOslo,\nParis\n")));

        Assert.Equal([(2L, "u1"), (5L, "u2")], ids);
        Assert.Equal(["line 6: the profile_id value is empty", "line 7: 1 value where the header has 2 columns"], bad);
    }

    [Fact]
    public void A_named_column_gives_the_ids_of_a_csv_without_a_profile_id_column()
    {
        var (ids, bad) = ProfileIdColumn.Read(new MemoryStream(Encoding.UTF8.GetBytes("Name;E-mail\nAnn;ann@x.io\nBob;bob@x.io\n")), "e-mail");

        Assert.Equal([(2L, "ann@x.io"), (3L, "bob@x.io")], ids);
        Assert.Empty(bad);
    }

    [Theory]
    [InlineData("u1\nu2\n\nu1\n", "u1|u2", "")]
    [InlineData("Smith, John\nu2\n", "Smith, John|u2", "")]
    [InlineData("only,one,line\n", "only,one,line", "")]
    [InlineData("\nName;Email\nAnn;a@x.io\n", "", "line 2: this looks like a CSV header (columns Name, Email)")]
    [InlineData("Name,Email\n\"Bob, Jr.\",b@x.io\n", "", "line 1: this looks like a CSV header (columns Name, Email)")]
    [InlineData("name,profile_id\nAnn,u7\n", "u7", "")]
    public async Task A_file_of_ids_is_one_id_a_line_unless_it_is_a_csv_whose_id_column_must_be_named(string file, string ids, string problem)
    {
        var (read, bad) = await ProfileIdColumn.ReadIdsAsync(new MemoryStream(Encoding.UTF8.GetBytes(file)), null, CancellationToken.None);

        Assert.Equal(ids, string.Join('|', read));
        if (problem.Length == 0)
        {
            Assert.Empty(bad);
        }
        else
        {
            Assert.StartsWith(problem, Assert.Single(bad), StringComparison.Ordinal);
        }
    }

    private static (List<string> Lines, List<(long, string)> Bad, CsvHeaderProblem? Header) Translate(IngestKind kind, string csv, FieldMap? columns = null) =>
        Translate(kind, Encoding.UTF8.GetBytes(csv), columns);

    private static (List<string> Lines, List<(long, string)> Bad, CsvHeaderProblem? Header) Translate(IngestKind kind, byte[] csv, FieldMap? columns = null)
    {
        using var output = new MemoryStream();
        var header = new CsvTranslator(kind, columns: columns).Translate(new MemoryStream(csv), output);
        var text = Encoding.UTF8.GetString(output.ToArray());
        Assert.True(text.Length == 0 || text[^1] == '\n', "every output line ends with a line break");
        var lines = text.Length == 0 ? [] : text[..^1].Split('\n').ToList();

        // A bad record's line holds its reason after the mark; the line numbers are the input's.
        var bad = lines.Select((line, i) => (Line: i + 1L, Text: line))
            .Where(l => l.Text.StartsWith((char)CsvTranslator.BadRecordMark))
            .Select(l => (l.Line, l.Text[1..]))
            .ToList();
        return ([.. lines.Select(l => l.StartsWith((char)CsvTranslator.BadRecordMark) ? string.Empty : l)], bad, header);
    }
}
