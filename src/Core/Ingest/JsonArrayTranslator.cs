using System.Buffers;
using System.Text;

namespace SegmentMcp.Core.Ingest;

/// <summary>Why a JSON array cannot be read at all (at <see cref="Line"/> of the file): no record is written.</summary>
public sealed record JsonArrayProblem(long Line, string Reason);

/// <summary>
/// Turns a JSON array of records (<c>[{…}, {…}]</c>, pretty-printed or on one line, as many tools export) into NDJSON:
/// one record a line, in array order, which the ingestor then validates and writes as any NDJSON. The array is read as
/// a stream, so its size is not bounded by memory; a record's line breaks become spaces (JSON allows none inside a
/// string, so only whitespace changes). An element that is not an object becomes a line of its reason
/// (<see cref="CsvTranslator.BadRecordMark"/>), reported in its place like any bad record. Translated line N is the
/// array's record N, which is how problems name it.
/// </summary>
internal sealed class JsonArrayTranslator
{
    /// <summary>A record larger than this (a file that is one huge object, usually) stops the translation.</summary>
    public const int MaxRecordBytes = 64 * 1024 * 1024;

    private readonly ArrayBufferWriter<byte> element = new(4096);

    private enum State
    {
        Start,
        BeforeElement,
        InElement,
        AfterElement,
        End,
    }

    /// <summary>How many records (array elements) the last <see cref="Translate"/> wrote.</summary>
    public long Records { get; private set; }

    /// <summary>Writes the NDJSON for <paramref name="input"/>; null, or why the array cannot be read.</summary>
    /// <param name="onRecords">Called every 64 KiB with the records reached (progress).</param>
    public JsonArrayProblem? Translate(Stream input, Stream output, Action<long>? onRecords = null, CancellationToken cancellationToken = default)
    {
        var buffer = new byte[1 << 16];
        var state = State.Start;
        long line = 1;
        long elementLine = 1;
        long lastContentLine = 1;
        var first = true;
        var afterComma = false;
        var depth = 0;
        var inString = false;
        var escaped = false;
        var scalar = false;
        Records = 0;
        element.Clear();
        while (true)
        {
            var read = input.Read(buffer);
            if (read == 0)
            {
                break;
            }

            cancellationToken.ThrowIfCancellationRequested();
            onRecords?.Invoke(Records);
            var bytes = buffer.AsSpan(0, read);
            if (first)
            {
                first = false;
                if (bytes.StartsWith("\uFEFF"u8))
                {
                    bytes = bytes[3..];
                }
            }

            for (var i = 0; i < bytes.Length; i++)
            {
                var b = bytes[i];
                if (state == State.InElement)
                {
                    // The element's bytes up to where it ends (or the buffer does) are copied as one run.
                    var run = i;
                    var complete = false;
                    for (; i < bytes.Length && !complete; i++)
                    {
                        var c = bytes[i];
                        if (c == '\n')
                        {
                            line++;
                        }

                        if (inString)
                        {
                            if (escaped)
                            {
                                escaped = false;
                            }
                            else if (c == '\\')
                            {
                                escaped = true;
                            }
                            else if (c == '"')
                            {
                                inString = false;
                                complete = depth == 0;
                            }
                        }
                        else if (scalar && (IsWhitespace(c) || c is (byte)',' or (byte)']'))
                        {
                            // A bare number, true, false or null ends at what follows it, which the next state reads.
                            if (c == '\n')
                            {
                                line--;
                            }

                            complete = true;
                            i--;
                        }
                        else if (c == '"')
                        {
                            inString = true;
                        }
                        else if (c is (byte)'{' or (byte)'[')
                        {
                            depth++;
                        }
                        else if (c is (byte)'}' or (byte)']')
                        {
                            complete = --depth == 0;
                        }
                    }

                    element.Write(bytes[run..i]);
                    i--;
                    if (element.WrittenCount > MaxRecordBytes)
                    {
                        return new JsonArrayProblem(elementLine, $"record {Records + 1} is larger than {MaxRecordBytes / (1024 * 1024)} MiB; is the array one record, or a closing brace missing?");
                    }

                    if (complete)
                    {
                        Emit(output);
                        state = State.AfterElement;
                    }

                    continue;
                }

                if (b == '\n')
                {
                    line++;
                }

                if (IsWhitespace(b))
                {
                    continue;
                }

                lastContentLine = line;

                switch (state)
                {
                    case State.Start:
                        if (b != '[')
                        {
                            return new JsonArrayProblem(line, b == '{'
                                ? "the file starts with '{', not '[': a JSON array of records starts with '['; a file of one JSON object a line is NDJSON (--format ndjson)"
                                : $"a JSON array of records starts with '[', and this file starts with '{Shown(b)}'");
                        }

                        state = State.BeforeElement;
                        break;
                    case State.BeforeElement when b == ']':
                        state = State.End;
                        break;
                    case State.BeforeElement when b == ',':
                        return new JsonArrayProblem(line, $"a ',' where record {Records + 1} should start (two commas in a row, or a comma after '[')");
                    case State.BeforeElement:
                        element.Clear();
                        element.Write([b]);
                        elementLine = line;
                        afterComma = false;
                        (depth, inString, escaped, scalar) = b switch
                        {
                            (byte)'{' or (byte)'[' => (1, false, false, false),
                            (byte)'"' => (0, true, false, false),
                            _ => (0, false, false, true),
                        };
                        state = State.InElement;
                        break;
                    case State.AfterElement when b == ',':
                        afterComma = true;
                        state = State.BeforeElement;
                        break;
                    case State.AfterElement when b == ']':
                        state = State.End;
                        break;
                    case State.AfterElement:
                        return new JsonArrayProblem(line, $"expected ',' or ']' after record {Records}, found '{Shown(b)}' (is a comma missing between two records?)");
                    case State.End:
                        return new JsonArrayProblem(line, $"'{Shown(b)}' after the array's closing ']': a file holds one array of records");
                }
            }
        }

        if (state == State.InElement && scalar)
        {
            Emit(output);
            state = State.AfterElement;
        }

        return state switch
        {
            State.Start or State.End => null,
            State.InElement => new JsonArrayProblem(elementLine, $"the file ends inside record {Records + 1}, which starts here: was the export cut short?"),
            _ => new JsonArrayProblem(lastContentLine, $"the file ends before the array's closing ']' (after record {Records}{(afterComma ? " and a comma" : string.Empty)}): was the export cut short?"),
        };
    }

    private void Emit(Stream output)
    {
        Records++;
        var written = element.WrittenSpan;
        if (written[0] == '{')
        {
            // Line breaks between a record's tokens become spaces: the record is one NDJSON line.
            while (written.IndexOfAny((byte)'\n', (byte)'\r') is var at && at >= 0)
            {
                output.Write(written[..at]);
                output.WriteByte((byte)' ');
                written = written[(at + 1)..];
            }

            output.Write(written);
        }
        else
        {
            output.WriteByte(CsvTranslator.BadRecordMark);
            output.Write(Encoding.UTF8.GetBytes($"expected a JSON object (a record), not {Kind(written[0])}"));
        }

        output.WriteByte((byte)'\n');
        element.Clear();
    }

    private static string Kind(byte first) => first switch
    {
        (byte)'[' => "an array",
        (byte)'"' => "a string",
        (byte)'t' or (byte)'f' => "a boolean",
        (byte)'n' => "null",
        _ => "a number",
    };

    private static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    private static string Shown(byte b) => b is >= 0x20 and < 0x7F ? ((char)b).ToString() : $"\\x{b:X2}";
}
