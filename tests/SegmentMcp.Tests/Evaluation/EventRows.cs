using System.Text;
using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>Small hand-written worlds for evaluator tests: events as JSONEachRow rows, conditions as saved JSON.</summary>
internal static class EventRows
{
    public static byte[] Of(string tenant, params (string Metric, string Profile, DateTime Ts)[] rows) =>
        Encoding.UTF8.GetBytes(string.Concat(rows.Select(r => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["tenant"] = tenant,
            ["metric"] = r.Metric,
            ["profile_id"] = r.Profile,
            ["ts"] = r.Ts.ToString("yyyy-MM-dd HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture),
            ["properties"] = new Dictionary<string, string>(),
        }) + "\n")));

    /// <summary>The JSON a segment of <paramref name="condition"/> is saved with.</summary>
    public static string Definition(Condition condition) =>
        SegmentDefinitionJson.Write(new SegmentDefinition("x", null, condition));
}
