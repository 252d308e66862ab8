using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using SegmentMcp.Core.Ingest;

namespace SegmentMcp.Core.Demo;

/// <summary>What the demo tenant looks like.</summary>
public sealed record DemoOptions
{
    public int Profiles { get; init; } = 50_000;

    public string Company { get; init; } = "demo";

    public long Seed { get; init; } = 42;

    /// <summary>The end of the 400 days of history (default: now). Fix it to reproduce a dataset byte for byte.</summary>
    public DateTimeOffset? ReferenceTime { get; init; }

    public int Days { get; init; } = 400;
}

/// <summary>
/// A deterministic e-commerce shop as NDJSON in the ingest format: profiles with contact and demographic properties,
/// and their events (email campaigns, browsing sessions, carts, checkouts, orders) over the last 400 days.
/// </summary>
/// <remarks>
/// Every profile is simulated from its own seeded generator, so the event and profile streams can be produced
/// separately (the profile stream re-simulates a profile's orders to know its lifetime value) and each is streamed
/// with constant memory whatever the number of profiles. The shapes are meant to be realistic enough for segments to
/// find something: activity follows a power law, opens are a subset of received emails and clicks of opens, carts
/// follow product views, checkouts follow carts and orders follow checkouts; some profiles churn, a few upgrade their
/// plan, unsubscribe (and stop receiving email) or have a coupon removed (a null property).
/// </remarks>
public sealed class DemoGenerator
{
    private const long TicksPerDay = TimeSpan.TicksPerDay;
    private const int CampaignEveryDays = 14;

    private readonly DemoOptions options;
    private readonly long endTicks;
    private readonly long startTicks;
    private readonly byte[] company;

    public DemoGenerator(DemoOptions options)
    {
        if (options.Profiles < 1)
        {
            throw new ArgumentException("--profiles must be at least 1.", nameof(options));
        }

        this.options = options;
        var reference = (options.ReferenceTime ?? DateTimeOffset.UtcNow).UtcTicks;
        endTicks = reference - (reference % TimeSpan.TicksPerMillisecond);
        startTicks = endTicks - (options.Days * TicksPerDay);
        company = Encoding.UTF8.GetBytes(System.Text.Json.JsonEncodedText.Encode(options.Company).ToString());
    }

    public DemoOptions Options => options;

    public DateTimeOffset ReferenceTime => new(endTicks, TimeSpan.Zero);

    /// <summary>The events as NDJSON, generated while the returned stream is read.</summary>
    public Stream OpenEvents() => Produce(WriteEvents);

    /// <summary>The profile records as NDJSON, generated while the returned stream is read.</summary>
    public Stream OpenProfiles() => Produce(WriteProfiles);

    /// <summary>Writes the events of profiles [<paramref name="from"/>, <paramref name="to"/>) (for tests and benchmarks).</summary>
    internal void WriteEvents(int from, int to, RowBuffer output, Action<RowBuffer> flush)
    {
        var events = new List<DemoEvent>(256);
        for (var i = from; i < to; i++)
        {
            var person = CreatePerson(i);
            Simulate(person, events);
            foreach (var e in events)
            {
                WriteEvent(person, e, output);
            }

            if (output.Length >= 128 * 1024)
            {
                flush(output);
            }
        }

        flush(output);
    }

    internal void WriteProfiles(int from, int to, RowBuffer output, Action<RowBuffer> flush)
    {
        var events = new List<DemoEvent>(256);
        for (var i = from; i < to; i++)
        {
            var person = CreatePerson(i);
            Simulate(person, events);
            WriteProfile(person, events, output);
            if (output.Length >= 128 * 1024)
            {
                flush(output);
            }
        }

        flush(output);
    }

    private void WriteEvents(RowBuffer output, Action<RowBuffer> flush) => WriteEvents(0, options.Profiles, output, flush);

    private void WriteProfiles(RowBuffer output, Action<RowBuffer> flush) => WriteProfiles(0, options.Profiles, output, flush);

