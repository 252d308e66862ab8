using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
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
using SegmentMcp.Export;

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

    /// <summary>How long after a failed open the next call tries again (sooner, every call would pay for a retry).</summary>
    private static readonly TimeSpan OpenRetryInterval = TimeSpan.FromSeconds(5);

    private static readonly Option<string> Company = Flags.Company("The tenant served over stdio (and over HTTP without --keys).", DefaultCompany);
    private static readonly Option<bool> Http = Flags.Switch("--http", "Serve Streamable HTTP instead of stdio.");
    private static readonly Option<string?> Urls = Flags.Text("--urls", "URL", $"Where HTTP listens (default {DefaultUrls}).");
    private static readonly Option<string?> Keys = Flags.Text("--keys", "FILE", "Bearer keys → tenants: lines 'KEY TENANT' or a JSON object.");
    private static readonly Option<string[]> AllowedHosts = Flags.Repeated("--allowed-hosts", "HOSTS", "Hosts (comma-separated) accepted in Host/Origin besides loopback and the --urls host ('*' = any).");
    private static readonly Option<bool> ConformanceFixtures = Flags.Switch("--conformance-fixtures", "Add the MCP conformance suite's fixtures (off by default).");
    private static readonly Option<int> EvaluateEvery = Flags.Int("--evaluate-every", "SECONDS", "Keep saved segments current in the background every SECONDS (0 = never).", 60, 0, 86_400);
    private static readonly Option<string?> Prompts = Flags.Text("--prompts", "DIR", "The directory of prompt templates to serve (default: prompts/ beside the executable).");

    private static readonly Option<string?> Post = Flags.Text(
        "--post", "URL", "POST saved segments' entries and exits to this webhook as soon as an evaluation records them (and every --evaluate-every seconds, for other processes' evaluations and retries), as segments watch --post does.",
        value => WebhookTarget.UrlProblem("--post", value));

    private static readonly Option<string[]> PostHeaders = Flags.Repeated("--post-header", "\"NAME: VALUE\"", "A header every POST carries, e.g. \"Authorization: Bearer …\" (repeatable).");

    private static readonly Option<string?> PostState = Flags.Text(
        "--post-state", "FILE", "Keep where the webhook deliveries stopped in FILE, and go on from there at the next start (nothing recorded while the server was down is lost).",
        value => FeedStateFile.Problem("--post-state", value));

    private static readonly Option<string?> PostSecretFile = Flags.Text(
        "--post-secret-file", "FILE", $"Sign every POST with the secret in FILE (at least 16 characters): a {WebhookTarget.SignatureHeader} header, t=UNIX_SECONDS,v1=HMAC-SHA256 of \"t.body\" in hex.");

    private static readonly Option<string?> PostProperties = Flags.Text("--post-properties", "NAME,…", "Profile properties each POSTed change carries, e.g. email,first_name (values as of the change).");

    private static readonly Option<string?> PostOnly = Flags.Text(
        "--post-only", "entered|exited", "POST only the profiles that entered, or only those that exited (default both).",
        value => value is "entered" or "exited" ? null : $"--post-only must be entered or exited, not '{value}'");

    private static readonly Option<string[]> PostSegments = Flags.Repeated(
        "--post-segment", "S", "POST only this saved segment's changes (repeatable; default every saved segment of each company served, those saved later too).");

    public static Command Create() => CommandLine.Verb(
        "serve",
        "Serve MCP: stdio (default) for one company, or Streamable HTTP with bearer keys per tenant.",
        [Company, Http, Urls, Keys, AllowedHosts, ConformanceFixtures, EvaluateEvery, Prompts, Post, PostHeaders, PostProperties, PostSegments, PostOnly, PostState, PostSecretFile, .. EngineSelection.Options],
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

        CheckPrompts(prompts);
        var keys = keysPath is null ? null : ApiKeys.Load(keysPath);
        var webhook = Webhook(args, keys?.Tenants ?? [company], evaluateEvery);
        var streams = http ? default : StdioStreams.Detach();
        // The engine opens in the background, a moment after start-up or at the first call that needs it, whichever
        // comes first: chDB's boot takes both cores for most of a second, and the MCP handshake (initialize,
        // tools/list) needs no data, so it is answered first. A failed open does not stop the server: it is reported
        // here, every call gets its error (which says what to fix, e.g. which process holds the data directory), and
        // a call after the retry interval tries again, so the client need not be restarted once the cause is gone.
        var schema = selection.Schema();
        var engine = new DeferredEngine(token => OpenForCallsAsync(selection, token), OpenRetryInterval, stop);
        engine.OpenFailed += failure => Console.Error.WriteLine($"segmentmcp serve: the engine could not be opened: {failure.Message}");
        _ = Task.Delay(HandshakeGrace, stop).ContinueWith(_ => engine.OpenAsync(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
        await using (engine.ConfigureAwait(false))
        {
            var background = new EvaluatorOptions { EvaluateEverySeconds = evaluateEvery, RefreshTimelinesAfterTick = true };
            if (http)
            {
                await using var app = BuildHttpApp(engine, schema, keys, urls, background, prompts, hosts, company, fixtures, webhook);
                app.Lifetime.ApplicationStarted.Register(() => Console.Error.WriteLine(Listening(app, keys, company)));
                await app.RunAsync(stop).ConfigureAwait(false);
            }
            else
            {
                // Standard error only: which tenant and which data this is answers "why do I see no data?" in a client's log.
                Console.Error.WriteLine(
                    $"segmentmcp serve: MCP over stdio for company '{company}' on the {selection.Describe()}, database {schema.Database}" +
                    (Console.IsInputRedirected ? string.Empty : " (waiting for an MCP client on standard input; Ctrl+C stops; 'segmentmcp help' lists the verbs)"));
                await RunStdioAsync(engine, schema, company, streams, background, prompts, webhook, stop).ConfigureAwait(false);
            }
        }

        return CommandLine.Ok;
    }

    /// <summary>The webhook <c>--post</c> names for <paramref name="tenants"/>, or null without it.</summary>
    private static WebhookOptions? Webhook(ParseResult args, IReadOnlyList<string> tenants, int evaluateEvery)
    {
        var headers = args.ValueOf(PostHeaders)
            .Select(h => WebhookTarget.Header(h) ?? throw new UsageException($"--post-header {h}: give \"NAME: VALUE\", e.g. \"Authorization: Bearer …\""))
            .ToList();
        string[] properties = [.. (args.GetValue(PostProperties) ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal)];
        var state = args.GetValue(PostState) is { } statePath ? new FeedStateFile(statePath, "--post-state") : null;
        var secretFile = args.GetValue(PostSecretFile);
        string[] segments = [.. args.ValueOf(PostSegments).Select(id => string.IsNullOrWhiteSpace(id) ? throw new UsageException("--post-segment: a segment id is not blank") : id.Trim()).Distinct(StringComparer.Ordinal)];
        bool? entered = args.GetValue(PostOnly) is { } only ? only == "entered" : null;
        if (args.GetValue(Post) is not { } url)
        {
            return headers.Count > 0 || properties.Length > 0 || segments.Length > 0 || entered is not null || state is not null || secretFile is not null
                ? throw new UsageException("--post-header, --post-properties, --post-segment, --post-only, --post-state and --post-secret-file: give --post URL as well")
                : null;
        }

        var secret = secretFile is null ? null : WebhookTarget.ReadSecret("--post-secret-file", secretFile);

        // Read now: a state file that cannot be read stops start-up with its name, rather than a delivery later.
        _ = state?.Load();

        // Without background evaluation, changes come from refresh_segments and saves: looked for every minute.
        return new WebhookOptions(new WebhookTarget(new Uri(url), headers, secret), tenants, TimeSpan.FromSeconds(evaluateEvery > 0 ? evaluateEvery : 60), properties, state, segments.Length == 0 ? null : segments, DateTime.UtcNow, entered);
    }

    private static void AddWebhook(IServiceCollection services, WebhookOptions? webhook)
    {
        if (webhook is not null)
        {
            services.AddSingleton(webhook);
            services.AddSingleton<WebhookSignal>();
            services.AddHostedService<WebhookService>();
        }
    }

    private static async Task RunStdioAsync(
        IClickHouseEngine engine, StorageSchema schema, string company, (Stream Input, Stream Output) streams, EvaluatorOptions background, string? prompts, WebhookOptions? webhook, CancellationToken stop)
    {
        var builder = Host.CreateEmptyApplicationBuilder(settings: null);
        LogToStandardError(builder.Logging);
        builder.Services.AddSegmentMcpServices(engine, schema, prompts);
        builder.Services.AddSingleton<ITenantAccessor>(new FixedTenant(company));
        builder.Services.AddSingleton(background);
        builder.Services.AddHostedService<EvaluationService>();
        AddWebhook(builder.Services, webhook);
        builder.Services.AddMcpServer().WithStreamServerTransport(streams.Input, streams.Output).WithSegmentMcp().WithSegmentSubscriptions().WithLocalFileTools();
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
        bool conformanceFixtures = false,
        WebhookOptions? webhook = null)
    {
        if (keys is null && !conformanceFixtures)
        {
            throw new ArgumentNullException(nameof(keys), "Serving HTTP without keys is for the conformance fixtures only.");
        }

        // The empty builder reads no appsettings.json: the slim one would watch the working directory for it, and a
        // watch on a home directory or /tmp walks the whole tree (half a minute before the port opened, and inotify
        // watches used up). The server is configured by its flags alone.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();
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
        AddWebhook(builder.Services, webhook);
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
            .WithSegmentMcp()
            .WithSegmentListen();
        if (conformanceFixtures)
        {
            mcp.WithConformanceFixtures();
        }
        else
        {
            mcp.WithoutSessionSubscriptions();
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

        // Kestrel reads a port it cannot parse (http://127.0.0.1:3O01) as "any free port" and listens where nobody looks.
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (HostCheck.ListenProblem(url) is { } problem)
            {
                throw new UsageException($"--urls: '{ToolSupport.Echo(url)}' {problem}");
            }
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

    /// <summary>Reads the prompt templates once before serving: a broken one is named now, not at a client's prompts/get.</summary>
    private static void CheckPrompts(string? directory)
    {
        try
        {
            _ = new SegmentPrompts(directory ?? SegmentPrompts.DefaultDirectory);
        }
        catch (Exception exception) when (directory is not null && exception is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--prompts: {exception.Message}");
        }
    }

    /// <summary>
    /// Opens the engine; any failure becomes an unavailable-engine error, which a tool call reports to the model in
    /// full (what to fix and where), where an unexpected exception would only say that the tool failed.
    /// </summary>
    private static async Task<IClickHouseEngine> OpenForCallsAsync(EngineSelection selection, CancellationToken cancellationToken)
    {
        try
        {
            return (await selection.OpenAsync(cancellationToken).ConfigureAwait(false)).Engine;
        }
        catch (ClickHouseException exception) when (!exception.IsUnavailable)
        {
            throw ClickHouseException.Unavailable(exception.Code, exception.ErrorName, exception.Message, exception);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or InvalidOperationException or DllNotFoundException or ArgumentException)
        {
            throw ClickHouseException.Unavailable(0, string.Empty, exception.Message, exception);
        }
    }

    /// <summary>The line that tells whoever started the server where it answers (the real port when --urls said 0).</summary>
    private static string Listening(WebApplication app, ApiKeys? keys, string company)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var who = keys is null ? $"tenant '{company}' for every caller" : $"the tenant of each of {keys.Count} bearer key(s)";
        return $"segmentmcp serve: MCP over Streamable HTTP at {string.Join(", ", addresses.Select(a => a + "/"))}, {who}";
    }

    private static void LogToStandardError(ILoggingBuilder logging)
    {
        logging.ClearProviders();
        logging.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting", LogLevel.Warning);
        // A failed start (a port in use) comes back from RunAsync and is printed in one line; the host's own log of it
        // would add a page of stack trace first. Its background service cannot fail otherwise: ticks catch their errors.
        logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
    }
}
