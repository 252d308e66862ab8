using System.Runtime.CompilerServices;
using System.Text;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Storage.Chdb;

namespace SegmentMcp.Tests.Infrastructure;

/// <summary>
/// The one embedded engine of this test process (chDB allows one storage path per process). Tests isolate
/// themselves by database, named after the test plus a random suffix.
/// </summary>
public static class TestEngines
{
    private static readonly Lazy<ChdbEngine> LazyEmbedded = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), "segmentmcp-tests", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return ChdbEngine.Open(path, new EngineLimits { QueryTimeout = TimeSpan.FromSeconds(120) });
    });

    public static ChdbEngine Embedded => LazyEmbedded.Value;

    /// <summary>A unique database name for the calling test.</summary>
    public static string DatabaseName([CallerMemberName] string test = "")
    {
        var builder = new StringBuilder("t_");
        foreach (var c in test)
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '_');
        }

        var name = builder.ToString();
        if (name.Length > 40)
        {
            name = name[..40];
        }

        return name + "_" + Guid.NewGuid().ToString("N")[..10];
    }

    /// <summary>Creates a fresh database with the SegmentMcp schema on <paramref name="engine"/>.</summary>
    public static async Task<StorageSchema> NewSchemaAsync(IClickHouseEngine engine, [CallerMemberName] string test = "")
    {
        var schema = new StorageSchema(DatabaseName(test));
        await schema.EnsureCreatedAsync(engine);
        return schema;
    }
}
