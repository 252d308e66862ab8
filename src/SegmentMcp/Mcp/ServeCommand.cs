using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Server;
using SegmentMcp.Cli;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;
using SegmentMcp.Mcp.Conformance;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Mcp;

/// <summary>
/// <c>segmentmcp serve</c> (also: no verb): MCP over stdio for one tenant (<c>--company</c>, default demo), or
/// Streamable HTTP on Kestrel with bearer keys mapped to tenants (<c>--http --urls URL --keys FILE</c>), behind a
/// Host/Origin check (<c>--allowed-hosts</c>). <c>--conformance-fixtures</c> adds what the MCP conformance suite
/// calls and, on loopback only, lets <c>--keys</c> be left out (one tenant, <c>--company</c>). Standard output carries
/// only the protocol; logs go to standard error.
/// </summary>
internal static class ServeCommand
{
    public const string DefaultCompany = "demo";
    public const string DefaultUrls = "http://127.0.0.1:3001";

    /// <summary>How long start-up leaves the CPU to the MCP handshake before booting the engine unasked.</summary>
    private static readonly TimeSpan HandshakeGrace = TimeSpan.FromSeconds(1);

    private static readonly Option<string> Company = Flags.Company("The tenant served over stdio (and over HTTP without --keys).", DefaultCompany);
    private static readonly Option<bool> Http = Flags.Switch("--http", "Serve Streamable HTTP instead of stdio.");
    private static readonly Option<string?> Urls = Flags.Text("--urls", "URL", $"Where HTTP listens (default {DefaultUrls}).");
    private static readonly Option<string?> Keys = Flags.Text("--keys", "FILE", "Bearer keys → tenants: lines 'KEY TENANT' or a JSON object.");
    private static readonly Option<string[]> AllowedHosts = Flags.Repeated("--allowed-hosts", "HOSTS", "Hosts (comma-separated) accepted in Host/Origin besides loopback and the --urls host ('*' = any).");
    private static readonly Option<bool> ConformanceFixtures = Flags.Switch("--conformance-fixtures", "Add the MCP conformance suite's fixtures (off by default).");
    private static readonly Option<int> EvaluateEvery = Flags.Int("--evaluate-every", "SECONDS", "Keep saved segments current in the background every SECONDS (0 = never).", 60, 0, 86_400);
    private static readonly Option<string?> Prompts = Flags.Text("--prompts", "DIR", "The directory of prompt templates to serve (default: prompts/ beside the executable).");

    public static Command Create() => CommandLine.Verb(
        "serve",
        "Serve MCP: stdio (default) for one company, or Streamable HTTP with bearer keys per tenant.",
        [Company, Http, Urls, Keys, AllowedHosts, ConformanceFixtures, EvaluateEvery, Prompts, .. EngineSelection.Options],
        RunAsync);

    public static async Task<int> RunAsync(ParseResult args, CancellationToken stop)
    {
        var http = args.GetValue(Http);
        var company = args.ValueOf(Company);
        var urls = args.GetValue(Urls) ?? DefaultUrls;
        var keysPath = args.GetValue(Keys);
        var allowedHosts = args.ValueOf(AllowedHosts);
        var fixtures = args.GetValue(ConformanceFixtures);
        var evaluateEvery = args.GetValue(EvaluateEvery);
        var prompts = args.GetValue(Prompts);
        var selection = EngineSelection.FromArguments(args);
        if (!http && (keysPath is not null || args.GetValue(Urls) is not null || allowedHosts.Length > 0 || fixtures))
        {
            throw new UsageException("--keys, --urls, --allowed-hosts and --conformance-fixtures apply to --http only");
        }

        var hosts = http ? CheckHosts(urls, allowedHosts) : null;
        if (http && keysPath is null)
        {
            // Without keys whoever reaches the port acts as --company: only the conformance suite, only on this machine.
            if (!fixtures)
            {
                throw new UsageException("--http needs --keys FILE (bearer keys → tenants)");
            }

            if (!HostCheck.IsLoopbackOnly(urls))
            {
                throw new UsageException($"--conformance-fixtures without --keys serves '{company}' to anyone who connects: --urls must be loopback (localhost, 127.0.0.1, [::1]), not '{urls}'");
            }

            if (hosts!.AnyHost)
            {
                throw new UsageException("--conformance-fixtures without --keys keeps the Host/Origin check: --allowed-hosts may not be '*'");
            }
        }

        var keys = keysPath is null ? null : ApiKeys.Load(keysPath);
        var streams = http ? default : StdioStreams.Detach();
        // The engine opens in the background, a moment after start-up or at the first call that needs it, whichever
        // comes first: chDB's boot takes both cores for most of a second, and the MCP handshake (initialize,
        // tools/list) needs no data, so it is answered first. A failed open is reported here and stops the server;
        // any call waiting for it gets the error.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var needed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var opening = Task.Run(
            async () =>
            {
                await Task.WhenAny(needed.Task, Task.Delay(HandshakeGrace, stopping.Token)).ConfigureAwait(false);
                return (await selection.OpenAsync(stopping.Token).ConfigureAwait(false)).Engine;
            },
            stopping.Token);
        _ = opening.ContinueWith(
            failed =>
            {
                Console.Error.WriteLine($"segmentmcp serve: the engine could not be opened: {failed.Exception?.GetBaseException().Message}");
                stopping.Cancel();
            },
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted,
            TaskScheduler.Default);
        var schema = selection.Schema();
        var engine = new DeferredEngine(opening, () => needed.TrySetResult());
        stop = stopping.Token;
        await using (engine.ConfigureAwait(false))
        {
            var background = new EvaluatorOptions { EvaluateEverySeconds = evaluateEvery, RefreshTimelinesAfterTick = true };
            if (http)
            {
                await using var app = BuildHttpApp(engine, schema, keys, urls, background, prompts, hosts, company, fixtures);
                await app.RunAsync(stop).ConfigureAwait(false);
            }
            else
            {
                await RunStdioAsync(engine, schema, company, streams, background, prompts, stop).ConfigureAwait(false);
            }
        }

