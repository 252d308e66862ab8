using SegmentMcp.Core.Ingest;

namespace SegmentMcp.Tests.Ingest;

/// <summary>The map gathered from bad records' hints: offered only when it would load every record reported.</summary>
public class FieldAliasesTests
{
    [Fact]
    public void The_first_key_named_for_each_field_is_gathered_quotes_undone()
    {
        var map = FieldAliases.Suggested(
        [
            "missing field 'profile_id' (the record has 'userId': --map profile_id=userId reads it); missing field 'metric' (the record has 'event': --map metric=event reads it)",
            "missing field 'profile_id' (the record has 'anonymousId': --map profile_id=anonymousId reads it)",
            "missing field 'properties' (the record has '$set': --map properties='$set' reads it)",
            "missing field 'timestamp' (the record has 'it's': --map timestamp=\"it's\" reads it)",
        ]);

        Assert.Equal([("profile_id", "userId"), ("metric", "event"), ("properties", "$set"), ("timestamp", "it's")], map);
    }

    [Theory]
    [InlineData("missing field 'profile_id' (the record has 'userId': --map profile_id=userId reads it); missing field 'metric'")]
    [InlineData("field 'timestamp' is not an ISO-8601 timestamp between 1900 and 2299: \"soon\"")]
    [InlineData("missing field 'userId' (read as profile_id, --map)")]
    public void A_record_the_map_would_not_load_offers_none(string other) =>
        Assert.Null(FieldAliases.Suggested(["missing field 'metric' (the record has 'event': --map metric=event reads it)", other]));

    [Theory]
    [InlineData("userId", "userId")]
    [InlineData("properties.distinct_id", "properties.distinct_id")]
    [InlineData("user id", "'user id'")]
    [InlineData("$distinct_id", "'$distinct_id'")]
    [InlineData("it's", "\"it's\"")]
    public void Keys_are_quoted_as_a_shell_reads_them_back(string key, string quoted)
    {
        Assert.Equal(quoted, FieldAliases.Quoted(key));
        Assert.Equal(key, FieldAliases.Unquoted(quoted));
    }
}
