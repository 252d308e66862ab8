using System.Text;
using System.Text.Json;
using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>The behavioural conditions and static lists in the evaluator's random world (when <see cref="Behavioural"/> is on).</summary>
internal sealed partial class EvaluationWorld
{
    private static readonly string[] Lists = ["l1", "l2"];

    /// <summary>Saved segments also use the behavioural conditions and in_list; ingest also changes lists.</summary>
    public bool Behavioural { get; init; }

    /// <summary>Adds and removes on the lists, mostly now, some late (an earlier time) and some ahead of now.</summary>
    private async Task IngestListChangesAsync(DateTime now, int count, int profileLimit)
    {
        var rows = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            var at = Random.Next(6) switch
            {
                0 => now.AddHours(-Random.Next(1, 48)),
                1 => now.AddHours(Random.Next(1, 30)),
                _ => now.AddMinutes(-Random.Next(0, 30)),
            };
            rows.AppendLine(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["tenant"] = Tenant,
                ["list_id"] = Lists[Random.Next(Lists.Length)],
                ["profile_id"] = Profile(Random.Next(profileLimit)),
                ["at"] = Time(at),
                ["added"] = Random.Next(3) > 0 ? 1 : 0,
            }));
        }

        if (rows.Length > 0)
        {
            await engine.InsertJsonEachRowAsync(schema.ListMembers, Encoding.UTF8.GetBytes(rows.ToString()), null);
        }
    }

    private Condition RandomBehavioural()
    {
        var metric = Metrics[Random.Next(Metrics.Length)];
        List<PropertyFilter> where = Random.Next(3) == 0 ? [new PropertyFilter("category", FilterOperator.Eq, [new StringScalar(Categories[Random.Next(Categories.Length)])])] : [];
        if (metric == "Placed Order" && Random.Next(3) == 0)
        {
            where.Add(new PropertyFilter("due", FilterOperator.InNextDays, [new NumberScalar(Random.Next(0, 4))]));
        }

        switch (Random.Next(8))
        {
            case 0:
                return new FirstTimeCondition(metric, where, Random.Next(2) == 0 ? new LastDaysWindow(Random.Next(1, 8)) : new BetweenDaysAgoWindow(1, Random.Next(2, 6)));
            case 1:
                var steps = Enumerable.Range(0, Random.Next(1, 4)).Select(_ => new SequenceStep(Metrics[Random.Next(Metrics.Length)], [])).ToList();
                if (Random.Next(2) == 0)
                {
                    steps[^1] = steps[^1] with { ThenNot = new ThenNot(Metrics[Random.Next(Metrics.Length)], Random.Next(1, 30)) };
                }

                return new SequenceCondition(steps, Random.Next(1, 48), Random.Next(3) == 0 ? null : new LastDaysWindow(Random.Next(1, 8)));
            case 2:
                var a = Random.Next(1, 5);
                return new StoppedCondition(metric, where, a, a + Random.Next(1, 10), Random.Next(1, a + 1));
            case 3:
                return new RestartedCondition(metric, Random.Next(1, 4), Random.Next(1, 4));
            case 4:
                var period = (Period)Random.Next(3);
                var periods = period == Period.Month ? 1 : Random.Next(1, 5);
                return new RegularlyCondition(metric, where, period, periods, Random.Next(1, periods + 1), Random.Next(2) == 0 ? Comparison.Gte : Comparison.Lt, Random.Next(0, 3), TimeZones[Random.Next(TimeZones.Length)]);
            case 5:
                return new LastEventCondition(metric, Random.Next(3) switch
                {
                    0 => new PropertyFilter("category", FilterOperator.Eq, [new StringScalar("a")]),
                    1 => new PropertyFilter("$value", FilterOperator.Gt, [new NumberScalar(20)]),
                    _ => new PropertyFilter("due", FilterOperator.InNextDays, [new NumberScalar(Random.Next(0, 4))]),
                });
            case 6:
                return new RandomBucketCondition(Random.Next(1, 100), "s" + Random.Next(3));
            default:
                return new InListCondition(Lists[Random.Next(Lists.Length)]);
        }
    }
}
