using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SegmentMcp.Core.Dsl;

/// <summary>The writer: a definition back to its canonical JSON (what is stored and shown).</summary>
public static partial class SegmentDefinitionJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { Indented = false };

    /// <summary>The canonical JSON of a definition (the same shape the parser reads).</summary>
    public static string Write(SegmentDefinition definition)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("name", definition.Name);
            if (definition.Description is not null)
            {
                writer.WriteString("description", definition.Description);
            }

            writer.WritePropertyName("condition");
            WriteCondition(writer, definition.Condition);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static void WriteCondition(Utf8JsonWriter writer, Condition condition)
    {
        writer.WriteStartObject();
        switch (condition)
        {
            case AllCondition all:
                WriteItems(writer, "all", all.Items);
                break;
            case AnyCondition any:
                WriteItems(writer, "any", any.Items);
                break;
            case NotCondition not:
                writer.WritePropertyName("not");
                WriteCondition(writer, not.Inner);
                break;
            case PropertyCondition property:
                writer.WritePropertyName("property");
                WriteFilter(writer, property.Filter);
                break;
            case EventCondition e:
                writer.WriteStartObject("event");
                writer.WriteString("metric", e.Metric);
                WriteWhere(writer, e.Where);
                WriteOptionalWindow(writer, e.Window);

                if (e.Measure.Kind != MeasureKind.Count)
                {
                    writer.WriteStartObject("measure");
                    writer.WriteString(e.Measure.Kind.Name(), e.Measure.Property);
                    writer.WriteEndObject();
                }

                writer.WriteString("op", e.Op.Name());
                writer.WriteNumber("value", e.Value);
                writer.WriteEndObject();
                break;
            case SegmentReferenceCondition reference:
                writer.WriteStartObject("segment");
                writer.WriteString("id", reference.SegmentId);
                writer.WriteBoolean("member", reference.Member);
                writer.WriteEndObject();
                break;
            default:
                WriteBehavioural(writer, condition);
                break;
        }

        writer.WriteEndObject();
    }

    private static void WriteItems(Utf8JsonWriter writer, string name, IReadOnlyList<Condition> items)
    {
        writer.WriteStartArray(name);
        foreach (var item in items)
        {
            WriteCondition(writer, item);
        }

        writer.WriteEndArray();
    }

    private static void WriteFilter(Utf8JsonWriter writer, PropertyFilter filter)
    {
        writer.WriteStartObject();
        writer.WriteString("name", filter.Name);
        WriteFilterOperator(writer, filter);
        writer.WriteEndObject();
    }

    /// <summary>A filter's "op" and "value" fields (into the object being written).</summary>
    private static void WriteFilterOperator(Utf8JsonWriter writer, PropertyFilter filter)
    {
        writer.WriteString("op", filter.Op.Name());
        if (filter.Op is FilterOperator.In or FilterOperator.NotIn or FilterOperator.Between)
        {
            writer.WriteStartArray("value");
            foreach (var value in filter.Values)
            {
                WriteScalar(writer, value);
            }

            writer.WriteEndArray();
        }
        else if (filter.Values.Count == 1)
        {
            writer.WritePropertyName("value");
            WriteScalar(writer, filter.Values[0]);
        }

        if (filter.IgnoreCase)
        {
            writer.WriteBoolean("ignore_case", true);
        }

        WriteTimeZone(writer, filter.TimeZone);
    }

    private static void WriteScalar(Utf8JsonWriter writer, Scalar scalar)
    {
        switch (scalar)
        {
            case StringScalar s:
                writer.WriteStringValue(s.Value);
                break;
            case NumberScalar n:
                writer.WriteNumberValue(n.Value);
                break;
            case BoolScalar b:
                writer.WriteBooleanValue(b.Value);
                break;
        }
    }

    private static void WriteWindow(Utf8JsonWriter writer, Window window)
    {
        writer.WriteStartObject();
        switch (window)
        {
            case LastDaysWindow w:
                writer.WriteNumber("last_days", w.Days);
                break;
            case LastHoursWindow w:
                writer.WriteNumber("last_hours", w.Hours);
                break;
            case BetweenDaysAgoWindow w:
                writer.WriteStartArray("between_days_ago");
                writer.WriteNumberValue(w.FromDaysAgo);
                writer.WriteNumberValue(w.ToDaysAgo);
                writer.WriteEndArray();
                break;
            case SinceWindow w:
                writer.WriteString("since", IsoTime.Format(w.Since));
                break;
            case BeforeWindow w:
                writer.WriteString("before", IsoTime.Format(w.Before));
                break;
            case FromToWindow w:
                writer.WriteString("from", IsoTime.Format(w.From));
                writer.WriteString("to", IsoTime.Format(w.To));
                break;
            case ThisPeriodWindow w:
                writer.WriteString("this", w.Unit.Name());
                WriteTimeZone(writer, w.TimeZone);
                break;
            case PreviousPeriodsWindow w:
                writer.WriteString("previous", w.Unit.Name());
                if (w.Periods != 1)
                {
                    writer.WriteNumber("periods", w.Periods);
                }

                WriteTimeZone(writer, w.TimeZone);
                break;
        }

        writer.WriteEndObject();
    }

    private static void WriteTimeZone(Utf8JsonWriter writer, string? timeZone)
    {
        if (timeZone is not null)
        {
            writer.WriteString("time_zone", timeZone);
        }
    }
}
