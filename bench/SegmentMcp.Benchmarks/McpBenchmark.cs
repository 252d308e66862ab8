using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using SegmentMcp.Cli;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Mcp;

namespace SegmentMcp.Benchmarks;

/// <summary>
/// <c>mcp [--company demo] [--iterations N] [--profiles N] [--server PATH] [--data DIR | --clickhouse CONN]</c>: stdio
/// startup to first response of the built <c>segmentmcp</c> executable, then the MCP overhead per call (in-process
/// client over pipes, services from the product's composition root) of count_members and preview_segment against the
/// same work done by calling the engine-side services directly; then describe_schema's time (whole, one metric, one
/// property), whose work is all in the engine.
/// </summary>
/// <remarks>
/// The executable started is <c>--server PATH</c> (the <c>segmentmcp</c> apphost or <c>segmentmcp.dll</c>, for
/// example a published build), by default the one the project reference builds next to this benchmark.
/// </remarks>
internal static class McpBenchmark
{
    public static async Task CommandAsync(BenchArguments args, TextWriter output, CancellationToken stop)
    {
        var company = args.Text("company") ?? ServeCommand.DefaultCompany;
        var iterations = args.Number("iterations", 30, 3, 10_000);
        var demoProfiles = args.Number("profiles", 20_000, 100, 10_000_000);
        var server = Server(args.Text("server"));
        var selection = args.Engine();
        args.RejectUnread();

        // 1. Startup of the real executable (before this process opens the embedded data: one process per data path).
        var startup = await StartupAsync(server, selection, company, stop).ConfigureAwait(false);
        await output.WriteLineAsync($"stdio startup to first response (initialize + tools/list): {startup.TotalMilliseconds:F0} ms (goal < 1000 ms)").ConfigureAwait(false);

        var (engine, schema) = await selection.OpenAsync(stop).ConfigureAwait(false);
        await using (engine.ConfigureAwait(false))
        {
            // 2. Demo data when the company has none.
            var existing = await TenantCatalogReader.ReadAsync(engine, schema, company, stop).ConfigureAwait(false);
            if (existing.Metrics.Count == 0)
            {
                var loaded = await Core.Demo.DemoLoader.LoadAsync(engine, schema, new Core.Demo.DemoOptions { Company = company, Profiles = demoProfiles }, cancellationToken: stop).ConfigureAwait(false);
                await output.WriteLineAsync($"loaded demo data: {loaded.Profiles} profiles, {loaded.Events} events").ConfigureAwait(false);
            }

            var services = new ServiceCollection();
            services.AddLogging();
            services.AddSegmentMcpServices(engine, schema);
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

                // The call an assistant makes first, whose work is all in the engine: its time at this size.
                // The demo's city when there is one: a property with many values, as an assistant looks closer at it.
                var property = catalog.ProfileProperties.Contains("city") ? "city" : catalog.ProfileProperties.Order(StringComparer.Ordinal).FirstOrDefault();
                foreach (var (label, arguments) in new (string, Dictionary<string, object?>)[]
                {
                    ("describe_schema", []),
                    ($"describe_schema metric={metric}", new() { ["metric"] = metric }),
                    ($"describe_schema property={property}", property is null ? [] : new() { ["property"] = property }),
                })
                {
                    await ReportCall(output, label, Math.Min(iterations, 5),
                        () => client.CallToolAsync("describe_schema", arguments, cancellationToken: stop).AsTask()).ConfigureAwait(false);
                }
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

    private static async Task ReportCall(TextWriter output, string label, int iterations, Func<Task<CallToolResult>> call)
    {
        var times = new List<double>();
        for (var i = 0; i < iterations; i++)
        {
            var watch = Stopwatch.StartNew();
            var result = await call().ConfigureAwait(false);
            times.Add(watch.Elapsed.TotalMilliseconds);
            if (result.IsError == true)
            {
                throw new InvalidOperationException($"{label} failed: {string.Join(" ", result.Content.OfType<TextContentBlock>().Select(block => block.Text))}");
            }
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{label} median {Median(times),8:F0} ms (min {times.Min():F0}, max {times.Max():F0}; {iterations} calls)")).ConfigureAwait(false);
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }

    /// <summary>The segmentmcp to start: the named file, else the apphost next to this assembly, else its dll.</summary>
    private static string Server(string? path)
    {
        if (path is not null)
        {
            return File.Exists(path) ? Path.GetFullPath(path) : throw new BenchUsageException($"--server: no file at '{path}' (give the segmentmcp executable or segmentmcp.dll)");
        }

        var apphost = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "segmentmcp.exe" : "segmentmcp");
        return File.Exists(apphost) ? apphost : Path.Combine(AppContext.BaseDirectory, "segmentmcp.dll");
    }

    private static async Task<TimeSpan> StartupAsync(string server, EngineSelection selection, string company, CancellationToken stop)
    {
        List<string> arguments = ["serve", "--company", company, "--evaluate-every", "0"];
        arguments.AddRange(selection.ConnectionString is null ? ["--data", selection.DataPath] : ["--clickhouse", selection.ConnectionString]);
        if (selection.Database != EngineSelection.DefaultDatabase)
        {
            arguments.AddRange(["--database", selection.Database]);
        }

        var viaDotnet = server.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var watch = Stopwatch.StartNew();
        await using var client = await McpClient.CreateAsync(
            new StdioClientTransport(new StdioClientTransportOptions
            {
                Command = viaDotnet ? "dotnet" : server,
                Arguments = viaDotnet ? [server, .. arguments] : arguments,
                Name = "segmentmcp",
            }),
            cancellationToken: stop).ConfigureAwait(false);
        await client.ListToolsAsync(cancellationToken: stop).ConfigureAwait(false);
        return watch.Elapsed;
    }
}
