using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Server;
using SegmentMcp.Cli;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Mcp;

/// <summary>
/// <c>segmentmcp serve</c> (also: no verb): MCP over stdio for one tenant (<c>--company</c>, default demo), or
/// Streamable HTTP on Kestrel with bearer keys mapped to tenants (<c>--http --urls URL --keys FILE</c>). Standard
/// output carries only the protocol; logs go to standard error.
/// </summary>
internal static class ServeCommand
{
    public const string DefaultCompany = "demo";
    public const string DefaultUrls = "http://127.0.0.1:3001";

    /// <summary>How long start-up leaves the CPU to the MCP handshake before booting the engine unasked.</summary>
    private static readonly TimeSpan HandshakeGrace = TimeSpan.FromSeconds(1);

    public static void Register() => CommandLine.Register(
        "serve",
        "Serve MCP: stdio (default) for one company, or Streamable HTTP with bearer keys per tenant.",
        "[--company ID] [--http --urls http://127.0.0.1:PORT --keys FILE] [--evaluate-every SECONDS] [--prompts DIR] [--data DIR | --clickhouse CONN] [--database NAME] [--query-timeout S]",
        ["http"],
        RunAsync);

    public static async Task<int> RunAsync(CliArguments args, CancellationToken stop)
    {
        var http = args.Has("http");
        var company = args.Get("company") ?? DefaultCompany;
        var urls = args.Get("urls") ?? DefaultUrls;
        var keysPath = args.Get("keys");
        var evaluateEvery = args.GetInt("evaluate-every", 60, 0, 86_400);
        var prompts = args.Get("prompts");
        var selection = EngineSelection.FromArguments(args);
        args.RejectUnknown();
        try
        {
            Identifiers.RequireToken(company);
        }
        catch (ArgumentException)
        {
            throw new UsageException($"--company: '{company}' is not a valid company id (letters, digits, '_' and '-').");
        }

        if (http && keysPath is null)
        {
            throw new UsageException("--http needs --keys FILE (bearer keys → tenants)");
        }

        if (!http && (keysPath is not null || args.Get("urls") is not null))
        {
            throw new UsageException("--keys and --urls apply to --http only");
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
        var schema = new StorageSchema(selection.Database);
        var engine = new DeferredEngine(opening, () => needed.TrySetResult());
        stop = stopping.Token;
        await using (engine.ConfigureAwait(false))
        {
            var background = new EvaluatorOptions { EvaluateEverySeconds = evaluateEvery };
            if (http)
            {
                await RunHttpAsync(engine, schema, keys!, urls, background, prompts, stop).ConfigureAwait(false);
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
        builder.Services.AddSegmentServices(engine, schema, prompts);
        builder.Services.AddSingleton<ITenantAccessor>(new FixedTenant(company));
        builder.Services.AddSingleton(background);
        builder.Services.AddHostedService<EvaluationService>();
        builder.Services.AddMcpServer().WithStreamServerTransport(streams.Input, streams.Output).WithSegmentMcp();
        using var host = builder.Build();
        await host.RunAsync(stop).ConfigureAwait(false);
    }

    private static async Task RunHttpAsync(
        IClickHouseEngine engine, StorageSchema schema, ApiKeys keys, string urls, EvaluatorOptions background, string? prompts, CancellationToken stop)
    {
        await using var app = BuildHttpApp(engine, schema, keys, urls, background, prompts);
        await app.RunAsync(stop).ConfigureAwait(false);
    }

    /// <summary>The HTTP server: bearer keys checked before anything else, then the MCP endpoint at <c>/</c>.</summary>
    internal static WebApplication BuildHttpApp(
        IClickHouseEngine engine, StorageSchema schema, ApiKeys keys, string urls, EvaluatorOptions background, string? prompts)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(urls);
        LogToStandardError(builder.Logging);
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddSegmentServices(engine, schema, prompts);
        builder.Services.AddSingleton<ITenantAccessor, HttpTenant>();
        builder.Services.AddSingleton(background);
        builder.Services.AddHostedService<EvaluationService>();
        builder.Services.AddMcpServer().WithHttpTransport().WithSegmentMcp();
        var app = builder.Build();
        app.Use(keys.Authenticate);
        app.MapMcp();
        return app;
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