        return opening.IsFaulted ? CommandLine.Failed : CommandLine.Ok;
    }

    private static async Task RunStdioAsync(
        IClickHouseEngine engine, StorageSchema schema, string company, (Stream Input, Stream Output) streams, EvaluatorOptions background, string? prompts, CancellationToken stop)
    {
        var builder = Host.CreateEmptyApplicationBuilder(settings: null);
        LogToStandardError(builder.Logging);
        builder.Services.AddSegmentMcpServices(engine, schema, prompts);
        builder.Services.AddSingleton<ITenantAccessor>(new FixedTenant(company));
        builder.Services.AddSingleton(background);
        builder.Services.AddHostedService<EvaluationService>();
        builder.Services.AddMcpServer().WithStreamServerTransport(streams.Input, streams.Output).WithSegmentMcp();
        using var host = builder.Build();
        await host.RunAsync(stop).ConfigureAwait(false);
    }

    /// <summary>
    /// The HTTP server: the Host/Origin check first (a rebinding attempt gets 403, not 401), then bearer keys, then the
    /// MCP endpoint at <c>/</c>. <paramref name="hosts"/> defaults to loopback and the hosts of <paramref name="urls"/>.
    /// Without <paramref name="keys"/> (conformance fixtures only) every request acts as <paramref name="company"/>.
    /// </summary>
    internal static WebApplication BuildHttpApp(
        IClickHouseEngine engine,
        StorageSchema schema,
        ApiKeys? keys,
        string urls,
        EvaluatorOptions background,
        string? prompts,
        HostCheck? hosts = null,
        string company = DefaultCompany,
        bool conformanceFixtures = false)
    {
        if (keys is null && !conformanceFixtures)
        {
            throw new ArgumentNullException(nameof(keys), "Serving HTTP without keys is for the conformance fixtures only.");
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(urls);
        LogToStandardError(builder.Logging);
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddSegmentMcpServices(engine, schema, prompts);
        if (keys is null)
        {
            builder.Services.AddSingleton<ITenantAccessor>(new FixedTenant(company));
        }
        else
        {
            builder.Services.AddSingleton<ITenantAccessor, HttpTenant>();
        }

        builder.Services.AddSingleton(background);
        builder.Services.AddHostedService<EvaluationService>();
        var mcp = builder.Services.AddMcpServer()
            .WithHttpTransport(options =>
            {
                // The product stays stateless (the SDK's default): none of its tools asks the client anything. The
                // suite speaks 2025-11-25, whose sampling, elicitation and multiple-stream scenarios need a session.
                if (conformanceFixtures)
                {
                    options.SessionMode = HttpServerSessionMode.StatefulForInitializeClients;
                }
            })
            .WithSegmentMcp();
        if (conformanceFixtures)
        {
            mcp.WithConformanceFixtures();
        }

        var app = builder.Build();
        app.Use((hosts ?? HostCheck.Create(urls, [])).Check);
        if (keys is not null)
        {
            app.Use(keys.Authenticate);
        }

        app.MapMcp();
        return app;
    }

    private static HostCheck CheckHosts(string urls, IReadOnlyList<string> allowedHosts)
    {
        try
        {
            _ = HostCheck.BoundHosts(urls).ToList();
        }
        catch (FormatException)
        {
            throw new UsageException($"--urls: '{urls}' is not a list of URLs such as http://127.0.0.1:3001");
        }

        try
        {
            return HostCheck.Create(urls, allowedHosts);
        }
        catch (FormatException exception)
        {
            throw new UsageException($"--allowed-hosts: {exception.Message}");
        }
    }

    private static void LogToStandardError(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
    }
}
