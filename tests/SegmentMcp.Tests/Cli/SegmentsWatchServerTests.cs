using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Storage.Server;
using SegmentMcp.Tests.Infrastructure;
using SegmentMcp.Tests.Mcp;

namespace SegmentMcp.Tests.Cli;

/// <summary>
/// <c>segments watch --no-evaluate</c> against a ClickHouse server while another process evaluates: each evaluation's
/// entries and exits appear once, segments saved later are picked up, and SIGTERM ends the watch cleanly.
/// </summary>
[Trait("Category", "Engine")]
public sealed class SegmentsWatchServerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_watch_that_only_reads_writes_each_evaluation_another_process_records_once()
    {
        await using var server = await ServerProcess.StartAsync();
        await using var engine = new ClickHouseServerEngine(server.ConnectionString);
        var schema = await TestEngines.NewSchemaAsync(engine);
        await McpTestData.SeedAsync(engine, schema, "acme", string.Empty);
        var store = new SegmentStore(engine, schema);
        var openers = await store.SaveAsync("acme", null, "Boston openers", null, McpTestData.BostonOpeners, CancellationToken.None);
        await using var evaluator = new SegmentEvaluator(engine, schema);

        var lines = new List<string>();
        var errors = new StringBuilder();
        using var watcher = Process.Start(HostProcess.StartInfo(
            "segments", "watch", "--no-evaluate", "--every", "1", "--company", "acme", "--clickhouse", server.ConnectionString, "--database", schema.Database))!;
        watcher.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                lock (lines)
                {
                    lines.Add(line);
                }
            }
        };
        watcher.ErrorDataReceived += (_, e) =>
        {
            lock (errors)
            {
                errors.AppendLine(e.Data);
            }
        };
        watcher.BeginOutputReadLine();
        watcher.BeginErrorReadLine();
        try
        {
            // Changes count from the watch's start: evaluate only once it has started.
            await Until(() => Text(errors).Contains("segments watch: every saved segment of 'acme'", StringComparison.Ordinal), "the watch to start", errors);

            var first = await evaluator.TickAsync("acme", null, null, CancellationToken.None);
            await Until(() => Count(lines) == 2, "the first evaluation's 2 entries", errors);

            await engine.InsertJsonEachRowAsync(
                schema.Events,
                Encoding.UTF8.GetBytes($$"""{"tenant":"acme","profile_id":"p4","metric":"Opened Email","ts":"{{DateTime.UtcNow.AddDays(-1):yyyy-MM-dd HH:mm:ss.fff}}"}""" + "\n"),
                null);
            var second = await evaluator.TickAsync("acme", null, null, CancellationToken.None);
            await Until(() => Count(lines) == 3, "p4's entry", errors);

            // A segment saved later is watched too; a deleted one is said once.
            var buyers = await store.SaveAsync("acme", null, "Buyers", null, McpTestData.Buyers, CancellationToken.None);
            var third = await evaluator.TickAsync("acme", null, null, CancellationToken.None);
            await Until(() => Count(lines) == 5, "the new segment's 2 entries", errors);
            Assert.True(await store.DeleteAsync("acme", openers.Id, CancellationToken.None));
            await Until(() => Text(errors).Contains($"segment {openers.Id} was deleted; no longer watched", StringComparison.Ordinal), "the deletion", errors);

            // Rounds keep running, and repeat nothing.
            await Task.Delay(TimeSpan.FromSeconds(2.5));
            string[] expected =
            [
                Line(openers.Id, "p1", first.EvaluatedAt),
                Line(openers.Id, "p2", first.EvaluatedAt),
                Line(openers.Id, "p4", second.EvaluatedAt),
                Line(buyers.Id, "p1", third.EvaluatedAt),
                Line(buyers.Id, "p3", third.EvaluatedAt),
            ];
            lock (lines)
            {
                Assert.Equal(expected, lines.Select(l => JsonNode.Parse(l)!.ToJsonString()));
            }

            Assert.Equal(1, Occurrences(Text(errors), "was deleted"));
            using (var term = Process.Start("kill", ["-TERM", watcher.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(Patience);
            await watcher.WaitForExitAsync(timeout.Token);
            Assert.True(watcher.ExitCode == 0, Text(errors));
        }
        finally
        {
            if (!watcher.HasExited)
            {
                watcher.Kill(entireProcessTree: true);
            }
        }
    }

    private static string Line(string segmentId, string profileId, DateTime at) =>
        new JsonObject { ["segment_id"] = segmentId, ["profile_id"] = profileId, ["change"] = "entered", ["at"] = at.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture) }.ToJsonString();

    private static int Count(List<string> lines)
    {
        lock (lines)
        {
            return lines.Count;
        }
    }

    private static string Text(StringBuilder errors)
    {
        lock (errors)
        {
            return errors.ToString();
        }
    }

    private static int Occurrences(string text, string part) => (text.Length - text.Replace(part, string.Empty, StringComparison.Ordinal).Length) / part.Length;

    private static async Task Until(Func<bool> condition, string what, StringBuilder errors)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Patience, $"waited {Patience.TotalSeconds:0} s for {what}; the watch said: {Text(errors)}");
            await Task.Delay(100);
        }
    }
}
