using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace SegmentMcp.Core.Ingest;

/// <summary>
/// Turns a CSV file (a spreadsheet's or a CRM's export) into the NDJSON records <see cref="RecordConverter"/> reads,
/// so CSV and NDJSON go through one validation and one write path.
/// </summary>
/// <remarks>
/// <para>The output has one line per line of the input: a record spanning three lines (a quoted value with line
/// breaks) is its JSON line and two empty ones, the header is an empty line, and a bad record is a line of its reason
/// (<see cref="BadRecordMark"/>). The ingestor skips empty lines and counts them, so every message it gives names the
/// CSV's own line, in the order of the lines.</para>
/// <para>The header names the columns. <c>profile_id</c> and <c>company_id</c> (and for events <c>metric</c>,
/// <c>timestamp</c> and <c>value</c>, for profiles <c>updated_at</c>) are the record's fields, matched ignoring case;
/// every other column is a property; <see cref="FieldMap"/> gives fields to columns of other names and can name one
/// metric for every event. An empty cell sets nothing. A cell that is a JSON number (<c>34</c>, <c>-0.5</c>,
/// not <c>02134</c>) is stored as a number, <c>true</c>/<c>false</c> in any case as a boolean, anything else as text;
/// comparisons read text of a number's shape as that number, so a column's mixed cells still compare alike.</para>
/// <para>Quoting follows RFC 4180 (<c>"a ""quoted"" value, with a comma"</c>); the separator is the one of
/// <c>,</c> <c>;</c> and tab that the header line uses most (spreadsheets in many locales write <c>;</c>). Spaces
/// around an unquoted value are not part of it. UTF-8 with or without a byte-order mark, or UTF-16 with one.</para>
/// </remarks>
internal sealed class CsvTranslator
{
    /// <summary>A record longer than this (an unclosed quote swallowing the file, usually) stops the translation.</summary>
    public const int MaxRecordChars = 64 * 1024 * 1024;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    private readonly IngestKind kind;
    private readonly bool withProperties;
    private readonly FieldMap? columns;
    private readonly string? metric;
    private readonly StringBuilder record = new();
    private readonly List<(int Start, int Length, bool Quoted)> fields = [];
    private readonly ArrayBufferWriter<byte> json = new(4096);
    private Column[]? header;

    /// <summary>Once the header is read: the keys of the columns that are properties, in header order.</summary>
    public IReadOnlyList<string> PropertyNames => header is null ? [] : [.. header.Where(c => c.Role == Role.Property).Select(c => c.Key)];
    private char separator;

    /// <param name="kind">Which fields the columns may name.</param>
    /// <param name="withProperties">False to leave the property columns out (only the ids are wanted).</param>
    /// <param name="columns">Fields held by columns of other names; the metric of every event.</param>
    public CsvTranslator(IngestKind kind, bool withProperties = true, FieldMap? columns = null)
    {
        this.kind = kind;
        this.withProperties = withProperties;
        this.columns = columns;
        metric = kind == IngestKind.Events ? columns?.Metric : null;
    }

    /// <summary>
    /// The first byte of an output line that stands for a bad record: the reason follows (UTF-8). It goes where the
    /// record would, so the ingestor reports every problem in the order of the lines.
    /// </summary>
    public const byte BadRecordMark = 0x01;

    private enum State
    {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
        AfterClosingQuote,
    }

    private enum Role
    {
        Property,
        Profile,
        Company,
        Metric,
        Timestamp,
        Value,
    }

