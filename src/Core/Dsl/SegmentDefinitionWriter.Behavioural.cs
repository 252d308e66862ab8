using System.Text.Json;

namespace SegmentMcp.Core.Dsl;

/// <summary>The writer of the behavioural conditions, in the shape their reader takes.</summary>
public static partial class SegmentDefinitionJson
{
    private static void WriteBehavioural(Utf8JsonWriter writer, Condition condition)
    {
        switch (condition)
        {
            case FirstTimeCondition c:
                writer.WriteStartObject("first_time");
                writer.WriteString("metric", c.Metric);
                WriteWhere(writer, c.Where);
                WriteOptionalWindow(writer, c.Window);
                writer.WriteEndObject();
                break;
            case SequenceCondition c:
                writer.WriteStartObject("sequence");
                writer.WriteStartArray("steps");
                foreach (var step in c.Steps)
                {
                    writer.WriteStartObject();
                    writer.WriteString("metric", step.Metric);
                    WriteWhere(writer, step.Where);
                    if (step.ThenNot is { } thenNot)
                    {
                        writer.WriteStartObject("then_not");
                        writer.WriteString("metric", thenNot.Metric);
                        writer.WriteNumber("within_hours", thenNot.WithinHours);
                        writer.WriteEndObject();
                    }

                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
                writer.WriteNumber("within_hours", c.WithinHours);
                WriteOptionalWindow(writer, c.Window);
                writer.WriteEndObject();
                break;
            case StoppedCondition c:
                writer.WriteStartObject("stopped");
                writer.WriteString("metric", c.Metric);
                WriteWhere(writer, c.Where);
                writer.WriteStartArray("before_days");
                writer.WriteNumberValue(c.FromDaysAgo);
                writer.WriteNumberValue(c.ToDaysAgo);
                writer.WriteEndArray();
                writer.WriteNumber("recent_days", c.RecentDays);
                writer.WriteEndObject();
                break;
            case RestartedCondition c:
                writer.WriteStartObject("restarted");
                writer.WriteString("metric", c.Metric);
                writer.WriteNumber("gap_days", c.GapDays);
                writer.WriteNumber("recent_days", c.RecentDays);
                writer.WriteEndObject();
                break;
            case RegularlyCondition c:
                writer.WriteStartObject("regularly");
                writer.WriteString("metric", c.Metric);
                WriteWhere(writer, c.Where);
                writer.WriteString("period", c.Period.Name());
                writer.WriteNumber("periods", c.Periods);
                writer.WriteNumber("min_periods", c.MinPeriods);
                writer.WriteString("op", c.Op.Name());
                writer.WriteNumber("value", c.Value);
                WriteTimeZone(writer, c.TimeZone);
                writer.WriteEndObject();
                break;
            case LastEventCondition c:
                writer.WriteStartObject("last_event");
                writer.WriteString("metric", c.Metric);
                writer.WriteString("property", c.Filter.Name);
                WriteFilterOperator(writer, c.Filter);
                writer.WriteEndObject();
                break;
            case RandomBucketCondition c:
                writer.WriteStartObject("random_bucket");
                writer.WriteNumber("percent", c.Percent);
                writer.WriteString("seed", c.Seed);
                writer.WriteEndObject();
                break;
            case InListCondition c:
                writer.WriteStartObject("in_list");
                writer.WriteString("id", c.ListId);
                writer.WriteEndObject();
                break;
            default:
                throw new InvalidOperationException($"Unknown condition {condition.GetType().Name}.");
        }
    }

    private static void WriteWhere(Utf8JsonWriter writer, IReadOnlyList<PropertyFilter> where)
    {
        if (where.Count == 0)
        {
            return;
        }

        writer.WriteStartArray("where");
        foreach (var filter in where)
        {
            WriteFilter(writer, filter);
        }

        writer.WriteEndArray();
    }

    private static void WriteOptionalWindow(Utf8JsonWriter writer, Window? window)
    {
        if (window is not null)
        {
            writer.WritePropertyName("window");
            WriteWindow(writer, window);
        }
    }
}
