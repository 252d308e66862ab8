using System.Globalization;
using System.Text;
using System.Text.Json;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Evaluation;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Tests.Evaluation;

/// <summary>
/// A small random world for evaluator tests: one tenant's profiles, a random stream of events and profile updates
/// (late, on time and future-dated), random saved segments, and the full recompute every tick is checked against.
/// </summary>
internal sealed partial class EvaluationWorld(IClickHouseEngine engine, StorageSchema schema, int seed, int profiles = 60)
{
    public const string Tenant = "acme";

    private static readonly string[] Metrics = ["Opened Email", "Placed Order", "Viewed Page"];
    private static readonly string[] Cities = ["Boston", "Paris", "Tokyo"];
    private static readonly string[] Categories = ["a", "b", "c"];

    /// <summary>The calendar windows' zones: UTC, New York, Kolkata (+5:30), Lord Howe (a 30-minute clock change).</summary>
    private static readonly string?[] TimeZones = [null, null, "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"];

    public Random Random { get; } = new(seed);

    public SegmentStore Segments { get; } = new(engine, schema);

    public MembershipStore Membership { get; } = new(engine, schema);

    public List<string> SegmentIds { get; } = [];

    public string Profile(int i) => $"p{i:D3}";

    /// <summary>
    /// A world on a new schema of the embedded engine with <paramref name="events"/> events and <paramref name="updates"/>
    /// profile updates ingested at <paramref name="at"/> and <paramref name="definitions"/> saved; returns the saved ids in order.
    /// </summary>
    public static async Task<(EvaluationWorld World, StorageSchema Schema, List<string> Ids)> SeedAsync(
        int seed, DateTime at, int events, int updates, IEnumerable<SegmentDefinition> definitions)
    {
        var engine = Infrastructure.TestEngines.Embedded;
        var schema = await Infrastructure.TestEngines.NewSchemaAsync(engine);
        var world = new EvaluationWorld(engine, schema, seed);
        await world.IngestAsync(at, events, updates);
        var ids = new List<string>();
        foreach (var definition in definitions)
        {
            var saved = await world.Segments.SaveAsync(Tenant, null, definition.Name, null, SegmentDefinitionJson.Write(definition), CancellationToken.None);
            ids.Add(saved.Id);
        }

        return (world, schema, ids);
    }

    /// <summary>A history before <paramref name="now"/>: <see cref="IngestAsync"/> once a day for the <paramref name="days"/> days before it, oldest first.</summary>
    public async Task IngestHistoryAsync(DateTime now, int days, int events, int updates, int profileLimit = -1)
    {
        for (var day = days; day > 0; day--)
        {
            await IngestAsync(now.AddDays(-day), events, updates, profileLimit);
        }
    }

