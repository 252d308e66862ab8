using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace SegmentMcp.Tests.Infrastructure;

/// <summary>
/// A webhook on loopback for the tests of <c>--post</c>: records each request's body and one header, and answers the
/// status codes given, in order (200 after them).
/// </summary>
public sealed class WebhookReceiver : IDisposable
{
    private readonly HttpListener listener = new();
    private readonly Task receiving;

    public WebhookReceiver(string header, params int[] answers)
    {
        var port = ServerProcess.FreePort();
        Url = $"http://127.0.0.1:{port}/hook/";
        listener.Prefixes.Add(Url);
        listener.Start();
        receiving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception exception) when (exception is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var raw = await reader.ReadToEndAsync();
                var index = Requests.Count;
                Signed.Enqueue((context.Request.Headers["SegmentMcp-Signature"], raw));
                Requests.Enqueue((context.Request.Headers[header], JsonNode.Parse(raw)!.ToJsonString()));
                context.Response.StatusCode = index < answers.Length ? answers[index] : 200;
                context.Response.Close();
            }
        });
    }

    public string Url { get; }

    /// <summary>Each request's header value and body (JSON, re-serialized compactly).</summary>
    public ConcurrentQueue<(string? Header, string Body)> Requests { get; } = new();

    /// <summary>Each request's signature header and its body exactly as sent, to check the signature over.</summary>
    public ConcurrentQueue<(string? Signature, string Body)> Signed { get; } = new();

    /// <summary>Waits until <paramref name="count"/> requests have come, or fails after a minute.</summary>
    public async Task WaitForAsync(int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (Requests.Count < count)
        {
            await Task.Delay(50, timeout.Token);
        }
    }

    public void Dispose()
    {
        listener.Close();
        receiving.Wait(TimeSpan.FromSeconds(5));
    }
}
