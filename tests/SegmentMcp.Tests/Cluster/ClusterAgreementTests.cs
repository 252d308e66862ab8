using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Microsoft.Extensions.DependencyInjection;
using SegmentMcp.Benchmarks;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Demo;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Tests.Mcp;

namespace SegmentMcp.Tests.Cluster;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>
/// The same demo shop on a real 2-shard cluster (clickhouse-server processes started by <c>cluster-demo</c>) and on
/// the embedded engine: the compiled SQL is the same text apart from the database name, and every result — compiled
/// members, both evaluator phases (stored membership and log), and the MCP tools that read them — is the same.
/// And the data verbs run on it as a user runs them.
/// </summary>
[Trait("Category", "Engine")]
public sealed class ClusterAgreementTests(TwoShardCluster fixture) : IClassFixture<TwoShardCluster>
{
    private const string Tenant = CompilerBenchmark.Tenant;

    private static readonly DateTime Reference = ClusterTestData.Second(DateTime.UtcNow.AddHours(-3));

    [Fact]
    public async Task Demo_compiled_segments_evaluator_ticks_and_mcp_tools_agree_with_one_engine()
    {
        var cluster = fixture.Cluster;
        var clustered = await cluster.NewSchemaAsync();
        var single = TestEngines.Embedded;
        var alone = await TestEngines.NewSchemaAsync(single);
        var demo = new DemoOptions { Profiles = 1_000, Seed = 7, ReferenceTime = Reference };
        var loadedOnCluster = await DemoLoader.LoadAsync(cluster.Engine, clustered, demo);
        var loadedAlone = await DemoLoader.LoadAsync(single, alone, demo);
        Assert.Equal(loadedAlone.Events, loadedOnCluster.Events);
        Assert.Equal(
            await ClusterTestData.RowCountsAsync(single, alone, Tenant),
            await ClusterTestData.RowCountsAsync(cluster.Engine, clustered, Tenant));

        // One compiler: the same text apart from table names, the same members.
        await ClusterTestData.AssertSameCompiledMembersAsync(single, alone, cluster.Engine, clustered, Tenant, Reference);

        // Both evaluator phases: a whole evaluation of new segments at t0, then an incremental tick after new activity.
        var t1 = Reference.AddHours(1);
        var options = new EvaluatorOptions { Workers = 2, ChunkSize = 50 };
        await using var clusterServices = SegmentServices.Build(cluster.Engine, clustered, options);
        await using var singleServices = SegmentServices.Build(single, alone, options);
        var clusterIds = await ClusterTestData.SaveShapesAsync(clusterServices, Tenant);
        var singleIds = await ClusterTestData.SaveShapesAsync(singleServices, Tenant);
        await TickBothAsync(clusterServices, singleServices, Reference);
        await ClusterTestData.AssertSameStoredAsync(single, alone, singleIds, cluster.Engine, clustered, clusterIds, Tenant);

        await EvaluatorBenchmark.AddActivityAsync(cluster.Engine, clustered, Tenant, Reference, 10, CancellationToken.None);
        await EvaluatorBenchmark.AddActivityAsync(single, alone, Tenant, Reference, 10, CancellationToken.None);
        var (clusterTick, singleTick) = await TickBothAsync(clusterServices, singleServices, t1);
        Assert.True(singleTick.Statistics.Candidates > 0, "the incremental tick had no candidates: phase 2 was not exercised");
        Assert.Equal(singleTick.Statistics.Candidates, clusterTick.Statistics.Candidates);
        Assert.Equal(singleTick.Statistics.Entered + singleTick.Statistics.Exited, clusterTick.Statistics.Entered + clusterTick.Statistics.Exited);
        Assert.True(singleTick.Statistics.Entered + singleTick.Statistics.Exited > 0, "the incremental tick changed nothing");
        await ClusterTestData.AssertSameStoredAsync(single, alone, singleIds, cluster.Engine, clustered, clusterIds, Tenant);

        // The MCP tools over the stored and the previewed membership.
        await using var clusterMcp = await McpPipeServer.StartAsync(cluster.Engine, clustered, Tenant);
        await using var singleMcp = await McpPipeServer.StartAsync(single, alone, Tenant);
        await AssertSameMembershipAsync(singleMcp, singleIds, clusterMcp, clusterIds);

        foreach (var shape in CompilerBenchmark.Shapes.Where(s => !s.Definition.Contains("\"segment\"", StringComparison.Ordinal)))
        {
            var arguments = new { definition = JsonDocument.Parse(shape.Definition).RootElement, as_of = t1.ToString("o"), limit = 1000 };
            var expected = await singleMcp.CallAsync("preview_segment", arguments);
            var actual = await clusterMcp.CallAsync("preview_segment", arguments);
            Assert.Equal(expected.ToJsonString(), actual.ToJsonString());
        }

        // Value hints read the same on a cluster, where their lookups count rather than end at a first match.
        var slips = new
        {
            definition = JsonDocument.Parse("""
                {"name": "slips", "condition": {"any": [{"property": {"name": "city", "op": "eq", "value": "Bostn"}},
                  {"property": {"name": "plan", "op": "gt", "value": 3}}, {"property": {"name": "age", "op": "gt", "value": 30}}]}}
                """).RootElement,
            as_of = t1.ToString("o"),
            limit = 10,
        };
        var hintsOne = await singleMcp.CallAsync("preview_segment", slips);
        Assert.Equal(["condition.any[0].property.value", "condition.any[1].property.op"], hintsOne["value_hints"]!.AsArray().Select(h => (string?)h!["path"]));
        Assert.Equal(hintsOne.ToJsonString(), (await clusterMcp.CallAsync("preview_segment", slips)).ToJsonString());

        var overlapOne = await singleMcp.CallAsync("segment_overlap", new { segment_ids = singleIds.Take(4).ToArray() });
        var overlapCluster = await clusterMcp.CallAsync("segment_overlap", new { segment_ids = clusterIds.Take(4).ToArray() });
        Assert.Equal(WithoutIds(overlapOne, [.. singleIds]), WithoutIds(overlapCluster, [.. clusterIds]));

        // A breakdown reads the members' trait histories through an IN over the membership, which on a cluster runs
        // as a distributed query of its own; the counts, values and spreads are the same.
        var byEvents = new[] { new { metric = "Placed Order", property = "category", last_days = 365 }, new { metric = "Placed Order", property = "$value", last_days = 365 } };
        var breakdownOne = await singleMcp.CallAsync("segment_breakdown", new { segment_id = singleIds[0], properties = new[] { "city", "plan", "age" }, events = byEvents, top = 3 });
        var breakdownCluster = await clusterMcp.CallAsync("segment_breakdown", new { segment_id = clusterIds[0], properties = new[] { "city", "plan", "age" }, events = byEvents, top = 3 });
        Assert.True((long)breakdownOne["events"]![0]!["events"]! > 0);
        Assert.True((long)breakdownOne["events"]![1]!["numbers"]!["events"]! > 0);
        Assert.Equal(breakdownOne["events"]!.ToJsonString(), breakdownCluster["events"]!.ToJsonString());
        Assert.NotEmpty(breakdownOne["properties"]![0]!["top_values"]!.AsArray());
        Assert.Equal(
            (breakdownOne["members"]!.ToJsonString(), breakdownOne["properties"]!.ToJsonString()),
            (breakdownCluster["members"]!.ToJsonString(), breakdownCluster["properties"]!.ToJsonString()));

        // A draft's members, compiled inside the breakdown's statement: the same on a cluster.
        var draft = new
        {
            definition = JsonDocument.Parse("""{"name": "draft", "condition": {"event": {"metric": "Opened Email", "window": {"last_days": 30}, "op": "gte", "value": 1}}}""").RootElement,
            as_of = t1.ToString("o"),
            properties = new[] { "city", "age" },
        };
        var draftOne = await singleMcp.CallAsync("segment_breakdown", draft);
        Assert.True((long)draftOne["members"]! > 0);
        Assert.Equal(draftOne.ToJsonString(), (await clusterMcp.CallAsync("segment_breakdown", draft)).ToJsonString());

        // Growth day by day from the log: on a cluster every entry is logged, on one engine the first evaluation is derived.
        var growthOne = await singleMcp.CallAsync("segment_growth", new { segment_id = singleIds[0], days = 3 });
        Assert.NotEmpty(growthOne["history"]!.AsArray());
        Assert.Equal(growthOne["history"]!.ToJsonString(), (await clusterMcp.CallAsync("segment_growth", new { segment_id = clusterIds[0], days = 3 }))["history"]!.ToJsonString());

        // A property value given as a profile id is found in every shard's trait history.
        Assert.Equal(await singleMcp.FailAsync("get_profile", new { profile_id = "boston" }), await clusterMcp.FailAsync("get_profile", new { profile_id = "boston" }));
        Assert.Contains("is a value of city", await clusterMcp.FailAsync("get_profile", new { profile_id = "boston" }), StringComparison.Ordinal);

        var explainedOne = await singleMcp.CallAsync("explain_segment", new { segment_id = singleIds[4], as_of = t1.ToString("o") });
        var explainedCluster = await clusterMcp.CallAsync("explain_segment", new { segment_id = clusterIds[4], as_of = t1.ToString("o") });
        Assert.Equal(ClusterTestData.Normalize((string)explainedOne["sql"]!, alone), ClusterTestData.Normalize((string)explainedCluster["sql"]!, clustered));
        Assert.Equal(explainedOne["parameters"]!.ToJsonString(), explainedCluster["parameters"]!.ToJsonString());

        var member = (string)(await singleMcp.CallAsync("list_members", new { segment_id = singleIds[0], limit = 1 }))["members"]![0]!;
        var checkOne = await singleMcp.CallAsync("check_membership", new { profile_id = member, segment_id = singleIds[0], as_of = t1.ToString("o") });
        var checkCluster = await clusterMcp.CallAsync("check_membership", new { profile_id = member, segment_id = clusterIds[0], as_of = t1.ToString("o") });
        Assert.True((bool)checkCluster["member"]!);
        Assert.Equal(checkOne.ToJsonString(), checkCluster.ToJsonString());

        // A static list on the cluster: read back page by page, then deleted with its history from every shard.
        string[] onList = [member, "x1", "x2"];
        var listId = (string)(await clusterMcp.CallAsync("create_list", new { name = "Cluster list", profile_ids = onList }))["list_id"]!;
        var firstPage = await clusterMcp.CallAsync("get_list", new { list_id = listId, limit = 2 });
        var lastPage = await clusterMcp.CallAsync("get_list", new { list_id = listId, limit = 2, cursor = (string?)firstPage["next_cursor"] });
        Assert.Equal(3, (long)firstPage["size"]!);
        Assert.Equal(onList.Order(StringComparer.Ordinal), firstPage["members"]!.AsArray().Concat(lastPage["members"]!.AsArray()).Select(m => (string?)m));
        Assert.True((bool)(await clusterMcp.CallAsync("delete_list", new { list_id = listId }))["deleted"]!);
        Assert.Empty((await clusterMcp.CallAsync("list_lists"))["lists"]!.AsArray());
        Assert.Equal(0L, (long)(await cluster.Engine.QueryAsync(Sql.Of($"SELECT count() FROM {Sql.Table(clustered.ListMembers)}"), row => row.GetInt64(0), CancellationToken.None)).Single());

        // A profile erased on both: gone from every shard's history and membership, the same members and sizes after.
        var erasedOnCluster = await clusterServices.GetRequiredService<ProfileEraser>().EraseAsync(Tenant, [member], CancellationToken.None);
        var erasedAlone = await singleServices.GetRequiredService<ProfileEraser>().EraseAsync(Tenant, [member], CancellationToken.None);
        Assert.Equal([member], erasedOnCluster.Erased);
        Assert.True(erasedAlone.RemovedFromSegments.Values.Sum() > 0, "the erased profile was in no segment");
        Assert.Equal(erasedAlone.RemovedFromSegments.Values.Sum(), erasedOnCluster.RemovedFromSegments.Values.Sum());
        Assert.Contains("no profile", await clusterMcp.FailAsync("get_profile", new { profile_id = member }), StringComparison.Ordinal);
        await AssertSameMembershipAsync(singleMcp, singleIds, clusterMcp, clusterIds, member);

        await ClusterTestData.AssertSameStoredAsync(single, alone, singleIds, cluster.Engine, clustered, clusterIds, Tenant);
    }

