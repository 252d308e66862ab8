using System.Text;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Tests.Dsl;

public sealed class ValidatorTests
{
    private static readonly TenantCatalog Catalog = new(
        new Dictionary<string, IReadOnlyCollection<string>>
        {
            ["Opened Email"] = ["subject", "campaign"],
            ["Placed Order"] = ["amount", "currency"],
            ["Page View"] = ["url"],
        },
        ["city", "country", "birthday"]);

    private static readonly Dictionary<string, SegmentDefinition> Saved = new()
    {
        ["bostonians"] = Definition("""{"property": {"name": "city", "op": "eq", "value": "Boston"}}"""),
        ["a"] = Definition("""{"segment": {"id": "b"}}"""),
        ["b"] = Definition("""{"all": [{"property": {"name": "city", "op": "is_set"}}, {"segment": {"id": "a", "member": false}}]}"""),
        ["stale"] = Definition("""{"property": {"name": "town", "op": "is_set"}}"""),
    };

    private readonly DefinitionValidator validator = new(new InMemorySegments());

    [Theory]
    [InlineData("""{"event": {"metric": "Opend Email", "op": "gte", "value": 1}}""", "condition.event.metric", "Unknown metric 'Opend Email'. Did you mean 'Opened Email', ")]
    [InlineData("""{"event": {"metric": "Opened Email", "where": [{"name": "subjet", "op": "is_set"}], "op": "gte", "value": 1}}""", "condition.event.where[0].name", "Unknown property of 'Opened Email' events 'subjet'. Did you mean 'subject'")]
    [InlineData("""{"event": {"metric": "Placed Order", "measure": {"sum": "amout"}, "op": "gte", "value": 1}}""", "condition.event.measure", "Did you mean 'amount'")]
    [InlineData("""{"any": [{"property": {"name": "city", "op": "is_set"}}, {"property": {"name": "Country", "op": "is_set"}}]}""", "condition.any[1].property.name", "Unknown profile property 'Country'. Did you mean 'country'")]
    [InlineData("""{"segment": {"id": "nope"}}""", "condition.segment.id", "Unknown segment 'nope' for this tenant. A reference names a saved segment by its id, not its name.")]
    [InlineData("""{"segment": {"id": "people of boston"}}""", "condition.segment.id", "Unknown segment 'people of boston' for this tenant. Did you mean 'bostonians' (named \"People of Boston\")?")]
    [InlineData("""{"not": {"segment": {"id": "a"}}}""", "condition.not.segment.id", "Segment references form a cycle: 'a' → 'b' → 'a'.")]
    [InlineData("""{"segment": {"id": "stale"}}""", "condition.segment.id", "Segment 'stale' is not valid any more at condition.property.name: Unknown profile property 'town'.")]
    // A name in the wrong place is said to be what it is, with the condition that tests it.
    [InlineData("""{"property": {"name": "campaign", "op": "eq", "value": "c1"}}""", "condition.property.name",
        "Unknown profile property 'campaign'. 'campaign' is a property of 'Opened Email' events, not of profiles: an event condition's where filter tests it, e.g. {\"event\": {\"metric\": \"Opened Email\", \"where\": [{\"name\": \"campaign\", \"op\": \"eq\", \"value\": \"…\"}], \"op\": \"gte\", \"value\": 1}}.")]
    [InlineData("""{"property": {"name": "Placed Order", "op": "is_set"}}""", "condition.property.name", "'Placed Order' is a metric, not a profile property: an event condition tests it")]
    [InlineData("""{"event": {"metric": "city", "op": "gte", "value": 1}}""", "condition.event.metric", "'city' is a profile property, not a metric: a property condition tests it")]
    [InlineData("""{"event": {"metric": "url", "op": "gte", "value": 1}}""", "condition.event.metric", "'url' is a property of 'Page View' events, not a metric")]
    [InlineData("""{"event": {"metric": "Opened Email", "where": [{"name": "city", "op": "eq", "value": "Boston"}], "op": "gte", "value": 1}}""", "condition.event.where[0].name",
        "'city' is a profile property, not a property of 'Opened Email' events: a property condition tests it")]
    [InlineData("""{"event": {"metric": "Opened Email", "measure": {"sum": "amount"}, "op": "gte", "value": 1}}""", "condition.event.measure", "'amount' is a property of 'Placed Order' events, not of 'Opened Email' events.")]
    [InlineData("""{"event": {"metric": "Placed Order", "measure": {"sum": "value"}, "op": "gte", "value": 1}}""", "condition.event.measure", "Unknown property of 'Placed Order' events 'value'. Did you mean \"$value\", each event's numeric value (with the dollar sign)?")]
    [InlineData("""{"stopped": {"metric": "country", "before_days": [30, 90], "recent_days": 30}}""", "condition.stopped.metric", "'country' is a profile property, not a metric")]
    public async Task Names_are_checked_against_the_catalog_and_saved_segments(string condition, string path, string message)
    {
        var result = await validator.ValidateAsync("acme", Definition(condition), Catalog);

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Path == path && e.Message.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_name_in_the_wrong_place_is_named_also_when_the_definition_does_not_parse()
    {
        var result = await validator.ValidateAsync("acme", """{"name": "n", "condition": {"property": {"name": "subject", "value": "Sale"}}}""", Catalog);

        Assert.Contains(result.Errors, e => e.Path == "condition.property.op" && e.Code == DslErrorCode.Syntax);
        Assert.Contains(result.Errors, e => e.Path == "condition.property.name" && e.Message.Contains("'subject' is a property of 'Opened Email' events, not of profiles", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"all": [{"event": {"metric": "opened email", "window": {"last_days": 30}}}, {"property": {"name": "City", "op": "eq", "value": "Boston"}}]}""",
        "condition.all[0].event.op", "condition.all[0].event.metric", "condition.all[1].property.name")]
    [InlineData("""{"not": {"first_time": {"metric": "Placed Ordr", "where": [{"name": "x"}]}}}""", "condition.not.first_time.window", "condition.not.first_time.metric", null)]
    [InlineData("""{"any": [{"event": {"metric": "Opened Email", "where": [{"name": "subjet", "op": "is_set"}]}}, {"last_event": {"metric": "Placed Order", "property": "amout"}}]}""",
        "condition.any[0].event.op", "condition.any[0].event.where[0].name", "condition.any[1].last_event.property")]
    [InlineData("""{"sequence": {"steps": [{"metric": "Page Views"}, {"metric": "Placed Order", "then_not": {"metric": "Opened Emails", "within_hours": 2}}]}}""",
        "condition.sequence.within_hours", "condition.sequence.steps[0].metric", "condition.sequence.steps[1].then_not.metric")]
    public async Task A_definition_that_does_not_parse_still_has_its_names_checked(string condition, string syntaxPath, string namePath, string? otherNamePath)
    {
        // One answer lists the missing field and the misspelt names together, so a model fixes both in one call.
        var result = await validator.ValidateAsync("acme", $$"""{"name": "n", "condition": {{condition}}}""", Catalog);

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Path == syntaxPath && e.Code == DslErrorCode.Syntax);
        Assert.Contains(result.Errors, e => e.Path == namePath && e.Code == DslErrorCode.UnknownName && e.Message.Contains("Did you mean", StringComparison.Ordinal));
        if (otherNamePath is not null)
        {
            Assert.Contains(result.Errors, e => e.Path == otherNamePath && e.Code == DslErrorCode.UnknownName);
        }

        Assert.Equal(result.Errors.Count, result.Errors.Select(e => e.Path).Distinct().Count());
    }

    [Fact]
    public async Task A_definition_referencing_itself_through_its_own_id_is_a_cycle()
    {
        var result = await validator.ValidateAsync("acme", Definition("""{"segment": {"id": "a"}}"""), Catalog, ownSegmentId: "b");

        var error = Assert.Single(result.Errors);
        Assert.Equal(("condition.segment.id", "Segment references form a cycle: 'b' → 'a' → 'b'."), (error.Path, error.Message));
    }

    [Fact]
    public async Task Valid_definitions_carry_their_resolved_references()
    {
        var json = """{"name": "n", "condition": {"all": [{"segment": {"id": "bostonians"}}, {"event": {"metric": "Placed Order", "where": [{"name": "$value", "op": "gt", "value": 3}], "measure": {"sum": "amount"}, "op": "gte", "value": 100}}]}}""";

        var result = await validator.ValidateAsync("acme", json, Catalog);

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal("acme", result.Definition!.Tenant);
        Assert.Equal(["bostonians"], result.Definition.References.Keys);
    }

    [Fact]
    public async Task An_empty_catalog_says_there_is_nothing_to_suggest()
    {
        var result = await validator.ValidateAsync("acme", Definition("""{"event": {"metric": "X", "op": "gte", "value": 1}}"""), TenantCatalog.Empty);

        Assert.Equal("Unknown metric 'X'. No metric is known for this tenant yet.", Assert.Single(result.Errors).Message);
    }

    [Trait("Category", "Engine")]
    [Fact]
    public async Task The_catalog_reader_loads_metrics_with_their_properties_and_profile_properties_per_tenant()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        await engine.InsertJsonEachRowAsync(schema.Events, Encoding.UTF8.GetBytes("""
            {"tenant": "acme", "metric": "Opened Email", "profile_id": "p1", "ts": "2024-01-01 00:00:00", "value": null, "properties": {"subject": "sHi"}}
            {"tenant": "acme", "metric": "Opened Email", "profile_id": "p2", "ts": "2024-01-02 00:00:00", "value": null, "properties": {"campaign": "sx"}}
            {"tenant": "acme", "metric": "Placed Order", "profile_id": "p1", "ts": "2024-01-01 00:00:00", "value": 5, "properties": {}}
            {"tenant": "other", "metric": "Secret", "profile_id": "p1", "ts": "2024-01-01 00:00:00", "value": 5, "properties": {"k": "n1"}}
            """), null);
        await engine.InsertJsonEachRowAsync(schema.ProfileUpdates, Encoding.UTF8.GetBytes("""
            {"tenant": "acme", "profile_id": "p1", "updated_at": "2024-01-01 00:00:00", "properties": {"city": "sBoston", "age": "n30"}}
            {"tenant": "other", "profile_id": "p1", "updated_at": "2024-01-01 00:00:00", "properties": {"secret": "sx"}}
            """), null);

        var catalog = await TenantCatalogReader.ReadAsync(engine, schema, "acme");

        Assert.Equal(["Opened Email", "Placed Order"], catalog.Metrics.Order(StringComparer.Ordinal));
        Assert.Equal(["campaign", "subject"], catalog.EventProperties("Opened Email").Order(StringComparer.Ordinal));
        Assert.Empty(catalog.EventProperties("Placed Order"));
        Assert.Equal(["age", "city"], catalog.ProfileProperties.Order(StringComparer.Ordinal));
    }

    private static SegmentDefinition Definition(string condition) =>
        SegmentDefinitionJson.Parse($$"""{"name": "test", "condition": {{condition}}}""").Definition
        ?? throw new InvalidOperationException("test definition does not parse: " + condition);

    private sealed class InMemorySegments : ISegmentDefinitionSource
    {
        public Task<SegmentDefinition?> FindAsync(string tenant, string segmentId, CancellationToken cancellationToken) =>
            Task.FromResult(Saved.GetValueOrDefault(segmentId));

        public Task<IReadOnlyList<(string Id, string Name)>> ListAsync(string tenant, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<(string Id, string Name)>>([.. Saved.Select(s => (s.Key, s.Key == "bostonians" ? "People of Boston" : s.Value.Name))]);
    }
}
