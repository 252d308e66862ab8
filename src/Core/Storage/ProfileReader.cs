using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>One event of a profile, its properties decoded to JSON values.</summary>
public sealed record ProfileEvent(string Metric, DateTime Timestamp, double? Value, IReadOnlyDictionary<string, object?> Properties);

/// <summary>
/// A property value that a text someone gave as a profile id is (an email address, say): how many profiles ever had it
/// and, when only a few did, those that have it now (<see cref="ProfileReader.FewHolders"/> or fewer, in id order;
/// empty when more had it, as a city has).
/// </summary>
public sealed record PropertyValueMatch(string Property, string Value, long ProfilesEver, IReadOnlyList<string> Holders);

/// <summary>
/// A profile as of a time: its current properties, its latest events (of one metric when asked) and, per metric, how
/// many events it has and the first and last.
/// </summary>
public sealed record ProfileSnapshot(
    string ProfileId, bool Exists, IReadOnlyDictionary<string, object?> Properties, IReadOnlyList<ProfileEvent> RecentEvents, IReadOnlyList<MetricActivity> Activity);

/// <summary>A profile's events of one metric up to a time: how many, the first and the last.</summary>
public sealed record MetricActivity(string Metric, long Events, DateTime First, DateTime Last);

/// <summary>
/// What a condition saw of one profile's events of a metric in a time range: all of them, then those passing its where
/// filters (Matching, their first and last) and its measure over those (null where the measure of none is).
/// </summary>
public sealed record EventEvidence(
    long Events, DateTime? First, DateTime? Last, double? SumOfValues, long Matching, DateTime? FirstMatching, DateTime? LastMatching, double? Measured);

/// <summary>
/// Reads one profile: point lookups by (tenant, profile_id) — profile_updates and the universe are keyed by it, events
/// by (tenant, metric, profile_id) so the lookup skips to the profile within every metric's range.
/// </summary>
public sealed class ProfileReader(IClickHouseEngine engine, StorageSchema schema)
{
    private const string Time3 = ClickHouseTime.Milliseconds;
    private readonly SqlFragment events = Sql.Table(schema.Events);

