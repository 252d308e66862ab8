using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;
using SegmentMcp.Tests.Infrastructure;

namespace SegmentMcp.Tests.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>The current-value traits (<see cref="CurrentTraitsRefresher"/>) against the history they are derived from.</summary>
public abstract partial class EngineContractTests
{
    private static byte[] Updates(params (string Profile, string Property, string Value, string UpdatedAt, string IngestedAt)[] rows) =>
        System.Text.Encoding.UTF8.GetBytes(string.Concat(rows.Select(r =>
            $$"""{"tenant":"acme","profile_id":"{{r.Profile}}","updated_at":"{{r.UpdatedAt}}","properties":{"{{r.Property}}":"s{{r.Value}}"},"ingested_at":"{{r.IngestedAt}}"}""" + "\n")));

    [Fact]
    public async Task Current_values_refreshed_round_by_round_are_each_pairs_latest_value_in_the_history()
    {
        var schema = await TestEngines.NewSchemaAsync(Engine);
        var refresher = new CurrentTraitsRefresher(Engine, schema);
        var timelines = new ProfileTimelinesRefresher(Engine, schema);
        (string, string, string, string, string)[][] rounds =
        [
            [("p1", "city", "Boston", "2026-10-01 10:00:00.000", "2026-11-01 00:00:00.000000"), ("p2", "city", "Paris", "2026-10-01 10:00:00.000", "2026-11-01 00:00:00.000000"),
             ("p2", "plan", "free", "2026-10-01 10:00:00.000", "2026-11-01 00:00:00.000000")],
            [("p1", "city", "Rome", "2026-10-05 10:00:00.000", "2026-11-02 00:00:00.000000"), ("p2", "plan", "premium", "2026-10-02 10:00:00.000", "2026-11-02 00:00:00.000000"),
             ("p3", "city", "Boston", "2026-10-02 10:00:00.000", "2026-11-02 00:00:00.000000")],

            // Back to an earlier value, an update dated before the latest one (it loses), two values in one round.
            [("p1", "city", "Boston", "2026-10-06 10:00:00.000", "2026-11-03 00:00:00.000000"), ("p2", "city", "Lyon", "2026-09-01 10:00:00.000", "2026-11-03 00:00:00.000000"),
             ("p3", "city", "Oslo", "2026-10-07 10:00:00.000", "2026-11-03 00:00:00.000000"), ("p3", "city", "Bergen", "2026-10-08 10:00:00.000", "2026-11-03 00:00:00.000000"),
             ("p4", "plan", "free", "2026-10-08 10:00:00.000", "2026-11-03 00:00:00.000000")],

            // Same time, later ingestion wins; a value that was retracted comes back.
            [("p3", "city", "Oslo", "2026-10-08 10:00:00.000", "2026-11-04 00:00:00.000000"), ("p2", "plan", "free", "2026-10-09 10:00:00.000", "2026-11-04 00:00:00.000000")],
        ];
        var day = new DateTime(2026, 11, 1, 0, 0, 1, DateTimeKind.Utc);
        for (var round = 0; round < rounds.Length; round++, day = day.AddDays(1))
        {
            await Engine.InsertJsonEachRowAsync(schema.ProfileUpdates, Updates(rounds[round]), null);

            // The timelines trail by a round in odd rounds, so a refresh reads history from both the timelines and the table.
            if (round % 2 == 0)
            {
                await timelines.RefreshAsync("acme", day);
            }

            Assert.Equal(round == 0, (await refresher.RefreshAsync("acme", day)).Rebuilt);
            var current = await Engine.QueryAsync(
                Sql.Of($"SELECT profile_id, property, value, updated_at FROM {Sql.Table(schema.CurrentTraits)} FINAL WHERE tenant = 'acme' ORDER BY profile_id, property"),
                row => (row.GetString(0), row.GetString(1), row.GetString(2), row.GetDateTime(3)));
            var latest = await Engine.QueryAsync(
                Sql.Of(
                    $"""
                    SELECT profile_id, property, latest.1, latest.2 FROM (
                        SELECT profile_id, property, argMax((value, updated_at), (updated_at, ingested_at)) AS latest
                        FROM {Sql.Table(schema.Traits)} WHERE tenant = 'acme' GROUP BY profile_id, property)
                    ORDER BY profile_id, property
                    """),
                row => (row.GetString(0), row.GetString(1), row.GetString(2), row.GetDateTime(3)));
            Assert.Equal(latest, current);
        }
    }
}