    /// <summary>
    /// Writes the NDJSON for <paramref name="input"/> to <paramref name="output"/>. Returns null, or why the header
    /// cannot be read (no profile id column, a duplicate name, …), which means no record could be.
    /// </summary>
    /// <param name="onLines">Called every 64K characters with the line reached (progress).</param>
    public CsvHeaderProblem? Translate(Stream input, Stream output, Action<long>? onLines = null, CancellationToken cancellationToken = default)
    {
        using var reader = new StreamReader(input, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        var buffer = new char[1 << 16];
        var state = State.FieldStart;
        long line = 1;
        long recordLine = 1;
        var bad = (string?)null;
        var fieldStart = 0;
        var endsWithNewline = false;
        while (true)
        {
            var read = reader.Read(buffer);
            if (read == 0)
            {
                break;
            }

            if (separator == '\0')
            {
                separator = DetectSeparator(buffer.AsSpan(0, read));
            }

            cancellationToken.ThrowIfCancellationRequested();
            onLines?.Invoke(line);

            endsWithNewline = buffer[read - 1] == '\n';
            foreach (var c in buffer.AsSpan(0, read))
            {
                if ((c == separator || c == '\n') && state != State.Quoted)
                {
                    fields.Add(Field(state, fieldStart));
                    state = State.FieldStart;
                    if (c == '\n')
                    {
                        if (EndRecord(output, recordLine, line, ref bad) is { } header)
                        {
                            return header;
                        }

                        line++;
                        recordLine = line;
                    }

                    continue;
                }

                switch (state)
                {
                    case State.FieldStart:
                        if (c == '"')
                        {
                            fieldStart = record.Length;
                            state = State.Quoted;
                        }
                        else if (c is not (' ' or '\r' or '\t'))
                        {
                            fieldStart = record.Length;
                            record.Append(c);
                            state = State.Unquoted;
                        }

                        break;
                    case State.Unquoted:
                        if (c != '\r')
                        {
                            record.Append(c);
                        }

                        break;
                    case State.Quoted:
                        if (c == '"')
                        {
                            state = State.QuoteInQuoted;
                            break;
                        }

                        if (c == '\n')
                        {
                            line++;
                            if (record.Length > fieldStart && record[^1] == '\r')
                            {
                                record.Length--; // A line break in a value is \n, whatever the file's line ends.
                            }
                        }

                        record.Append(c);
                        if (record.Length > MaxRecordChars)
                        {
                            throw new InvalidDataException($"line {recordLine}: a quoted value longer than {MaxRecordChars / (1024 * 1024)} M characters starts here; is a closing quote (\") missing?");
                        }

                        break;
                    default: // Just after a closing quote.
                        if (c == '"' && state == State.QuoteInQuoted)
                        {
                            record.Append('"');
                            state = State.Quoted;
                        }
                        else if (c is ' ' or '\r' or '\t')
                        {
                            state = State.AfterClosingQuote;
                        }
                        else
                        {
                            // Keep reading the record as it is; it is reported, not guessed at.
                            bad ??= $"text after the closing quote of a value in column {fields.Count + 1}{ColumnName(fields.Count)}; a quote inside a quoted value is written twice (\"\")";
                            record.Append(c);
                            state = State.Unquoted;
                        }

                        break;
                }
            }
        }

        switch (state)
        {
            case State.Quoted when header is null:
                return new CsvHeaderProblem(recordLine, "the header has a quoted name that is never closed (a missing \")");
            case State.Quoted:
                WriteBadRecord(output, "a quoted value starts on this line and is never closed (a missing \")");
                fields.Clear();
                record.Clear();
                WriteEmptyLines(output, line - recordLine + (endsWithNewline ? 0 : 1) - 1);
                return null;
            case State.FieldStart when fields.Count == 0:
                return null; // The input ended with its last line's newline (or was empty).
        }

        fields.Add(Field(state, fieldStart));
        return EndRecord(output, recordLine, line, ref bad);
    }

    /// <summary>The value that ends here, begun at <paramref name="start"/> in <paramref name="state"/>.</summary>
    private (int Start, int Length, bool Quoted) Field(State state, int start) => state switch
    {
        State.FieldStart => (record.Length, 0, false),
        State.Unquoted => (start, TrimmedLength(start), false),
        _ => (start, record.Length - start, true),
    };

    /// <summary>The separator the header line uses most outside quotes: comma, semicolon or tab (comma when none).</summary>
    private static char DetectSeparator(ReadOnlySpan<char> start)
    {
        int commas = 0, semicolons = 0, tabs = 0;
        var quoted = false;
        var text = false;
        foreach (var c in start)
        {
            if (c == '"')
            {
                quoted = !quoted;
                text = true;
            }
            else if (c == '\n' && !quoted)
            {
                if (text)
                {
                    break; // Blank lines before the header are skipped.
                }
            }
            else if (!quoted && !char.IsWhiteSpace(c))
            {
                text = true;
                commas += c == ',' ? 1 : 0;
                semicolons += c == ';' ? 1 : 0;
            }
            else if (!quoted && c == '\t')
            {
                tabs++;
            }
        }

        return tabs > commas && tabs >= semicolons ? '\t' : semicolons > commas ? ';' : ',';
    }

    /// <summary>The length of the unquoted value that started at <paramref name="start"/> without its trailing spaces.</summary>
    private int TrimmedLength(int start)
    {
        var end = record.Length;
        while (end > start && (record[end - 1] == ' ' || (record[end - 1] == '\t' && separator != '\t')))
        {
            end--;
        }

        return end - start;
    }

    /// <summary>
    /// Writes the record that spans lines <paramref name="first"/> to <paramref name="last"/> (the header, a blank
    /// line, a record or a bad one) as that many output lines. Returns a header problem, which ends the translation.
    /// </summary>
    private CsvHeaderProblem? EndRecord(Stream output, long first, long last, ref string? bad)
    {
        try
        {
            var blank = fields.Count == 1 && fields[0].Length == 0 && !fields[0].Quoted;
            if (blank)
            {
                WriteEmptyLines(output, last - first + 1);
                return null;
            }

            if (header is null)
            {
                if (bad is not null)
                {
                    return new CsvHeaderProblem(first, bad);
                }

                var problem = ReadHeader(first);
                WriteEmptyLines(output, last - first + 1);
                return problem;
            }

            bad ??= Check();
            if (bad is not null)
            {
                WriteBadRecord(output, bad);
                WriteEmptyLines(output, last - first);
                return null;
            }

            WriteRecord(output);
            WriteEmptyLines(output, last - first);
            return null;
        }
        finally
        {
            fields.Clear();
            record.Clear();
            bad = null;
        }
    }

    private CsvHeaderProblem? ReadHeader(long line)
    {
        var count = fields.Count;
        while (count > 1 && fields[count - 1] is { Length: 0, Quoted: false })
        {
            count--; // Separators a spreadsheet left after the last column.
        }

        var texts = new string[count];
        for (var i = 0; i < count; i++)
        {
            texts[i] = Text(i);
            if (texts[i].Contains('\uFFFD', StringComparison.Ordinal) || texts[i].Contains('\0', StringComparison.Ordinal))
            {
                return new CsvHeaderProblem(line, "the header is not UTF-8 text; save the file as UTF-8 (or UTF-16 with its byte-order mark)");
            }

            if (texts[i].Length == 0)
            {
                return new CsvHeaderProblem(line, $"column {i + 1} has no name; every column needs one (a property name, or profile_id, …)");
            }
        }

        var listed = Shortened(string.Join(", ", texts));
        var mapped = new Dictionary<int, Role>();
        foreach (var given in (columns?.Fields ?? []).GroupBy(f => f.Field, StringComparer.Ordinal))
        {
            if (RoleOfField(given.Key) is not { } role)
            {
                continue; // A field of the other kind of input (updated_at for events, say).
            }

            // Each input uses the column it has of those given; one named as the field itself needs no mapping.
            var found = given.Select(g => Array.FindIndex(texts, t => t.Equals(g.Column.Trim(), StringComparison.OrdinalIgnoreCase))).Where(i => i >= 0).Distinct().ToList();
            if (found.Count > 1)
            {
                return new CsvHeaderProblem(line, $"columns {string.Join(" and ", found.Select(i => $"'{texts[i]}'"))} are each given as {given.Key}; give one.");
            }

            if (found.Count == 1)
            {
                mapped[found[0]] = role;
            }
            else if (!texts.Any(t => RoleOf(t) == role))
            {
                var wanted = string.Join(" or ", given.Select(g => $"'{g.Column}'"));
                return new CsvHeaderProblem(line, $"no column {wanted} to read {given.Key} from (the header has: {listed}).");
            }
        }

        var names = new Column[count];
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var role = mapped.TryGetValue(i, out var given) ? given : RoleOf(texts[i]);
            var key = role == Role.Property ? texts[i] : FieldName(role);
            if (seen.TryGetValue(key, out var other))
            {
                return new CsvHeaderProblem(line, $"columns {other + 1} ('{texts[other]}') and {i + 1} ('{texts[i]}') are both '{key}'");
            }

            seen[key] = i;
            names[i] = new Column(texts[i], role, key);
        }

        if (metric is not null && names.FirstOrDefault(c => c.Role == Role.Metric) is { Name: not null } metricColumn)
        {
            return new CsvHeaderProblem(line, $"column '{metricColumn.Name}' holds each event's metric, and a metric for every event ('{metric}') was given too; give one or the other.");
        }

        Role[] required = kind == IngestKind.Events ? [Role.Profile, Role.Metric, Role.Timestamp] : [Role.Profile];
        foreach (var role in required)
        {
            if (!names.Any(c => c.Role == role) && !(role == Role.Metric && metric is not null))
            {
                return new CsvHeaderProblem(
                    line,
                    $"no '{FieldName(role)}' column (the header has: {listed}); {Explanation(role)} The separator read is {SeparatorName(separator)}.");
            }
        }

        header = names;
        return null;
    }

