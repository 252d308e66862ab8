using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Sql;

/// <summary>The count the evaluator weighs many candidates against: a tenant's profile rows, by the sort key.</summary>
[Trait("Category", "Engine")]
public sealed class ProfileRowsQueryTests
{
    [Fact]
    public void The_tenant_travels_as_a_parameter()
    {
        var statement = CandidateQuery.ProfileRows(new StorageSchema("db"), "it's me");

        Assert.Equal("SELECT count() FROM db.profiles WHERE tenant = {p0:String}", statement.Text);
        Assert.Equal("it's me", Assert.Single(statement.Parameters).Value);
    }

    [Fact]
    public async Task Counts_only_the_tenants_profiles()
    {
        var engine = TestEngines.Embedded;
        var schema = await TestEngines.NewSchemaAsync(engine);
        var rows = string.Join('\n', new[] { ("t1", "a"), ("t1", "b"), ("t1", "c"), ("t2", "z") }
            .Select(r => "{\"tenant\":\"" + r.Item1 + "\",\"profile_id\":\"" + r.Item2 + "\",\"updated_at\":\"2026-01-01 00:00:00.000\",\"properties\":{}}"));
        await engine.InsertJsonEachRowAsync(schema.ProfileUpdates, System.Text.Encoding.UTF8.GetBytes(rows), null);

        Assert.Equal(3L, (await engine.QueryAsync(CandidateQuery.ProfileRows(schema, "t1"))).Scalar<long>());
        Assert.Equal(0L, (await engine.QueryAsync(CandidateQuery.ProfileRows(schema, "t3"))).Scalar<long>());
    }
}
