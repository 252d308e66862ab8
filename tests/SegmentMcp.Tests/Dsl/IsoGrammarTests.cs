using System.Text;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Ingest;
using SegmentMcp.Core;
using SegmentMcp.Core.Sql;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Dsl;

/// <summary>
/// One ISO-8601 grammar: the language's parser, ingest's byte parser and the compiled SQL give the same answer for
/// every text — the same instant, or "not a date".
/// </summary>
public sealed class IsoGrammarTests
{
    public static readonly TheoryData<string> Corpus =
    [
        "2026-11-20", "2026-11-20T10:00", "2026-11-20T10:00:05", "2026-11-20T10:00:05.1", "2026-11-20T10:00:05.123456789",
        "2026-11-20T10:00:05.1234567890123Z", "2026-11-20 10:00:00", "2026-11-20t10:00:00z", "2026-11-20T10:00:00,5Z",
        "2026-11-20T10:00:00+02:00", "2026-11-20T10:00:00-0530", "2026-11-20T01:00+03", "2026-11-20T01:00-11",
        "2028-02-29T23:59:59.999Z", "1900-01-01T00:00:00Z", "2299-12-31T23:59:59.999Z",
        "1900-01-01T00:30:00+01:00", "2299-12-31T23:30:00-01:00", "1899-12-31T23:59:59Z", "2300-01-01",
        "2026-13-01", "2026-02-29", "2026-11-20T24:00:00Z", "2026-11-20T10", "2026-11-20T10:00:00.Z", "2026-11-20T10:00:00+03:",
        "2026-11-20T10:00:00+25:00", "2026-11-20T10:00:00Zjunk", "20261120", "20/11/2026", "2026-11-20T10:00:00 Z", " 2026-11-20",
    ];

    [Theory]
    [MemberData(nameof(Corpus))]
    public void The_language_and_ingest_parse_alike(string text)
    {
        var language = IsoTime.TryParse(text, out var instant);
        var ingest = Iso8601.TryParse(Encoding.UTF8.GetBytes(text), out var ticks);

        Assert.Equal(language, ingest);
        if (language)
        {
            Assert.Equal(instant.Ticks, ticks);
        }
    }

    [Fact]
    [Trait("Category", "Engine")]
    public async Task Compiled_sql_reads_a_property_value_as_the_same_instant_or_as_no_date()
    {
        foreach (var text in Corpus)
        {
            var date = new TaggedValueSql(Core.Sql.Sql.Param("String", "s" + text)).Date;
            var result = await TestEngines.Embedded.QueryAsync(Core.Sql.Sql.Of($"SELECT {date}").ToStatement());
            var sql = result.Rows[0][0] as DateTime?;
            Assert.True(
                IsoTime.TryParse(text, out var expected) ? sql == expected : sql is null,
                $"'{text}': the language says {(IsoTime.TryParse(text, out var e) ? e.ToString("O") : "not a date")}, SQL says {sql?.ToString("O") ?? "NULL"}");
        }
    }
}