    /// <summary>Runs <paramref name="write"/> on a worker feeding a pipe, so generating overlaps with parsing.</summary>
    private static Stream Produce(Action<RowBuffer, Action<RowBuffer>> write)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 4 * 1024 * 1024, resumeWriterThreshold: 2 * 1024 * 1024, useSynchronizationContext: false));
        _ = Task.Factory.StartNew(
            () =>
            {
                try
                {
                    write(new RowBuffer(256 * 1024), chunk =>
                    {
                        var result = pipe.Writer.WriteAsync(chunk.Written).AsTask().GetAwaiter().GetResult();
                        chunk.Clear();
                        if (result.IsCompleted)
                        {
                            throw new OperationCanceledException("The reader stopped reading the demo data.");
                        }
                    });
                    pipe.Writer.Complete();
                }
                catch (Exception exception)
                {
                    pipe.Writer.Complete(exception is OperationCanceledException ? null : exception);
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        return pipe.Reader.AsStream();
    }

    private Person CreatePerson(int index)
    {
        var random = DemoRandom.For(options.Seed, index, 1);
        var first = random.Pick(DemoCatalog.FirstNames);
        var last = random.Pick(DemoCatalog.LastNames);
        var (city, country) = random.Pick(DemoCatalog.Places);
        var plan = random.Pick(DemoCatalog.Plans);

        // Signups skew recent (a growing shop); about a third predate the 400-day window.
        var signup = endTicks - (long)(Math.Pow(random.NextDouble(), 1.4) * 1100 * TicksPerDay) - random.Next(86_400) * TimeSpan.TicksPerSecond;

        // Birthdays 1950–2007, most customers born in the 70s to 90s (a sum of uniforms is bell-shaped).
        var birthYear = 1950 + (int)((random.NextDouble() + random.NextDouble() + random.NextDouble()) / 3 * 58);
        var birthday = new DateOnly(birthYear, 1, 1).AddDays(random.Next(365));
        var engagement = Math.Min(40, random.Pareto(1.5));
        var accepts = random.Chance(0.72);
        var activeFrom = Math.Max(signup, startTicks);
        var activeTo = random.Chance(0.3) ? activeFrom + (long)(random.NextDouble() * (endTicks - activeFrom)) : endTicks;
        var unsubscribed = accepts && random.Chance(0.05) ? activeFrom + (long)(random.NextDouble() * (endTicks - activeFrom)) : long.MaxValue;
        var upgraded = plan != "premium" && random.Chance(0.06) ? activeFrom + (long)(random.NextDouble() * (endTicks - activeFrom)) : long.MaxValue;
        return new Person(
            index,
            first,
            last,
            random.Pick(DemoCatalog.EmailDomains),
            city,
            country,
            plan,
            signup,
            birthday,
            accepts,
            engagement,
            random.Next(DemoCatalog.Categories.Length),
            activeFrom,
            activeTo,
            unsubscribed,
            upgraded,
            random.Chance(0.1));
    }

    /// <summary>Fills <paramref name="events"/> with the profile's history, oldest first.</summary>
    private void Simulate(in Person person, List<DemoEvent> events)
    {
        events.Clear();
        var random = DemoRandom.For(options.Seed, person.Index, 2);
        var premium = person.Plan == "premium";

        // Campaigns go out every two weeks at 15:00 UTC to everyone who accepts marketing at the time.
        if (person.AcceptsMarketing)
        {
            var openRate = Math.Min(0.85, 0.1 + (0.06 * person.Engagement));
            var clickRate = Math.Min(0.6, 0.12 + (0.03 * person.Engagement));
            for (var sent = startTicks + (2 * TicksPerDay) + (15 * TimeSpan.TicksPerHour); sent < endTicks; sent += CampaignEveryDays * TicksPerDay)
            {
                if (sent < person.ActiveFrom || sent >= Math.Min(person.ActiveTo, person.Unsubscribed))
                {
                    continue;
                }

                var campaign = (int)((sent - startTicks) / (CampaignEveryDays * TicksPerDay));
                var received = sent + (random.Next(1800) * TimeSpan.TicksPerSecond);
                events.Add(new DemoEvent(received, Metric.ReceivedEmail, campaign));
                if (!random.Chance(openRate))
                {
                    continue;
                }

                var opened = received + (long)(random.Exponential(6) * TimeSpan.TicksPerHour);
                if (opened >= endTicks)
                {
                    continue;
                }

                events.Add(new DemoEvent(opened, Metric.OpenedEmail, campaign));
                if (random.Chance(clickRate))
                {
                    var clicked = opened + (long)(random.Exponential(120) * TimeSpan.TicksPerSecond);
                    if (clicked < endTicks)
                    {
                        events.Add(new DemoEvent(clicked, Metric.ClickedEmail, campaign));
                        Session(ref random, person, premium, clicked + TimeSpan.TicksPerMinute, events);
                    }
                }
            }
        }

        // Visits on their own: a Poisson process whose rate follows the profile's engagement.
        var meanGapDays = 95 / person.Engagement;
        for (var t = person.ActiveFrom + (long)(random.Exponential(meanGapDays) * TicksPerDay); t < person.ActiveTo; t += (long)(random.Exponential(meanGapDays) * TicksPerDay))
        {
            Session(ref random, person, premium, t, events);
        }

        events.RemoveAll(e => e.Ticks >= endTicks);
        events.Sort(static (a, b) => a.Ticks.CompareTo(b.Ticks));
    }

    /// <summary>One visit: active, a few product views, and maybe the cart → checkout → order funnel.</summary>
    private static void Session(ref DemoRandom random, in Person person, bool premium, long t, List<DemoEvent> events)
    {
        events.Add(new DemoEvent(t, Metric.ActiveOnSite, 0));
        var views = 1;
        while (views < 12 && random.Chance(0.5))
        {
            views++;
        }

        DemoEvent last = default;
        for (var v = 0; v < views; v++)
        {
            t += (long)((5 + random.Exponential(70)) * TimeSpan.TicksPerSecond);
            var category = random.Chance(0.6) ? person.FavoriteCategory : random.Next(DemoCatalog.Categories.Length);
            var price = Math.Round(random.LogNormal(DemoCatalog.Categories[category].MedianPrice, 0.45), 2);
            last = new DemoEvent(t, Metric.ViewedProduct, (category * 1000) + random.Next(250), category, price, 1);
            events.Add(last);
        }

        if (!random.Chance(0.2 + (0.01 * Math.Min(person.Engagement, 10))))
        {
            return;
        }

        var quantity = random.Chance(0.8) ? 1 : 2 + random.Next(3);
        var total = Math.Round(last.Value * quantity, 2);
        t += (long)((10 + random.Exponential(60)) * TimeSpan.TicksPerSecond);
        events.Add(last with { Ticks = t, Metric = Metric.AddedToCart, Value = total, Items = quantity });
        if (!random.Chance(0.55))
        {
            return;
        }

        t += (long)((30 + random.Exponential(120)) * TimeSpan.TicksPerSecond);
        events.Add(last with { Ticks = t, Metric = Metric.StartedCheckout, Value = total, Items = quantity });
        if (random.Chance(premium ? 0.82 : 0.7))
        {
            t += (long)((20 + random.Exponential(180)) * TimeSpan.TicksPerSecond);
            events.Add(last with { Ticks = t, Metric = Metric.PlacedOrder, Value = total, Items = quantity });
        }
    }

    private void WriteEvent(in Person person, in DemoEvent e, RowBuffer output)
    {
        WriteHead(person, output);
        output.Write(",\"metric\":\""u8);
        output.Write(e.Metric switch
        {
            Metric.ReceivedEmail => "Received Email"u8,
            Metric.OpenedEmail => "Opened Email"u8,
            Metric.ClickedEmail => "Clicked Email"u8,
            Metric.ViewedProduct => "Viewed Product"u8,
            Metric.AddedToCart => "Added to Cart"u8,
            Metric.StartedCheckout => "Started Checkout"u8,
            Metric.PlacedOrder => "Placed Order"u8,
            _ => "Active on Site"u8,
        });
        output.Write("\",\"timestamp\":\""u8);
        WriteTimestamp(e.Ticks, output);
        output.Write((byte)'"');
        switch (e.Metric)
        {
            case Metric.ReceivedEmail or Metric.OpenedEmail or Metric.ClickedEmail:
                output.Write(",\"properties\":{\"campaign\":\"c"u8);
                WriteNumber(e.Reference, output);
                output.Write("\",\"subject\":\""u8);
                output.Write(Subjects[e.Reference % Subjects.Length]);
                output.Write("\"}"u8);
                break;
            case Metric.ViewedProduct or Metric.AddedToCart or Metric.StartedCheckout or Metric.PlacedOrder:
                output.Write(",\"value\":"u8);
                WriteNumber(e.Value, output);
                output.Write(",\"properties\":{\"category\":\""u8);
                output.Write(CategoryNames[e.Category]);
                output.Write("\",\"product_id\":\"sku-"u8);
                WriteNumber(e.Reference, output);
                output.Write("\",\"items\":"u8);
                WriteNumber(e.Items, output);
                output.Write((byte)'}');
                break;
            default:
                break;
        }

        output.Write("}\n"u8);
    }

    private void WriteProfile(in Person person, List<DemoEvent> events, RowBuffer output)
    {
        var reference = DateOnly.FromDateTime(new DateTime(endTicks, DateTimeKind.Utc));
        var age = reference.Year - person.Birthday.Year - (reference < person.Birthday.AddYears(reference.Year - person.Birthday.Year) ? 1 : 0);
        WriteHead(person, output);
        output.Write(",\"updated_at\":\""u8);
        WriteTimestamp(person.Signup, output);
        output.Write("\",\"properties\":{\"email\":\""u8);
        WriteText($"{person.FirstName}.{person.LastName}{person.Index}@{person.EmailDomain}".ToLowerInvariant(), output);
        output.Write("\",\"first_name\":\""u8);
        WriteText(person.FirstName, output);
        output.Write("\",\"city\":\""u8);
        WriteText(person.City, output);
        output.Write("\",\"country\":\""u8);
        WriteText(person.Country, output);
        output.Write("\",\"plan\":\""u8);
        WriteText(person.Plan, output);
        output.Write("\",\"signup_date\":\""u8);
        WriteText(new DateTime(person.Signup, DateTimeKind.Utc).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), output);
        output.Write("\",\"birthday\":\""u8);
        WriteText(person.Birthday.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), output);
        output.Write("\",\"age\":"u8);
        WriteNumber(age, output);
        output.Write(",\"accepts_marketing\":"u8);
        output.Write(person.AcceptsMarketing ? "true"u8 : "false"u8);
        output.Write(",\"lifetime_value\":0"u8);
        if (person.HasCoupon)
        {
            output.Write(",\"coupon_code\":\"WELCOME10\""u8);
        }

        output.Write("}}\n"u8);

        // Later changes, each a record of its own at the time it happened.
        if (person.Upgraded < endTicks)
        {
            WriteChange(person, person.Upgraded, "\"plan\":\"premium\""u8, output);
        }

        if (person.Unsubscribed < endTicks)
        {
            WriteChange(person, person.Unsubscribed, "\"accepts_marketing\":false"u8, output);
        }

        var lifetimeValue = 0.0;
        var lastOrder = 0L;
        foreach (var e in events)
        {
            if (e.Metric == Metric.PlacedOrder)
            {
                lifetimeValue += e.Value;
                lastOrder = e.Ticks;
            }
        }

        if (lastOrder > 0)
        {
            // The shop recomputes lifetime value after each order; the demo keeps the last such update, and a
            // welcome coupon is used up (removed) by the first order.
            var change = new RowBuffer(64);
            change.Write("\"lifetime_value\":"u8);
            WriteNumber(Math.Round(lifetimeValue, 2), change);
            if (person.HasCoupon)
            {
                change.Write(",\"coupon_code\":null"u8);
            }

            WriteChange(person, lastOrder, change.Written.Span, output);
        }
    }

    private void WriteChange(in Person person, long ticks, ReadOnlySpan<byte> properties, RowBuffer output)
    {
        WriteHead(person, output);
        output.Write(",\"updated_at\":\""u8);
        WriteTimestamp(ticks, output);
        output.Write("\",\"properties\":{"u8);
        output.Write(properties);
        output.Write("}}\n"u8);
    }

    private void WriteHead(in Person person, RowBuffer output)
    {
        output.Write("{\"company_id\":\""u8);
        output.Write(company);
        output.Write("\",\"profile_id\":\"u"u8);
        WriteNumber(person.Index, output);
        output.Write((byte)'"');
    }

    private static void WriteTimestamp(long ticks, RowBuffer output)
    {
        // ISO-8601 with a T and a Z, as producers send it.
        var span = output.GetSpan(Iso8601.FormattedLength + 1);
        Iso8601.Format(ticks, span);
        span[10] = (byte)'T';
        span[Iso8601.FormattedLength] = (byte)'Z';
        output.Advance(Iso8601.FormattedLength + 1);
    }

    private static void WriteNumber(long value, RowBuffer output)
    {
        value.TryFormat(output.GetSpan(20), out var written, default, CultureInfo.InvariantCulture);
        output.Advance(written);
    }

    private static void WriteNumber(double value, RowBuffer output)
    {
        value.TryFormat(output.GetSpan(32), out var written, "0.##", CultureInfo.InvariantCulture);
        output.Advance(written);
    }

    /// <summary>Catalog text holds no quotes, backslashes or control characters, so its UTF-8 is already valid JSON.</summary>
    private static void WriteText(string text, RowBuffer output)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    private static readonly byte[][] CategoryNames = [.. DemoCatalog.Categories.Select(c => Encoding.UTF8.GetBytes(c.Name))];

    private static readonly byte[][] Subjects =
    [
        .. new[]
        {
            "New arrivals are here", "Our summer sale starts now", "You left something behind", "Just for you: 15% off",
            "Free shipping this weekend", "Top picks of the week", "Last chance: sale ends tonight",
        }.Select(Encoding.UTF8.GetBytes),
    ];

    private enum Metric : byte
    {
        ReceivedEmail,
        OpenedEmail,
        ClickedEmail,
        ViewedProduct,
        AddedToCart,
        StartedCheckout,
        PlacedOrder,
        ActiveOnSite,
    }

    private readonly record struct DemoEvent(long Ticks, Metric Metric, int Reference, int Category = 0, double Value = 0, int Items = 0);

    private readonly record struct Person(
        int Index,
        string FirstName,
        string LastName,
        string EmailDomain,
        string City,
        string Country,
        string Plan,
        long Signup,
        DateOnly Birthday,
        bool AcceptsMarketing,
        double Engagement,
        int FavoriteCategory,
        long ActiveFrom,
        long ActiveTo,
        long Unsubscribed,
        long Upgraded,
        bool HasCoupon);
}