    /// <summary>
    /// The profile as of <paramref name="asOf"/> (default now): properties, the latest <paramref name="recentEvents"/>
    /// events (only <paramref name="metric"/>'s when given) and the activity of every metric.
    /// </summary>
    public async Task<ProfileSnapshot> ReadAsync(string tenant, string profileId, int recentEvents, DateTime? asOf, CancellationToken cancellationToken, string? metric = null)
    {
        var profile = new ProfileKey(tenant, profileId, asOf ?? DateTime.UtcNow);
        var exists = await ExistsAsync(tenant, profileId, cancellationToken).ConfigureAwait(false);
        var properties = await PropertiesAsync(profile, cancellationToken).ConfigureAwait(false);
        var recent = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT metric, ts, value, properties FROM {events}
                WHERE {profile.Tenant}{(metric is null ? Sql.Empty : Sql.Of($" AND metric = {Sql.Param("String", metric)}"))} AND {profile.Profile} AND ts <= {profile.Now}
                ORDER BY ts DESC, metric LIMIT {Sql.Param("UInt32", (long)recentEvents)}
                """),
            row => new ProfileEvent(row.GetString(0), row.GetDateTime(1), row.GetNullableDouble(2), Decode(row.GetStringMap(3))),
            cancellationToken).ConfigureAwait(false);

        // Every metric's count and span, latest first: the same key ranges the latest events were read from.
        var activity = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT metric, count(), min(ts), max(ts) AS last FROM {events}
                WHERE {profile.Tenant} AND {profile.Profile} AND ts <= {profile.Now}
                GROUP BY metric ORDER BY last DESC, metric
                """),
            row => new MetricActivity(row.GetString(0), row.GetInt64(1), row.GetDateTime(2), row.GetDateTime(3)),
            cancellationToken).ConfigureAwait(false);
        return new ProfileSnapshot(profileId, exists, properties, recent, activity);
    }

    /// <summary>Whether any event or profile record of the tenant has this profile id (a point lookup in the universe).</summary>
    public async Task<bool> ExistsAsync(string tenant, string profileId, CancellationToken cancellationToken)
    {
        var profile = new ProfileKey(tenant, profileId, DateTime.UtcNow);
        return await engine.QueryScalarAsync<long>(
            Sql.Of($"SELECT count() FROM {Sql.Table(schema.Profiles)} WHERE {profile.Tenant} AND {profile.Profile}"),
            cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <summary>
    /// Existing ids that differ from <paramref name="profileId"/> only in case or surrounding white space ("U10" for
    /// "u10"): the usual slips when a person or a model retypes an id. One point lookup of a few variants.
    /// </summary>
    public async Task<IReadOnlyList<string>> SimilarIdsAsync(string tenant, string profileId, CancellationToken cancellationToken)
    {
        var candidates = Variants(profileId).Where(v => v.Length > 0 && v != profileId).Distinct(StringComparer.Ordinal).ToArray();
        return candidates.Length == 0
            ? []
            : await engine.QueryAsync(
                Sql.Of($"SELECT DISTINCT profile_id FROM {Sql.Table(schema.Profiles)} WHERE tenant = {Sql.Param("String", tenant)} AND profile_id IN {Sql.Param("Array(String)", candidates)} ORDER BY profile_id"),
                row => row.GetString(0),
                cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Profiles named per property value by <see cref="PropertyValueMatchesAsync"/>: an identity's holders, not a crowd's.</summary>
    public const int FewHolders = 5;

    /// <summary>
    /// The profile property values equal to <paramref name="text"/> (or to its case and white space variants), most
    /// specific first: what a person or a model means by an "id" that is no profile's, such as an email address.
    /// </summary>
    /// <remarks>
    /// One read of the trait history's value projection (tenant, property, value) for every property at once, grouped
    /// so no statement ends early with a LIMIT (see <see cref="SchemaDescriber.AbsentValuesAsync"/> on clusters); the
    /// history says who ever had a value, so the few holders are then checked against their current values.
    /// </remarks>
    public async Task<IReadOnlyList<PropertyValueMatch>> PropertyValueMatchesAsync(string tenant, string text, DateTime now, CancellationToken cancellationToken)
    {
        var variants = Variants(text).Prepend(text).Where(v => v.Length > 0).Distinct(StringComparer.Ordinal).Select(v => "s" + v).ToArray();
        if (variants.Length == 0)
        {
            return [];
        }

        var rows = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT property, substring(value, 2) AS text, uniqExact(profile_id) AS profiles, groupUniqArray({Sql.Param("UInt32", (long)FewHolders + 1)})(profile_id) AS sample
                FROM {Sql.Table(schema.Traits)}
                WHERE tenant = {Sql.Param("String", tenant)} AND value IN {Sql.Param("Array(String)", variants)} AND updated_at <= {Sql.Param(Time3, now)}
                GROUP BY property, text
                ORDER BY profiles, property, text
                """),
            row => (Property: row.GetString(0), Value: row.GetString(1), Profiles: row.GetInt64(2), Sample: row.GetStrings(3)),
            cancellationToken).ConfigureAwait(false);
        var matches = new List<PropertyValueMatch>();
        foreach (var row in rows.Take(3))
        {
            IReadOnlyList<string> holders = [];
            if (row.Profiles <= FewHolders)
            {
                var current = await PropertiesOfAsync(tenant, row.Sample, [row.Property], now, cancellationToken).ConfigureAwait(false);
                holders = [.. row.Sample.Where(id => current.TryGetValue(id, out var values) && values.TryGetValue(row.Property, out var value) && value is string held && held == row.Value).Order(StringComparer.Ordinal)];
                if (holders.Count == 0)
                {
                    continue;
                }
            }

            matches.Add(new PropertyValueMatch(row.Property, row.Value, row.Profiles, holders));
        }

        return matches;
    }

    /// <summary>A retyped text's usual slips undone: surrounding white space, then all lower, all upper or capitalised.</summary>
    private static string[] Variants(string text)
    {
        var trimmed = text.Trim();
        return [trimmed, trimmed.ToLowerInvariant(), trimmed.ToUpperInvariant(), trimmed.Length == 0 ? trimmed : char.ToUpperInvariant(trimmed[0]) + trimmed[1..].ToLowerInvariant()];
    }

    /// <summary>Those of <paramref name="profileIds"/> that no event or profile record of the tenant has, in the given order.</summary>
    public async Task<IReadOnlyList<string>> WithoutDataAsync(string tenant, IReadOnlyCollection<string> profileIds, CancellationToken cancellationToken)
    {
        if (profileIds.Count == 0)
        {
            return [];
        }

        var known = await engine.QueryAsync(
            Sql.Of($"SELECT DISTINCT profile_id FROM {Sql.Table(schema.Profiles)} WHERE tenant = {Sql.Param("String", tenant)} AND profile_id IN {Sql.Param("Array(String)", profileIds.Distinct(StringComparer.Ordinal).ToArray())}"),
            row => row.GetString(0),
            cancellationToken).ConfigureAwait(false);
        var found = known.ToHashSet(StringComparer.Ordinal);
        return [.. profileIds.Where(id => !found.Contains(id)).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>The profile's property values at <paramref name="asOf"/> (the latest update of each; removed ones left out).</summary>
    public Task<IReadOnlyDictionary<string, object?>> PropertiesAsync(string tenant, string profileId, DateTime asOf, CancellationToken cancellationToken) =>
        PropertiesAsync(new ProfileKey(tenant, profileId, asOf), cancellationToken);

    /// <summary>
    /// The values of <paramref name="names"/> at <paramref name="asOf"/> for each of <paramref name="profileIds"/> that
    /// has any (the latest update of each; removed ones left out), in one statement: an export's page of members reads
    /// their rows of the profile updates by the table's (tenant, profile_id) key.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyDictionary<string, object?>>> PropertiesOfAsync(
        string tenant, IReadOnlyCollection<string> profileIds, IReadOnlyCollection<string> names, DateTime asOf, CancellationToken cancellationToken)
    {
        if (profileIds.Count == 0 || names.Count == 0)
        {
            return new Dictionary<string, IReadOnlyDictionary<string, object?>>(StringComparer.Ordinal);
        }

        var rows = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT profile_id, kv.1 AS name, argMax(kv.2, (updated_at, ingested_at)) AS v
                FROM (
                    SELECT profile_id, updated_at, ingested_at, properties FROM {Sql.Table(schema.ProfileUpdates)}
                    WHERE tenant = {Sql.Param("String", tenant)} AND profile_id IN {Sql.Param("Array(String)", profileIds.ToArray())} AND updated_at <= {Sql.Param(Time3, asOf)})
                ARRAY JOIN CAST(properties, 'Array(Tuple(String, String))') AS kv
                WHERE kv.1 IN {Sql.Param("Array(String)", names.ToArray())}
                GROUP BY profile_id, name HAVING v != ''
                """),
            row => (Profile: row.GetString(0), Name: row.GetString(1), Value: TaggedValue.Decode(row.GetString(2))),
            cancellationToken).ConfigureAwait(false);
        return rows.GroupBy(row => row.Profile, StringComparer.Ordinal).ToDictionary(
            profile => profile.Key,
            profile => (IReadOnlyDictionary<string, object?>)profile.ToDictionary(row => row.Name, row => row.Value, StringComparer.Ordinal),
            StringComparer.Ordinal);
    }

    /// <summary>
    /// The profile's events of the selection's metric in its range up to <paramref name="now"/>, and of those the
    /// ones passing its where filters with <paramref name="measure"/> (default a count) over them.
    /// </summary>
    public async Task<EventEvidence> EventsAsync(
        string tenant, string profileId, EventSelection selection, DateTime now, CancellationToken cancellationToken, Measure? measure = null)
    {
        var result = await engine.QueryAsync(ProfileEventsQuery.Summary(schema, tenant, profileId, selection, measure ?? Measure.Count, now), cancellationToken).ConfigureAwait(false);
        return result.ReadSingle(row => new EventEvidence(
                row.GetInt64(0),
                row.GetNullableDateTime(1),
                row.GetNullableDateTime(2),
                row.GetNullableDouble(3),
                row.GetInt64(4),
                row.GetNullableDateTime(5),
                row.GetNullableDateTime(6),
                row.GetNullableDouble(7)));
    }

    /// <summary>
    /// The times of the profile's events passing the selection (its where filters included) up to
    /// <paramref name="now"/>, oldest first, at most <paramref name="limit"/>: one profile's, for evidence.
    /// </summary>
    public Task<IReadOnlyList<DateTime>> MatchingEventTimesAsync(
        string tenant, string profileId, EventSelection selection, DateTime now, int limit, CancellationToken cancellationToken) =>
        engine.QueryAsync(ProfileEventsQuery.MatchingTimes(schema, tenant, profileId, selection, now, limit), row => row.GetDateTime(0), cancellationToken);

    /// <summary>
    /// The profile's latest event of <paramref name="metric"/> up to <paramref name="now"/> (ties to the later ingested)
    /// and its value of <paramref name="property"/> ("$value": the event's number), or null without one.
    /// </summary>
    public async Task<(DateTime At, object? Value)?> LastEventAsync(
        string tenant, string profileId, string metric, string property, DateTime now, CancellationToken cancellationToken)
    {
        var profile = new ProfileKey(tenant, profileId, now);
        var rows = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT ts, value, properties[{Sql.Param("String", property)}] FROM {events}
                WHERE {profile.Tenant} AND metric = {Sql.Param("String", metric)} AND {profile.Profile} AND ts <= {profile.Now}
                ORDER BY ts DESC, ingested_at DESC LIMIT 1
                """),
            row => (At: row.GetDateTime(0), Number: row.GetNullableDouble(1), Tagged: row.GetString(2)),
            cancellationToken).ConfigureAwait(false);
        return rows.Count == 0
            ? null
            : (rows[0].At, property == Core.Dsl.PropertyFilter.ValueProperty ? rows[0].Number : TaggedValue.Decode(rows[0].Tagged));
    }

    private async Task<IReadOnlyDictionary<string, object?>> PropertiesAsync(ProfileKey profile, CancellationToken cancellationToken)
    {
        var rows = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT kv.1 AS name, argMax(kv.2, (updated_at, ingested_at)) AS v FROM {Sql.Table(schema.ProfileUpdates)}
                ARRAY JOIN CAST(properties, 'Array(Tuple(String, String))') AS kv
                WHERE {profile.Tenant} AND {profile.Profile} AND updated_at <= {profile.Now}
                GROUP BY name HAVING v != '' ORDER BY name
                """),
            row => (Name: row.GetString(0), Value: TaggedValue.Decode(row.GetString(1))),
            cancellationToken).ConfigureAwait(false);
        return rows.ToDictionary(row => row.Name, row => row.Value, StringComparer.Ordinal);
    }

    private static Dictionary<string, object?> Decode(IReadOnlyDictionary<string, string> map) =>
        map.ToDictionary(pair => pair.Key, pair => TaggedValue.Decode(pair.Value), StringComparer.Ordinal);

    /// <summary>The filters one profile's lookups share: its tenant, its id and the time it is read at.</summary>
    private sealed class ProfileKey(string tenant, string profileId, DateTime now)
    {
        public SqlFragment Tenant { get; } = Sql.Of($"tenant = {Sql.Param("String", tenant)}");

        public SqlFragment Profile { get; } = Sql.Of($"profile_id = {Sql.Param("String", profileId)}");

        public SqlFragment Now { get; } = Sql.Param(Time3, now);
    }
}