    private string? Check()
    {
        var count = fields.Count;
        while (count > header!.Length && fields[count - 1].Length == 0)
        {
            count--; // Separators a spreadsheet left after the last column.
        }

        if (count != header.Length)
        {
            return $"{count} value{(count == 1 ? string.Empty : "s")} where the header has {header.Length} columns"
                + (count > header.Length ? $" (a value holding {SeparatorName(separator)} must be quoted: \"a{separator}b\")" : string.Empty);
        }

        for (var i = 0; i < count; i++)
        {
            var (start, length, _) = fields[i];
            for (var j = start; j < start + length; j++)
            {
                if (record[j] is '\uFFFD' or '\0')
                {
                    return $"the value in column '{header[i].Name}' is not UTF-8 text; save the file as UTF-8 (or UTF-16 with its byte-order mark)";
                }
            }
        }

        return null;
    }

    private void WriteRecord(Stream output)
    {
        json.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(json, WriterOptions))
        {
            writer.WriteStartObject();
            if (metric is not null)
            {
                writer.WriteString("metric", metric);
            }

            for (var i = 0; i < header!.Length; i++)
            {
                var column = header[i];
                var text = Span(i);
                if (column.Role == Role.Property)
                {
                    continue;
                }

                if (text.IsEmpty && (column.Role is Role.Company or Role.Value || (column.Role == Role.Timestamp && kind == IngestKind.Profiles)))
                {
                    continue; // Left to --company; no value; an update that takes effect now.
                }

                writer.WritePropertyName(column.Key);
                if (column.Role == Role.Value && IsJsonNumber(text))
                {
                    writer.WriteRawValue(text, skipInputValidation: true);
                }
                else if (column.Role == Role.Value && Amount(text, separator) is { } amount)
                {
                    writer.WriteRawValue(amount, skipInputValidation: true);
                }
                else if (column.Role == Role.Timestamp && IsJsonNumber(text))
                {
                    writer.WriteRawValue(text, skipInputValidation: true); // A time since 1970, read as in a JSON record.
                }
                else if (column.Role == Role.Timestamp && ZoneAfterSpace(text) is var zone and > 0)
                {
                    writer.WriteStringValue(string.Concat(text[..zone], text[(zone + 1)..] is "UTC" ? "Z" : text[(zone + 1)..]));
                }
                else
                {
                    writer.WriteStringValue(text);
                }
            }

            writer.WriteStartObject("properties");
            for (var i = 0; i < header.Length && withProperties; i++)
            {
                var text = header[i].Role == Role.Property ? Span(i) : [];
                if (text.IsEmpty)
                {
                    continue;
                }

                writer.WritePropertyName(header[i].Key);
                if (IsJsonNumber(text))
                {
                    writer.WriteRawValue(text, skipInputValidation: true);
                }
                else if (text.Equals("true", StringComparison.OrdinalIgnoreCase) || text.Equals("false", StringComparison.OrdinalIgnoreCase))
                {
                    writer.WriteBooleanValue(text.Length == 4);
                }
                else
                {
                    writer.WriteStringValue(text);
                }
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        output.Write(json.WrittenSpan);
        output.WriteByte((byte)'\n');
    }

    /// <summary>
    /// A <c>value</c> cell as a spreadsheet formats money, as a JSON number, or null: a currency sign at either end
    /// (<c>$1,234.50</c>, <c>42,50 €</c>) and digit grouping dropped. In a semicolon-separated file (the locales whose
    /// spreadsheets write one) the comma is the decimal mark and the dot groups digits (<c>1.234,50</c>); otherwise
    /// the dot is the decimal mark and commas group digits by threes.
    /// </summary>
    internal static string? Amount(ReadOnlySpan<char> text, char separator)
    {
        text = text.Trim(" \u00A0\u202F$€£¥₹");
        var negative = text.StartsWith('-');
        var digits = negative ? text[1..].TrimStart(" $€£¥₹") : text;
        var (decimalMark, grouping) = separator == ';' ? (',', '.') : ('.', ',');
        var point = digits.IndexOf(decimalMark);
        var whole = point < 0 ? digits : digits[..point];
        var fraction = point < 0 ? [] : digits[(point + 1)..];
        if (whole.IsEmpty || (point >= 0 && (fraction.IsEmpty || fraction.ContainsAnyExcept("0123456789"))))
        {
            return null;
        }

        // Groups of three after the first group of one to three digits, or no grouping at all.
        var groups = whole.ToString().Split(grouping);
        if (groups.Any(g => g.Length == 0 || g.AsSpan().ContainsAnyExcept("0123456789"))
            || (groups.Length > 1 && (groups[0].Length > 3 || groups.Skip(1).Any(g => g.Length != 3))))
        {
            return null;
        }

        var number = (negative ? "-" : string.Empty) + string.Concat(groups).TrimStart('0').PadLeft(1, '0') + (point < 0 ? string.Empty : "." + fraction.ToString());
        return IsJsonNumber(number) ? number : null;
    }

    /// <summary>
    /// Where a time's zone follows it after a space (<c>2026-11-20 10:00:00 -0500</c>, as Shopify's exports write it;
    /// <c>… UTC</c>), or -1: the time is ISO-8601 once that space goes, and <c>UTC</c> becomes <c>Z</c>.
    /// </summary>
    internal static int ZoneAfterSpace(ReadOnlySpan<char> text)
    {
        var space = text.LastIndexOf(' ');
        if (space < 16 || space == text.Length - 1 || text[11..space].Contains(' '))
        {
            return -1;
        }

        var zone = text[(space + 1)..];
        return zone[0] is '+' or '-' or 'Z' or 'z' || zone is "UTC" ? space : -1;
    }

    /// <summary>A JSON number: <c>-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?</c>.</summary>
    internal static bool IsJsonNumber(ReadOnlySpan<char> text)
    {
        var rest = text.StartsWith('-') ? text[1..] : text;
        if (rest.StartsWith('0'))
        {
            rest = rest[1..];
        }
        else if (!SkipDigits(ref rest))
        {
            return false;
        }

        if (rest.StartsWith('.'))
        {
            rest = rest[1..];
            if (!SkipDigits(ref rest))
            {
                return false;
            }
        }

        if (rest.StartsWith('e') || rest.StartsWith('E'))
        {
            rest = rest[1..];
            if (rest.StartsWith('+') || rest.StartsWith('-'))
            {
                rest = rest[1..];
            }

            if (!SkipDigits(ref rest))
            {
                return false;
            }
        }

        return rest.IsEmpty;
    }

    /// <summary>Moves past the leading digits; false when there are none.</summary>
    private static bool SkipDigits(ref ReadOnlySpan<char> text)
    {
        var digits = text.IndexOfAnyExceptInRange('0', '9');
        digits = digits < 0 ? text.Length : digits;
        text = text[digits..];
        return digits > 0;
    }

    private static void WriteBadRecord(Stream output, string reason)
    {
        output.WriteByte(BadRecordMark);
        output.Write(Encoding.UTF8.GetBytes(reason));
        output.WriteByte((byte)'\n');
    }

    private static void WriteEmptyLines(Stream output, long count)
    {
        for (var i = 0L; i < count; i++)
        {
            output.WriteByte((byte)'\n');
        }
    }

    private ReadOnlySpan<char> Span(int field)
    {
        // StringBuilder chunks are not one span; records are short, so a copy per value is cheap enough.
        var (start, length, _) = fields[field];
        return record.ToString(start, length).AsSpan();
    }

    private string Text(int field) => record.ToString(fields[field].Start, fields[field].Length);

    private string ColumnName(int index) => header is not null && index < header.Length ? $" ('{header[index].Name}')" : string.Empty;

    private Role RoleOf(string name)
    {
        if (name.Equals("profile_id", StringComparison.OrdinalIgnoreCase))
        {
            return Role.Profile;
        }

        if (name.Equals("company_id", StringComparison.OrdinalIgnoreCase))
        {
            return Role.Company;
        }

        if (kind == IngestKind.Events)
        {
            return name.Equals("metric", StringComparison.OrdinalIgnoreCase) ? Role.Metric
                : name.Equals("timestamp", StringComparison.OrdinalIgnoreCase) ? Role.Timestamp
                : name.Equals("value", StringComparison.OrdinalIgnoreCase) ? Role.Value
                : Role.Property;
        }

        return name.Equals("updated_at", StringComparison.OrdinalIgnoreCase) ? Role.Timestamp : Role.Property;
    }

    /// <summary>The role of a field name given in <see cref="FieldMap"/>, or null when this kind of input has no such field.</summary>
    private Role? RoleOfField(string field) => field switch
    {
        "profile_id" => Role.Profile,
        "company_id" => Role.Company,
        "metric" or "timestamp" or "value" when kind == IngestKind.Events => field == "metric" ? Role.Metric : field == "timestamp" ? Role.Timestamp : Role.Value,
        "updated_at" when kind == IngestKind.Profiles => Role.Timestamp,
        _ => null,
    };

    private string FieldName(Role role) => role switch
    {
        Role.Profile => "profile_id",
        Role.Company => "company_id",
        Role.Metric => "metric",
        Role.Timestamp => kind == IngestKind.Events ? "timestamp" : "updated_at",
        Role.Value => "value",
        _ => throw new ArgumentOutOfRangeException(nameof(role)),
    };

    private static string Explanation(Role role) => role switch
    {
        Role.Profile => "name the column that holds each profile's id profile_id, or say which it is (--map profile_id=COLUMN).",
        Role.Metric => "an event needs a metric column (what happened: Placed Order, Opened Email, …), or one metric for every row (--metric NAME).",
        _ => "an event needs a timestamp column (ISO-8601, e.g. 2026-11-20T10:00:00Z), or say which column holds it (--map timestamp=COLUMN).",
    };

    private static string SeparatorName(char separator) => separator switch
    {
        ';' => "a semicolon",
        '\t' => "a tab",
        _ => "a comma",
    };

    private static string Shortened(string text) => text.Length <= 200 ? text : text[..200] + "…";

    /// <summary>A header column: its name as written, what it holds, and the JSON name it is written under.</summary>
    private readonly record struct Column(string Name, Role Role, string Key);
}

/// <summary>Why a CSV header cannot be read, and on which line it is.</summary>
internal readonly record struct CsvHeaderProblem(long Line, string Reason);
