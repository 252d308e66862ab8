namespace SegmentMcp.Core.Ingest;

/// <summary>A growable byte buffer that batches of rows (JSONCompactEachRow) are written into, reused from batch to batch.</summary>
internal sealed class RowBuffer(int initialCapacity)
{
    private byte[] buffer = new byte[initialCapacity];

    public int Length { get; private set; }

    public int Rows { get; set; }

    public ReadOnlyMemory<byte> Written => buffer.AsMemory(0, Length);

    public void Clear()
    {
        Length = 0;
        Rows = 0;
    }

    /// <summary>Drops what was written after <paramref name="length"/> (a line that turned out bad).</summary>
    public void Truncate(int length) => Length = length;

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        Length += bytes.Length;
    }

    public void Write(byte value)
    {
        GetSpan(1)[0] = value;
        Length++;
    }

    /// <summary>A span of at least <paramref name="size"/> bytes at the end; call <see cref="Advance"/> with what was used.</summary>
    public Span<byte> GetSpan(int size)
    {
        if (Length + size > buffer.Length)
        {
            Array.Resize(ref buffer, Math.Max(buffer.Length * 2, Length + size));
        }

        return buffer.AsSpan(Length);
    }

    public void Advance(int count) => Length += count;
}
