using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using SegmentMcp.Cli;
using SegmentMcp.Core.Evaluation;

namespace SegmentMcp.Mcp;

/// <summary>
/// <c>segmentmcp benchmark mcp [--company demo] [--iterations N] [--data DIR]</c>: stdio startup to first response of
/// the built executable, then the MCP overhead per call (in-process client over pipes) of count_members and
/// preview_segment against the same work done by calling the engine-side services directly.
/// </summary>
internal static class McpBenchmark
{
    private static readonly Option<string> Company = Flags.Company("The tenant to measure on.", ServeCommand.DefaultCompany);
    private static readonly Option<int> Iterations = Flags.Int("--iterations", "N", "Calls of each tool measured.", 30, 3, 10_000);
    private static readonly Option<int> Profiles = Flags.Int("--profiles", "N", "Profiles of the demo data loaded when the company has none.", 20_000, 100, 10_000_000);

    public static Command Create() => CommandLine.Verb(
        "mcp",
        "Measure MCP overhead per call (count_members, preview_segment) vs engine time, and stdio startup to first response.",
        [Company, Iterations, Profiles, .. EngineSelection.Options],
        RunAsync);

    public static async Task<int> RunAsync(ParseResult args, CancellationToken stop)
    {
        var company = args.ValueOf(Company);
        var iterations = args.GetValue(Iterations);
        var demoProfiles = args.GetValue(Profiles);
        var selection = EngineSelection.FromArguments(args);
        var output = Console.Out;

        // 1. Startup of the real executable (before this process opens the embedded data: one process per data path).
        var startup = await StartupAsync(selection, company, stop).ConfigureAwait(false);
        await output.WriteLineAsync($"stdio startup to first response (initialize + tools/list): {startup.TotalMilliseconds:F0} ms (goal < 1000 ms)").ConfigureAwait(false);

        var (engine, schema) = await selection.OpenAsync(stop).ConfigureAwait(false);
        await using (engine.ConfigureAwait(false))
        {
            // 2. Demo data when the company has none.
            var existing = await Core.Dsl.TenantCatalogReader.ReadAsync(engine, schema, company, stop).ConfigureAwait(false);
            if (existing.Metrics.Count == 0)
            {
                var loaded = await Core.Demo.DemoLoader.LoadAsync(engine, schema, new Core.Demo.DemoOptions { Company = company, Profiles = demoProfiles }, cancellationToken: stop).ConfigureAwait(false);
                await output.WriteLineAsync($"loaded demo data: {loaded.Profiles} profiles, {loaded.Events} events").ConfigureAwait(false);
            }

            var services = new ServiceCollection();
            services.AddLogging();
            services.AddSegmentServices(engine, schema);
            services.AddSingleton<ITenantAccessor>(new FixedTenant(company));
            var clientToServer = new Pipe();
            var serverToClient = new Pipe();
            services.AddMcpServer().WithStreamServerTransport(clientToServer.Reader.AsStream(), serverToClient.Writer.AsStream()).WithSegmentMcp();
            await using var provider = services.BuildServiceProvider();
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
            var serverTask = provider.GetRequiredService<McpServer>().RunAsync(cancel.Token);
            await using var client = await McpClient.CreateAsync(
                new StreamClientTransport(clientToServer.Writer.AsStream(), serverToClient.Reader.AsStream()), cancellationToken: stop).ConfigureAwait(false);

            var definitions = provider.GetRequiredService<DefinitionService>();
            var catalog = await definitions.CatalogAsync(company, fresh: true, stop).ConfigureAwait(false);
            var metric = catalog.Metrics.Order(StringComparer.Ordinal).FirstOrDefault()
                ?? throw new InvalidOperationException($"Company '{company}' has no events; load demo data first (segmentmcp demo).");
            var json = JsonSerializer.Serialize(new
            {
                name = "benchmark " + metric,
                condition = new { @event = new { metric, window = new { last_days = 30 }, op = "gte", value = 1 } },
            });
            using var document = JsonDocument.Parse(json);
            var definition = document.RootElement;
            var created = await client.CallToolAsync("create_segment", new Dictionary<string, object?> { ["definition"] = definition }, cancellationToken: stop).ConfigureAwait(false);
            var segmentId = ((JsonElement)created.StructuredContent!).GetProperty("segment_id").GetString()!;
            try
            {
                var membership = provider.GetRequiredService<IMembershipReader>();
                var validated = await definitions.ValidateAsync(company, definition, null, stop).ConfigureAwait(false);
                var now = DateTime.UtcNow;
                await Report(output, "count_members", iterations,
                    () => client.CallToolAsync("count_members", new Dictionary<string, object?> { ["segment_id"] = segmentId }, cancellationToken: stop).AsTask(),
                    () => membership.CountAsync(company, segmentId, stop)).ConfigureAwait(false);
                await Report(output, "preview_segment", iterations,
                    () => client.CallToolAsync("preview_segment", new Dictionary<string, object?> { ["definition"] = definition, ["as_of"] = ToolSupport.Iso(now) }, cancellationToken: stop).AsTask(),
                    async () =>
                    {
                        await definitions.CountAsync(validated, now, stop).ConfigureAwait(false);
                        await definitions.MembersAsync(validated, now, null, ToolSupport.DefaultLimit + 1, stop).ConfigureAwait(false);
                    }).ConfigureAwait(false);
            }
            finally
            {
                await client.CallToolAsync("delete_segment", new Dictionary<string, object?> { ["segment_id"] = segmentId }, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                await cancel.CancelAsync().ConfigureAwait(false);
                clientToServer.Writer.Complete();
                serverToClient.Writer.Complete();
                try
                {
                    await serverTask.ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }
        }

        return CommandLine.Ok;
    }

    private static async Task Report(TextWriter output, string tool, int iterations, Func<Task> viaMcp, Func<Task> direct)
    {
        await viaMcp().ConfigureAwait(false);
        await direct().ConfigureAwait(false);
        var mcp = new List<double>();
        var engine = new List<double>();
        for (var i = 0; i < iterations; i++)
        {
            var watch = Stopwatch.StartNew();
            await viaMcp().ConfigureAwait(false);
            mcp.Add(watch.Elapsed.TotalMilliseconds);
            watch.Restart();
            await direct().ConfigureAwait(false);
            engine.Add(watch.Elapsed.TotalMilliseconds);
        }

        var (m, e) = (Median(mcp), Median(engine));
        var verdict = m <= e + 10 ? "ok" : "MISSES";
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{tool,-16} median via MCP {m,8:F2} ms   engine {e,8:F2} ms   overhead {m - e,7:F2} ms   (goal ≤ engine + 10 ms: {verdict}; {iterations} calls)")).ConfigureAwait(false);
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }

    private static async Task<TimeSpan> StartupAsync(EngineSelection selection, string company, CancellationToken stop)
    {
        var directory = AppContext.BaseDirectory;
        var apphost = Path.Combine(directory, OperatingSystem.IsWindows() ? "segmentmcp.exe" : "segmentmcp");
        List<string> arguments = ["serve", "--company", company, "--evaluate-every", "0"];
        arguments.AddRange(selection.ConnectionString is null ? ["--data", selection.DataPath] : ["--clickhouse", selection.ConnectionString]);
        var watch = Stopwatch.StartNew();
        await using var client = await McpClient.CreateAsync(
            new StdioClientTransport(new StdioClientTransportOptions
            {
                Command = File.Exists(apphost) ? apphost : "dotnet",
                Arguments = File.Exists(apphost) ? arguments : [Path.Combine(directory, "segmentmcp.dll"), .. arguments],
                Name = "segmentmcp",
            }),
            cancellationToken: stop).ConfigureAwait(false);
        await client.ListToolsAsync(cancellationToken: stop).ConfigureAwait(false);
        return watch.Elapsed;
    }
}
