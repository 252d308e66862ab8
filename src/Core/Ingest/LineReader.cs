using System.Runtime.CompilerServices;

namespace SegmentMcp.Core.Ingest;

/// <summary>
/// Splits a stream into lines without allocating per line: reads large chunks into one buffer and hands out spans.
/// Strips a trailing <c>\r</c> and a leading UTF-8 byte-order mark; optionally copies every byte read to a tee
/// (stdin is kept in a temporary file that way while it is validated).
/// </summary>
internal sealed class LineReader
{
    private const int MaxLineBytes = 256 * 1024 * 1024;
    private readonly Stream stream;
    private readonly Stream? tee;
    private byte[] buffer;
    private int start;
    private int end;
    private bool eof;

    public LineReader(Stream stream, Stream? tee = null, int bufferSize = 4 * 1024 * 1024)
    {
        this.stream = stream;
        this.tee = tee;
        buffer = new byte[bufferSize];
    }

    /// <summary>The 1-based number of the line last returned.</summary>
    public long LineNumber { get; private set; }

    /// <summary>Bytes consumed so far (for progress).</summary>
    public long Position { get; private set; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool TryReadLine(out ReadOnlySpan<byte> line)
    {
        while (true)
        {
            var newline = buffer.AsSpan(start, end - start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                line = Take(newline, newline + 1);
                return true;
            }

            if (eof)
            {
                if (start == end)
                {
                    line = default;
                    return false;
                }

                line = Take(end - start, end - start);
                return true;
            }

            Fill();
        }
    }

    private ReadOnlySpan<byte> Take(int length, int consumed)
    {
        var line = buffer.AsSpan(start, length);
        if (line.Length > 0 && line[^1] == '\r')
        {
            line = line[..^1];
        }

        if (LineNumber == 0 && line.StartsWith("\uFEFF"u8))
        {
            line = line[3..];
        }

        start += consumed;
        Position += consumed;
        LineNumber++;
        return line;
    }

    private void Fill()
    {
        if (start > 0)
        {
            // Move the partial line to the front so the next read can complete it.
            buffer.AsSpan(start, end - start).CopyTo(buffer);
            end -= start;
            start = 0;
        }

        if (end == buffer.Length)
        {
            if (buffer.Length >= MaxLineBytes)
            {
                throw new InvalidDataException($"Line {LineNumber + 1} is longer than {MaxLineBytes / (1024 * 1024)} MB.");
            }

            Array.Resize(ref buffer, buffer.Length * 2);
        }

        var read = stream.Read(buffer, end, buffer.Length - end);
        if (read == 0)
        {
            eof = true;
            return;
        }

        tee?.Write(buffer, end, read);
        end += read;
    }
}
