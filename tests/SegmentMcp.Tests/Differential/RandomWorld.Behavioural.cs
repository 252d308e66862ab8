using System.Globalization;
using System.Text.Json;
using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Tests.Differential;

/// <summary>Random behavioural conditions and static lists, with parameters that fit the world's 30 days of events.</summary>
public sealed partial class RandomWorld
{
    public static readonly string[] ListIds = ["l1", "l2", "unknown"];

    public List<TestListChange> ListChanges { get; } = [];

    public static byte[] ListRows(IEnumerable<TestListChange> changes) => Rows(changes, (writer, c) =>
    {
        writer.WriteString("tenant", c.Tenant);
        writer.WriteString("list_id", c.ListId);
        writer.WriteString("profile_id", c.ProfileId);
        writer.WriteString("at", c.At.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture));
        writer.WriteNumber("added", c.Added ? 1 : 0);
        writer.WriteString("ingested_at", c.IngestedAt.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture));
    });

    /// <summary>Adds and removes of the profile on l1 and l2 at edge times (some still ahead of now).</summary>
    private DateTime GenerateListChanges(string tenant, string profile, DateTime ingested)
    {
        for (var i = random.Next(0, 4); i > 0; i--)
        {
            ingested = ingested.AddMilliseconds(1);
            ListChanges.Add(new TestListChange(tenant, Pick(ListIds[..2]), profile, Pick(edges), ingested, random.Next(3) > 0));
        }

        return ingested;
    }

    private Condition Behavioural()
    {
        var metric = Pick(Metrics);
        switch (random.Next(8))
        {
            case 0:
                return new FirstTimeCondition(metric, Where(), Window() ?? new LastDaysWindow(3));
            case 1:
                var steps = Enumerable.Range(0, random.Next(1, 4)).Select(_ => new SequenceStep(Pick(Metrics), random.Next(3) == 0 ? Where() : [])).ToList();
                if (random.Next(2) == 0)
                {
                    steps[^1] = steps[^1] with { ThenNot = new ThenNot(Pick(Metrics), Pick([1, 6, 24, 100])) };
                }

                return new SequenceCondition(steps, Pick([1, 6, 24, 72, 800]), random.Next(3) == 0 ? null : Window());
            case 2:
                var (a, b) = Pick([(3, 5), (1, 7), (7, 30), (5, 10)]);
                return new StoppedCondition(metric, Where(), a, b, random.Next(1, a + 1));
            case 3:
                return new RestartedCondition(metric, Pick([1, 2, 4, 7]), Pick([1, 3, 7]));
            case 4:
                var period = (Period)random.Next(3);
                var periods = period switch { Period.Day => random.Next(1, 12), Period.Week => random.Next(1, 6), _ => random.Next(1, 3) };
                return new RegularlyCondition(metric, Where(), period, periods, random.Next(1, periods + 1), (Comparison)random.Next(6), Pick([0.0, 1, 2]), Pick<string?>(TimeZones));
            case 5:
                var property = Pick([PropertyFilter.ValueProperty, .. EventProperties]);
                return new LastEventCondition(metric, Filter(property, isEventValue: property == PropertyFilter.ValueProperty));
            case 6:
                return new RandomBucketCondition(Pick([0, 12.5, 50, 99.99, 100]), Pick(["a", "b", "42", "ünï"]));
            default:
                return new InListCondition(Pick(ListIds));
        }
    }
}