    /// <summary>Each segment's count, members and log read the same through both servers (and never name <paramref name="absent"/>).</summary>
    private static async Task AssertSameMembershipAsync(McpPipeServer singleMcp, IReadOnlyList<string> singleIds, McpPipeServer clusterMcp, IReadOnlyList<string> clusterIds, string? absent = null)
    {
        for (var i = 0; i < singleIds.Count; i++)
        {
            foreach (var (tool, arguments) in new (string, Func<string, object>)[]
            {
                ("count_members", id => new { segment_id = id }),
                ("list_members", id => new { segment_id = id, limit = 1000 }),
                ("membership_changes", id => new { segment_id = id, limit = 1000 }),
            })
            {
                var expected = await singleMcp.CallAsync(tool, arguments(singleIds[i]));
                var actual = await clusterMcp.CallAsync(tool, arguments(clusterIds[i]));
                Assert.Equal(WithoutIds(expected, singleIds[i]), WithoutIds(actual, clusterIds[i]));
                if (absent is not null)
                {
                    Assert.DoesNotContain(absent, actual.ToJsonString(), StringComparison.Ordinal);
                }
            }
        }
    }

    [Fact]
    public async Task Quickstart_demo_evaluate_and_serve_run_on_the_cluster()
    {
        var cluster = fixture.Cluster;
        var database = TestEngines.DatabaseName();
        string[] flags = ["--clickhouse", cluster.ConnectionString, "--cluster", cluster.ClusterName, "--database", database];

        var quickstart = await HostProcess.RunAsync(null, ["quickstart", "--profiles", "300", .. flags]);
        Assert.True(quickstart.ExitCode == 0, quickstart.StandardError);
        Assert.Contains($"on the ClickHouse cluster '{cluster.ClusterName}'", quickstart.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Evaluated 5 saved segments", quickstart.StandardOutput, StringComparison.Ordinal);

        // Loading the demo again replaces the tenant's rows on every shard (a Distributed table takes no DELETE).
        var demo = await HostProcess.RunAsync(null, ["demo", "--profiles", "300", .. flags]);
        Assert.True(demo.ExitCode == 0, demo.StandardError);
        Assert.Contains("replaced the existing data of tenant 'demo'", demo.StandardError, StringComparison.Ordinal);
        var profiles = await cluster.Engine.QueryScalarAsync<long>(Sql.Of($"SELECT uniqExact(profile_id) FROM {Sql.Table(database + ".profile_updates")}"));
        Assert.Equal(300, profiles);

        var evaluate = await HostProcess.RunAsync(null, ["evaluate", "--company", "demo", .. flags]);
        Assert.True(evaluate.ExitCode == 0, evaluate.StandardError);

        await using var client = await McpClient.CreateAsync(new StdioClientTransport(new StdioClientTransportOptions
        {
            Command = "dotnet",
            Arguments = [HostProcess.AssemblyPath, "serve", "--company", "demo", "--evaluate-every", "0", .. flags],
            Name = "segmentmcp",
        }));
        var listed = await client.CallToolAsync("list_segments", new Dictionary<string, object?>());
        Assert.False(listed.IsError ?? false);
        var segments = JsonNode.Parse(Assert.IsType<TextContentBlock>(Assert.Single(listed.Content)).Text)!["segments"]!.AsArray();
        Assert.Equal(5, segments.Count);
        var id = (string)segments.MaxBy(segment => (long?)segment!["size"] ?? 0)!["id"]!;
        var member = (string?)(await CallAsync(client, "list_members", new() { ["segment_id"] = id, ["limit"] = 1 }))["members"]![0];
        foreach (var (tool, arguments) in new (string, Dictionary<string, object?>)[]
        {
            ("count_members", new() { ["segment_id"] = id }),
            ("get_segment", new() { ["segment_id"] = id }),
            ("describe_schema", new()),
            ("describe_schema", new() { ["property"] = "city" }),
            ("describe_schema", new() { ["metric"] = "Placed Order" }),
            ("segment_versions", new() { ["segment_id"] = id }),
            ("list_segments", new() { ["search"] = "customers" }),
            ("get_profile", new() { ["profile_id"] = member }),
            ("refresh_segments", new()),
            ("delete_segment", new() { ["segment_id"] = id }),
        })
        {
            await CallAsync(client, tool, arguments);
        }

        // One property looked at closely over the shards: its values' profiles add up to the profiles with a value.
        var city = (await CallAsync(client, "describe_schema", new() { ["property"] = "city" }))["properties"]![0]!;
        Assert.Equal((long)city["profiles_with_value"]!, city["top_values"]!.AsArray().Sum(v => (long)v!["count"]!));
        Assert.Equal(city["top_values"]!.AsArray().Count, (long)city["distinct_values"]!);
    }

    private static async Task<JsonNode> CallAsync(McpClient client, string tool, Dictionary<string, object?> arguments)
    {
        var result = await client.CallToolAsync(tool, arguments);
        var text = Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
        Assert.False(result.IsError ?? false, $"{tool}: {text}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>A tool result with the engine's own segment ids replaced by their position.</summary>
    private static string WithoutIds(JsonNode result, params string[] ids)
    {
        var text = result.ToJsonString();
        for (var i = 0; i < ids.Length; i++)
        {
            text = text.Replace(ids[i], "segment" + i, StringComparison.Ordinal);
        }

        return text;
    }

    private static async Task<(TickReport Cluster, TickReport Single)> TickBothAsync(ServiceProvider cluster, ServiceProvider single, DateTime asOf)
    {
        var onCluster = await cluster.GetRequiredService<ISegmentEvaluator>().TickAsync(Tenant, asOf, null, CancellationToken.None);
        var onOne = await single.GetRequiredService<ISegmentEvaluator>().TickAsync(Tenant, asOf, null, CancellationToken.None);
        Assert.Equal(onOne.Segments.Count, onCluster.Segments.Count);
        Assert.Equal(onOne.Statistics.Entered, onCluster.Statistics.Entered);
        Assert.Equal(onOne.Statistics.Exited, onCluster.Statistics.Exited);
        return (onCluster, onOne);
    }
}
