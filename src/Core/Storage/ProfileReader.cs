using System.Globalization;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

/// <summary>One event of a profile, its properties decoded to JSON values.</summary>
public sealed record ProfileEvent(string Metric, DateTime Timestamp, double? Value, IReadOnlyDictionary<string, object?> Properties);

/// <summary>A profile as of a time: its current properties and its latest events.</summary>
public sealed record ProfileSnapshot(string ProfileId, bool Exists, IReadOnlyDictionary<string, object?> Properties, IReadOnlyList<ProfileEvent> RecentEvents);

/// <summary>What an event condition saw for one profile: the events of its metric in its time range.</summary>
public sealed record EventEvidence(long Events, DateTime? First, DateTime? Last, double? SumOfValues);

/// <summary>
/// Reads one profile: point lookups by (tenant, profile_id) — profile_updates and the universe are keyed by it, events
/// by (tenant, metric, profile_id) so the lookup skips to the profile within every metric's range.
/// </summary>
public sealed class ProfileReader(IClickHouseEngine engine, StorageSchema schema)
{
    public async Task<ProfileSnapshot> ReadAsync(string tenant, string profileId, int recentEvents, DateTime? asOf, CancellationToken cancellationToken)
    {
        var now = asOf ?? DateTime.UtcNow;
        List<SqlParameter> parameters =
        [
            new("tenant", "String", tenant),
            new("profile_id", "String", profileId),
            new("now", "DateTime64(3, 'UTC')", now),
        ];
        var exists = await engine.QueryAsync(
            new SqlStatement($"SELECT count() FROM {schema.Profiles} WHERE tenant = {{tenant:String}} AND profile_id = {{profile_id:String}}", parameters),
            cancellationToken).ConfigureAwait(false);
        var properties = await PropertiesAsync(parameters, cancellationToken).ConfigureAwait(false);
        var events = await engine.QueryAsync(
            new SqlStatement(
                $$"""
                SELECT metric, ts, value, properties FROM {{schema.Events}}
                WHERE tenant = {tenant:String} AND profile_id = {profile_id:String} AND ts <= {now:DateTime64(3, 'UTC')}
                ORDER BY ts DESC, metric LIMIT {limit:UInt32}
                """,
                [.. parameters, new SqlParameter("limit", "UInt32", (long)recentEvents)]),
            cancellationToken).ConfigureAwait(false);
        var recent = events.Rows
            .Select(row => new ProfileEvent(
                (string)row[0]!,
                (DateTime)row[1]!,
                row[2] is null ? null : Convert.ToDouble(row[2], CultureInfo.InvariantCulture),
                DecodeMap(row[3])))
            .ToList();
        return new ProfileSnapshot(profileId, Convert.ToInt64(exists.Rows[0][0], CultureInfo.InvariantCulture) > 0, properties, recent);
    }

    /// <summary>The profile's property values at <paramref name="asOf"/> (the latest update of each; removed ones left out).</summary>
    public Task<IReadOnlyDictionary<string, object?>> PropertiesAsync(string tenant, string profileId, DateTime asOf, CancellationToken cancellationToken) =>
        PropertiesAsync(
            [new("tenant", "String", tenant), new("profile_id", "String", profileId), new("now", "DateTime64(3, 'UTC')", asOf)],
            cancellationToken);

    /// <summary>How many events of <paramref name="metric"/> the profile has with from ≤ ts &lt; until (and ts ≤ now).</summary>
    public async Task<EventEvidence> EventsInRangeAsync(
        string tenant, string profileId, string metric, DateTime? from, DateTime? until, DateTime now, CancellationToken cancellationToken)
    {
        List<SqlParameter> parameters =
        [
            new("tenant", "String", tenant),
            new("profile_id", "String", profileId),
            new("metric", "String", metric),
            new("now", "DateTime64(3, 'UTC')", now),
        ];
        var range = string.Empty;
        if (from is { } start)
        {
            range += " AND ts >= {from:DateTime64(3, 'UTC')}";
            parameters.Add(new SqlParameter("from", "DateTime64(3, 'UTC')", start));
        }

        if (until is { } end)
        {
            range += " AND ts < {until:DateTime64(3, 'UTC')}";
            parameters.Add(new SqlParameter("until", "DateTime64(3, 'UTC')", end));
        }

        var result = await engine.QueryAsync(
            new SqlStatement(
                $$"""
                SELECT count(), minOrNull(ts), maxOrNull(ts), sumOrNull(value) FROM {{schema.Events}}
                WHERE tenant = {tenant:String} AND metric = {metric:String} AND profile_id = {profile_id:String}
                  AND ts <= {now:DateTime64(3, 'UTC')}{{range}}
                """,
                parameters),
            cancellationToken).ConfigureAwait(false);
        var row = result.Rows[0];
        return new EventEvidence(
            Convert.ToInt64(row[0], CultureInfo.InvariantCulture),
            row[1] as DateTime?,
            row[2] as DateTime?,
            row[3] is null ? null : Convert.ToDouble(row[3], CultureInfo.InvariantCulture));
    }

    private async Task<IReadOnlyDictionary<string, object?>> PropertiesAsync(List<SqlParameter> parameters, CancellationToken cancellationToken)
    {
        var rows = await engine.QueryAsync(
            new SqlStatement(
                $$"""
                SELECT kv.1 AS name, argMax(kv.2, (updated_at, ingested_at)) AS v FROM {{schema.ProfileUpdates}}
                ARRAY JOIN CAST(properties, 'Array(Tuple(String, String))') AS kv
                WHERE tenant = {tenant:String} AND profile_id = {profile_id:String} AND updated_at <= {now:DateTime64(3, 'UTC')}
                GROUP BY name HAVING v != '' ORDER BY name
                """,
                parameters),
            cancellationToken).ConfigureAwait(false);
        return rows.Rows.ToDictionary(row => (string)row[0]!, row => TaggedValue.Decode((string?)row[1]), StringComparer.Ordinal);
    }

    private static Dictionary<string, object?> DecodeMap(object? map) =>
        map is IReadOnlyDictionary<string, object?> values
            ? values.ToDictionary(pair => pair.Key, pair => TaggedValue.Decode(pair.Value as string), StringComparer.Ordinal)
            : map is Dictionary<string, object?> dictionary
                ? dictionary.ToDictionary(pair => pair.Key, pair => TaggedValue.Decode(pair.Value as string), StringComparer.Ordinal)
                : [];
}
