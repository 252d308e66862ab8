using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace SegmentMcp.Core.Storage;

/// <summary>Builds JSONEachRow bytes for <see cref="Storage.IClickHouseEngine.InsertJsonEachRowAsync"/>, one object a line.</summary>
internal sealed class JsonRows : IDisposable
{
    private readonly ArrayBufferWriter<byte> buffer = new();
    private readonly Utf8JsonWriter writer;

    public JsonRows()
    {
        writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
    }

    public int Count { get; private set; }

    /// <summary>The text form ClickHouse parses for DateTime64 columns in JSONEachRow.</summary>
    public static string Time(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture);

    public Utf8JsonWriter Begin()
    {
        if (Count > 0)
        {
            writer.Flush();
            buffer.Write("\n"u8);
            writer.Reset();
        }

        Count++;
        writer.WriteStartObject();
        return writer;
    }

    public void End() => writer.WriteEndObject();

    public ReadOnlyMemory<byte> ToMemory()
    {
        writer.Flush();
        return buffer.WrittenMemory;
    }

    public void Dispose() => writer.Dispose();
}