    /// <summary>Inserts about <paramref name="events"/> events and <paramref name="updates"/> profile updates around <paramref name="now"/>.</summary>
    public async Task IngestAsync(DateTime now, int events, int updates, int profileLimit = -1)
    {
        var limit = profileLimit < 0 ? profiles : profileLimit;
        var rows = new StringBuilder();
        for (var i = 0; i < events; i++)
        {
            var kind = Random.Next(10);
            var ts = kind switch
            {
                0 => now.AddMinutes(-Random.Next(1, 60 * 24 * 20)), // late
                1 => now.AddMinutes(Random.Next(1, 60 * 36)), // future-dated
                _ => now.AddMinutes(-Random.Next(0, 240)),
            };
            var metric = Metrics[Random.Next(Metrics.Length)];
            var properties = new Dictionary<string, string>
            {
                ["category"] = "s" + Categories[Random.Next(Categories.Length)],
                ["amount"] = "n" + Random.Next(1, 100).ToString(CultureInfo.InvariantCulture),
            };
            if (metric == "Placed Order")
            {
                properties["due"] = "s" + Day(now.AddDays(Random.Next(-3, 8)));
            }

            rows.AppendLine(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["tenant"] = Tenant,
                ["metric"] = metric,
                ["profile_id"] = Profile(Random.Next(limit)),
                ["ts"] = Time(ts),
                ["value"] = Random.Next(4) == 0 ? null : Random.Next(0, 50),
                ["properties"] = properties,
            }));
        }

        if (rows.Length > 0)
        {
            await engine.InsertJsonEachRowAsync(schema.Events, Encoding.UTF8.GetBytes(rows.ToString()), null);
        }

        rows.Clear();
        for (var i = 0; i < updates; i++)
        {
            var kind = Random.Next(10);
            var at = kind switch
            {
                0 => now.AddHours(-Random.Next(1, 24 * 10)),
                1 => now.AddHours(Random.Next(1, 30)),
                _ => now.AddMinutes(-Random.Next(0, 120)),
            };
            var properties = new Dictionary<string, string>();
            if (Random.Next(2) == 0)
            {
                properties["city"] = Random.Next(8) == 0 ? string.Empty : "s" + Cities[Random.Next(Cities.Length)];
            }

            if (Random.Next(3) == 0)
            {
                properties["signup"] = "s" + Time(now.AddHours(-Random.Next(0, 24 * 40))).Replace(' ', 'T') + "Z";
            }

            if (Random.Next(3) == 0)
            {
                properties["renewal"] = "s" + Day(now.AddDays(Random.Next(-2, 12)));
            }

            if (Random.Next(3) == 0)
            {
                properties["birthday"] = "s" + Day(new DateTime(1970 + Random.Next(40), 1, 1, 0, 0, 0, DateTimeKind.Utc).AddDays(Random.Next(365)));
            }

            if (Random.Next(3) == 0)
            {
                properties["score"] = "n" + Random.Next(0, 100).ToString(CultureInfo.InvariantCulture);
            }

            rows.AppendLine(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["tenant"] = Tenant,
                ["profile_id"] = Profile(Random.Next(limit)),
                ["updated_at"] = Time(at),
                ["properties"] = properties,
            }));
        }

        if (rows.Length > 0)
        {
            await engine.InsertJsonEachRowAsync(schema.ProfileUpdates, Encoding.UTF8.GetBytes(rows.ToString()), null);
        }

        if (Behavioural)
        {
            await IngestListChangesAsync(now, updates, limit);
        }
    }

    /// <summary>Saves <paramref name="count"/> random segments; later ones may reference earlier ones.</summary>
    public async Task SaveRandomSegmentsAsync(int count, DateTime now)
    {
        for (var i = 0; i < count; i++)
        {
            var definition = new SegmentDefinition($"Random segment {i}", null, RandomCondition(now, 0));
            var saved = await Segments.SaveAsync(Tenant, null, definition.Name, null, SegmentDefinitionJson.Write(definition), CancellationToken.None);
            SegmentIds.Add(saved.Id);
        }
    }

    /// <summary>A new random version of a segment that references nothing (so no cycle can appear).</summary>
    public async Task ReplaceAsync(string segmentId, DateTime now)
    {
        var before = SegmentIds.ToList();
        SegmentIds.Clear();
        var definition = new SegmentDefinition("Replaced", null, RandomCondition(now, 0));
        SegmentIds.AddRange(before);
        await Segments.SaveAsync(Tenant, segmentId, definition.Name, null, SegmentDefinitionJson.Write(definition), CancellationToken.None);
    }

    /// <summary>The full recompute: the compiled segment over the whole universe at <paramref name="now"/>.</summary>
    public async Task<SortedSet<string>> RecomputeAsync(string segmentId, DateTime now)
    {
        var validated = await ValidatedAsync(segmentId);
        var result = await engine.QueryAsync(SegmentCompiler.Compile(validated, schema, new CompileOptions(now)));
        return new SortedSet<string>(result.Rows.Select(r => (string)r[0]!), StringComparer.Ordinal);
    }

    public async Task<ValidatedDefinition> ValidatedAsync(string segmentId)
    {
        var live = (await Segments.ListAsync(Tenant, CancellationToken.None)).ToDictionary(s => s.Id, s => SegmentDefinitionJson.Parse(s.DefinitionJson).Definition!);
        var references = new Dictionary<string, SegmentDefinition>();
        var pending = new Stack<SegmentDefinition>([live[segmentId]]);
        while (pending.TryPop(out var current))
        {
            foreach (var id in References(current.Condition))
            {
                if (references.TryAdd(id, live[id]))
                {
                    pending.Push(live[id]);
                }
            }
        }

        return ValidatedDefinition.Unchecked(Tenant, live[segmentId], references);
    }

    public async Task<SortedSet<string>> StoredMembersAsync(string segmentId)
    {
        var members = new SortedSet<string>(StringComparer.Ordinal);
        string? after = null;
        while (true)
        {
            var page = await Membership.MembersAsync(Tenant, segmentId, after, 1000, CancellationToken.None);
            members.UnionWith(page);
            if (page.Count < 1000)
            {
                return members;
            }

            after = page[^1];
        }
    }

    /// <summary>
    /// The segment's log replayed entry by entry from its first evaluation; every entry must be a transition (an entry
    /// for a member or an exit for a non-member fails).
    /// </summary>
    public async Task<SortedSet<string>> ReplayedLogAsync(string segmentId)
    {
        var replay = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var change in await ChangesAsync(segmentId))
        {
            Xunit.Assert.True(change.Entered ? replay.Add(change.ProfileId) : replay.Remove(change.ProfileId), $"{segmentId}: {change} does not follow the previous entry");
        }

        return replay;
    }

    public async Task<List<MembershipChange>> ChangesAsync(string segmentId, DateTime? since = null, DateTime? until = null)
    {
        var all = new List<MembershipChange>();
        (DateTime, string)? after = null;
        while (true)
        {
            var page = await Membership.ChangesAsync(Tenant, segmentId, since, until, after, 500, CancellationToken.None);
            all.AddRange(page);
            if (page.Count < 500)
            {
                return all;
            }

            after = (page[^1].At, page[^1].ProfileId);
        }
    }

    private static IEnumerable<string> References(Condition condition) => condition switch
    {
        AllCondition all => all.Items.SelectMany(References),
        AnyCondition any => any.Items.SelectMany(References),
        NotCondition not => References(not.Inner),
        SegmentReferenceCondition r => [r.SegmentId],
        _ => [],
    };

    private Condition RandomCondition(DateTime now, int depth)
    {
        if (Behavioural && Random.Next(3) == 0)
        {
            return RandomBehavioural();
        }

        var roll = Random.Next(depth >= 2 ? 6 : 10);
        return roll switch
        {
            0 or 1 or 2 => RandomEvent(now),
            3 or 4 => RandomProperty(),
            5 when SegmentIds.Count > 0 => new SegmentReferenceCondition(SegmentIds[Random.Next(SegmentIds.Count)], Random.Next(3) > 0),
            5 => RandomEvent(now),
            6 => new NotCondition(RandomCondition(now, depth + 1)),
            7 => new AnyCondition([RandomCondition(now, depth + 1), RandomCondition(now, depth + 1)]),
            _ => new AllCondition([RandomCondition(now, depth + 1), RandomCondition(now, depth + 1)]),
        };
    }

    private EventCondition RandomEvent(DateTime now)
    {
        var metric = Metrics[Random.Next(Metrics.Length)];
        Window? window = Random.Next(9) switch
        {
            0 => null,
            1 => new LastDaysWindow(Random.Next(1, 10)),
            2 => new LastHoursWindow(Random.Next(1, 48)),
            3 => new BetweenDaysAgoWindow(Random.Next(0, 3), Random.Next(3, 8)),
            4 => new SinceWindow(now.AddDays(Random.Next(-10, 10))),
            5 => new BeforeWindow(now.AddDays(Random.Next(-5, 15))),
            6 => new FromToWindow(now.AddDays(-Random.Next(2, 10)), now.AddDays(Random.Next(-1, 10))),
            7 => Random.Next(3) switch
            {
                0 => new LastDaysWindow(Random.Next(1, 4)),
                1 => new ThisPeriodWindow((CalendarUnit)Random.Next(3), TimeZones[Random.Next(TimeZones.Length)]),
                _ => new PreviousPeriodsWindow((CalendarUnit)Random.Next(3), Random.Next(1, 3), TimeZones[Random.Next(TimeZones.Length)]),
            },
            _ => new LastHoursWindow(Random.Next(1, 12)),
        };
        var where = new List<PropertyFilter>();
        if (Random.Next(4) == 0)
        {
            where.Add(new PropertyFilter("category", FilterOperator.Eq, [new StringScalar(Categories[Random.Next(Categories.Length)])]));
        }

        if (metric == "Placed Order" && Random.Next(3) == 0)
        {
            where.Add(new PropertyFilter("due", FilterOperator.InNextDays, [new NumberScalar(Random.Next(0, 4))]));
        }

        return Random.Next(6) switch
        {
            0 => new EventCondition(metric, where, window, Measure.Count, Comparison.Eq, 0),
            1 => new EventCondition(metric, where, window, Measure.Count, Comparison.Gte, 2),
            2 => new EventCondition(metric, where, window, new Measure(MeasureKind.Sum, "$value"), Comparison.Gt, Random.Next(10, 60)),
            3 => new EventCondition(metric, where, window, new Measure(MeasureKind.Sum, "amount"), Comparison.Lte, Random.Next(20, 120)),
            _ => new EventCondition(metric, where, window, Measure.Count, Comparison.Gte, 1),
        };
    }

    private PropertyCondition RandomProperty() => new(Random.Next(9) switch
    {
        0 => new PropertyFilter("city", FilterOperator.Eq, [new StringScalar(Cities[Random.Next(Cities.Length)])]),
        1 => new PropertyFilter("city", FilterOperator.IsNotSet, []),
        2 => new PropertyFilter("signup", FilterOperator.InLastDays, [new NumberScalar(Random.Next(1, 10))]),
        3 => new PropertyFilter("signup", FilterOperator.MoreThanDaysAgo, [new NumberScalar(Random.Next(1, 20))]),
        4 => new PropertyFilter("renewal", FilterOperator.InNextDays, [new NumberScalar(Random.Next(1, 6))]),
        5 => new PropertyFilter("birthday", FilterOperator.AnniversaryInNextDays, [new NumberScalar(Random.Next(0, 30))], TimeZone: TimeZones[Random.Next(TimeZones.Length)]),
        6 => new PropertyFilter("score", FilterOperator.Gt, [new NumberScalar(Random.Next(10, 90))]),
        7 => Random.Next(2) == 0
            ? new PropertyFilter("city", FilterOperator.Neq, [new StringScalar("Paris")])
            : new PropertyFilter("city", FilterOperator.In, [new StringScalar(Cities[Random.Next(Cities.Length)].ToUpperInvariant())], IgnoreCase: true),
        _ => new PropertyFilter("score", FilterOperator.IsSet, []),
    });

    public static string Time(DateTime t) => t.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture);

    private static string Day(DateTime t) => t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
