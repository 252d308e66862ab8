using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using SegmentMcp.Core.App;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Export;

/// <summary>A webhook: where membership changes are POSTed, with the headers every request carries.</summary>
/// <param name="Secret">Signs every body when given (<see cref="SignatureHeader"/>).</param>
internal sealed record WebhookTarget(Uri Url, IReadOnlyList<(string Name, string Value)> Headers, byte[]? Secret = null)
{
    /// <summary>
    /// <c>t=UNIX_SECONDS,v1=HEX</c>: HMAC-SHA256 with the secret of the seconds, a dot and the body, so a receiver knows
    /// the body came from the holder of the secret unchanged, and when (to refuse an old one replayed).
    /// </summary>
    public const string SignatureHeader = "SegmentMcp-Signature";

    /// <summary>The secret of <paramref name="flag"/>'s file: its text without surrounding white space.</summary>
    public static byte[] ReadSecret(string flag, string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path).Trim();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{flag} {path}: the secret cannot be read ({exception.Message})", exception);
        }

        return text.Length >= 16 ? Encoding.UTF8.GetBytes(text) : throw new InvalidDataException($"{flag} {path}: the secret is {text.Length} characters; give at least 16");
    }

    /// <summary>The <see cref="SignatureHeader"/> value for a body sent at <paramref name="at"/>.</summary>
    public static string Signature(byte[] secret, DateTimeOffset at, string body)
    {
        var seconds = at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var mac = HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(seconds + "." + body));
        return $"t={seconds},v1={Convert.ToHexStringLower(mac)}";
    }

    /// <summary>Changes per POST: a receiver gets bodies of a bounded size whatever a round holds.</summary>
    public const int Batch = 1_000;

    /// <summary>How long a receiver has to answer a POST.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>What is wrong with a webhook address, or null for an http(s) URL.</summary>
    public static string? UrlProblem(string flag, string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var url) && url.Scheme is "http" or "https" ? null : $"{flag} must be an http:// or https:// URL, not '{value}'";

    /// <summary>A "NAME: VALUE" header, or null when it is not one.</summary>
    public static (string Name, string Value)? Header(string header)
    {
        var colon = header.IndexOf(':', StringComparison.Ordinal);
        var name = colon > 0 ? header[..colon].Trim() : string.Empty;
        return name.Length == 0 || name.Any(c => c <= ' ' || c >= 127 || c == ':') ? null : (name, header[(colon + 1)..].Trim());
    }
}

/// <summary>
/// Membership changes as rows (<c>segment_id, profile_id, change, at</c> and the profile properties asked for, as of a
/// round's last change) and as webhook POSTs: what <c>segments watch</c> writes and <c>serve --post</c> sends.
/// </summary>
internal sealed class ChangeDelivery(ProfileReader profiles, string company, IReadOnlyList<string> properties)
{
    private static readonly JsonSerializerOptions Body = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public IReadOnlyList<string> Columns { get; } = ["segment_id", "profile_id", "change", "at", .. properties];

    /// <summary>Each change's fields in <see cref="Columns"/>' order.</summary>
    public async Task<List<object?[]>> RowsAsync(IReadOnlyList<FeedChange> changes, CancellationToken stop)
    {
        var values = new Dictionary<string, IReadOnlyDictionary<string, object?>>(StringComparer.Ordinal);
        if (properties.Count > 0 && changes.Count > 0)
        {
            // Each profile's values as of the round's last change, a page of profiles a statement.
            var at = changes[^1].At;
            foreach (var page in changes.Select(c => c.ProfileId).Distinct(StringComparer.Ordinal).Chunk(MemberWriter.Page))
            {
                foreach (var (id, known) in await profiles.PropertiesOfAsync(company, page, properties, at, stop).ConfigureAwait(false))
                {
                    values[id] = known;
                }
            }
        }

        return [.. changes.Select(change =>
        {
            var known = values.GetValueOrDefault(change.ProfileId);
            return (object?[])[change.SegmentId, change.ProfileId, change.Entered ? "entered" : "exited", Iso(change.At), .. properties.Select(p => known?.GetValueOrDefault(p))];
        })];
    }

    /// <summary>
    /// POSTs the rows in batches of <see cref="WebhookTarget.Batch"/>, each <c>{"company", "changes": [{…}, …]}</c>;
    /// returns null when every batch got a 2xx answer, else what went wrong and how many rows were received before.
    /// </summary>
    public async Task<(string Problem, int Received)?> PostAsync(HttpClient http, WebhookTarget target, List<object?[]> rows, CancellationToken stop)
    {
        var received = 0;
        foreach (var batch in rows.Chunk(WebhookTarget.Batch))
        {
            // The objects of the ndjson lines, a batch at a time: a first round of a large segment holds no JSON for all.
            var body = new JsonObject { ["company"] = company, ["changes"] = new JsonArray([.. batch.Select(row => JsonNode.Parse(MemberWriter.Line("ndjson", Columns, row)))]) };
            var text = body.ToJsonString(Body);
            using var request = new HttpRequestMessage(HttpMethod.Post, target.Url) { Content = new StringContent(text, Encoding.UTF8, "application/json") };
            foreach (var (name, value) in target.Headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            if (target.Secret is { } secret)
            {
                request.Headers.TryAddWithoutValidation(WebhookTarget.SignatureHeader, WebhookTarget.Signature(secret, DateTimeOffset.UtcNow, text));
            }

            string? problem;
            try
            {
                using var response = await http.SendAsync(request, stop).ConfigureAwait(false);
                problem = response.IsSuccessStatusCode ? null : string.Create(CultureInfo.InvariantCulture, $"{(int)response.StatusCode} {response.ReasonPhrase}");
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && !stop.IsCancellationRequested)
            {
                problem = exception is TaskCanceledException ? $"no answer in {WebhookTarget.Timeout.TotalSeconds:0} s" : exception.Message;
            }

            if (problem is not null)
            {
                return (problem, received);
            }

            received += batch.Length;
        }

        return null;
    }

    /// <summary>"N entered, M exited" of some rows.</summary>
    public static string Counts(List<object?[]> rows)
    {
        var entered = rows.Count(r => (string?)r[2] == "entered");
        return string.Create(CultureInfo.InvariantCulture, $"{entered:N0} entered, {rows.Count - entered:N0} exited");
    }

    private static string Iso(DateTime time) => time.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
}
