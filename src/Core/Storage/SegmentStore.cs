using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>
/// Saved segments in <see cref="StorageSchema.Segments"/>: every version is a row, the highest version is current, a
/// delete is a tombstone version. Evaluation state comes from <see cref="StorageSchema.SegmentState"/>.
/// </summary>
/// <remarks>
/// Two writers saving a new version of the same segment at the same instant could both pick the same version
/// number; the server holds one evaluator and callers serialize edits per segment, so this store does not lock.
/// </remarks>
public sealed class SegmentStore(IClickHouseEngine engine, StorageSchema schema) : ISegmentStore, ISegmentStateStore
{
    private const string Time3 = ClickHouseTime.Milliseconds;
    private readonly SqlFragment segments = Sql.Table(schema.Segments);
    private readonly SqlFragment segmentState = Sql.Table(schema.SegmentState);
    private readonly ConcurrentDictionary<string, Dictionary<(string Id, int Version), SegmentVersion>> liveVersions = new(StringComparer.Ordinal);

    public async Task<SavedSegment> SaveAsync(
        string tenant, string? segmentId, string name, string? description, string definitionJson, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrEmpty(definitionJson);
        int version;
        if (segmentId is null)
        {
            segmentId = await NewIdAsync(tenant, name, cancellationToken).ConfigureAwait(false);
            version = 1;
        }
        else
        {
            var current = await LatestAsync(tenant, segmentId, cancellationToken).ConfigureAwait(false);
            if (current is null || current.Deleted)
            {
                throw new KeyNotFoundException($"No segment '{segmentId}' in tenant '{tenant}'.");
            }

            version = current.Version + 1;
        }

        var saved = new SegmentVersion(tenant, segmentId, version, name, description ?? string.Empty, definitionJson, false, Truncate(DateTime.UtcNow));
        await InsertAsync(saved, cancellationToken).ConfigureAwait(false);
        Remember(saved);
        var state = await StatesAsync(tenant, segmentId, cancellationToken).ConfigureAwait(false);
        return ToSaved(saved, state);
    }

    public async Task<bool> DeleteAsync(string tenant, string segmentId, CancellationToken cancellationToken)
    {
        var current = await LatestAsync(tenant, segmentId, cancellationToken).ConfigureAwait(false);
        if (current is null || current.Deleted)
        {
            return false;
        }

        var tombstone = current with { Version = current.Version + 1, Deleted = true, CreatedAt = Truncate(DateTime.UtcNow) };
        await InsertAsync(tombstone, cancellationToken).ConfigureAwait(false);
        Remember(tombstone);
        return true;
    }

    public async Task<SavedSegment?> GetAsync(string tenant, string segmentId, CancellationToken cancellationToken)
    {
        // Definition and evaluation state are independent reads: run them side by side.
        var reading = LatestAsync(tenant, segmentId, cancellationToken);
        var readingState = StatesAsync(tenant, segmentId, cancellationToken);
        var current = await reading.ConfigureAwait(false);
        var state = await readingState.ConfigureAwait(false);
        return current is null || current.Deleted ? null : ToSaved(current, state);
    }

    public async Task<IReadOnlyList<SavedSegment>> ListAsync(string tenant, CancellationToken cancellationToken)
    {
        var reading = LiveVersionsAsync(tenant, cancellationToken);
        var states = await StatesAsync(tenant, null, cancellationToken).ConfigureAwait(false);
        return [.. (await reading.ConfigureAwait(false)).Select(row => ToSaved(row, states))];
    }

    public async Task<IReadOnlyList<SegmentVersion>> VersionsAsync(string tenant, string segmentId, int? beforeVersion, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var current = await LatestAsync(tenant, segmentId, cancellationToken).ConfigureAwait(false);
        if (current is null || current.Deleted)
        {
            return [];
        }

        // A version row may be stored twice until the engine merges (a retried insert): one row a version.
        var below = Sql.Param("UInt32", (long)Math.Min(beforeVersion ?? int.MaxValue, current.Version + 1));
        return await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT segment_id, version, name, description, definition, deleted, created_at
                FROM {segments} WHERE tenant = {Sql.Param("String", tenant)} AND segment_id = {Sql.Param("String", segmentId)} AND version < {below}
                ORDER BY version DESC LIMIT 1 BY version LIMIT {Sql.Param("UInt32", (long)limit)}
                """),
            row => ReadVersion(tenant, row),
            cancellationToken).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<string>> TenantsAsync(CancellationToken cancellationToken) =>
        engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT tenant FROM (
                    SELECT tenant FROM (
                        SELECT tenant, segment_id, argMax(deleted, version) AS gone FROM {segments} GROUP BY tenant, segment_id)
                    WHERE gone = 0
                    UNION ALL
                    SELECT tenant FROM {segmentState})
                GROUP BY tenant ORDER BY tenant
                """),
            row => row.GetString(0),
            cancellationToken);

    /// <summary>
    /// The tenant's current (highest, not deleted) versions, in segment id order. A version row is never rewritten, so
    /// once the versions are read whole, the next lists read only their numbers and take the rest from the last list
    /// when no number moved: every tick starts with this list, and the whole read of a tenant's versions (every version
    /// ever saved, with its definition: 16,548 rows of 4,140 segments on the benchmark's database) took two to three
    /// times as long as the numbers alone.
    /// </summary>
    public async Task<IReadOnlyList<SegmentVersion>> LiveVersionsAsync(string tenant, CancellationToken cancellationToken)
    {
        var tenantValue = Sql.Param("String", tenant);
        if (liveVersions.TryGetValue(tenant, out var known))
        {
            var current = await engine.QueryAsync(
                Sql.Of(
                    $"""
                    SELECT segment_id, max(version) FROM {segments} WHERE tenant = {tenantValue}
                    GROUP BY segment_id HAVING argMax(deleted, version) = 0 ORDER BY segment_id
                    """),
                row => (Id: row.GetString(0), Version: row.GetInt32(1)),
                cancellationToken).ConfigureAwait(false);
            if (current.Count == known.Count && current.All(c => known.ContainsKey((c.Id, c.Version))))
            {
                return [.. current.Select(c => known[(c.Id, c.Version)])];
            }
        }

        // A save or a delete since the last list (or no list yet): everything read again, which also forgets the
        // versions no longer current.
        var versions = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT segment_id, max(version) AS v, argMax(name, version), argMax(description, version), argMax(definition, version),
                       argMax(deleted, version), argMax(created_at, version)
                FROM {segments} WHERE tenant = {tenantValue}
                GROUP BY segment_id HAVING argMax(deleted, version) = 0 ORDER BY segment_id
                """),
            row => ReadVersion(tenant, row),
            cancellationToken).ConfigureAwait(false);
        liveVersions[tenant] = versions.ToDictionary(v => (v.SegmentId, v.Version));
        return versions;
    }

    /// <summary>
    /// Puts a version this store just wrote into the tenant's last list (a tombstone takes its segment out), so the
    /// next list after a save here still reads only the numbers. Any other writer's save makes the numbers differ and
    /// the list is read whole again: what a version holds never changes, so the worst a stale entry costs is that read.
    /// </summary>
    private void Remember(SegmentVersion version)
    {
        // Copied, not changed in place: a list may be reading the dictionary this replaces.
        lock (liveVersions)
        {
            if (liveVersions.TryGetValue(version.Tenant, out var known))
            {
                var next = known.Where(k => k.Key.Id != version.SegmentId).ToDictionary();
                if (!version.Deleted)
                {
                    next[(version.SegmentId, version.Version)] = version;
                }

                liveVersions[version.Tenant] = next;
            }
        }
    }

    internal async Task<SegmentVersion?> LatestAsync(string tenant, string segmentId, CancellationToken cancellationToken)
    {
        var rows = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT segment_id, version, name, description, definition, deleted, created_at
                FROM {segments} WHERE tenant = {Sql.Param("String", tenant)} AND segment_id = {Sql.Param("String", segmentId)}
                ORDER BY version DESC LIMIT 1
                """),
            row => ReadVersion(tenant, row),
            cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyDictionary<string, SegmentState>> StatesAsync(string tenant, string? segmentId, CancellationToken cancellationToken)
    {
        var filter = segmentId is null ? Sql.Empty : Sql.Of($" AND segment_id = {Sql.Param("String", segmentId)}");
        var states = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT segment_id, argMax(version, written_at), argMax(evaluated_at, written_at), argMax(ingest_watermark, written_at), argMax(size, written_at),
                    {(schema.HasKeyValueTables ? Sql.Of($"toInt32(argMax(generation, written_at))") : Sql.Of($"0"))}
                FROM {segmentState} WHERE tenant = {Sql.Param("String", tenant)}{filter} GROUP BY segment_id
                """),
            row => (Id: row.GetString(0), State: new SegmentState(row.GetInt32(1), row.GetDateTime(2), row.GetDateTime(3), row.GetInt64(4), row.GetInt32(5))),
            cancellationToken).ConfigureAwait(false);
        return states.ToDictionary(s => s.Id, s => s.State, StringComparer.Ordinal);
    }

    /// <summary>Records that one segment's membership is complete up to <paramref name="state"/>.</summary>
    public Task WriteStateAsync(string tenant, string segmentId, SegmentState state, CancellationToken cancellationToken) =>
        WriteStatesAsync(tenant, [(segmentId, state)], cancellationToken);

    public async Task WriteStatesAsync(string tenant, IReadOnlyList<(string SegmentId, SegmentState State)> states, CancellationToken cancellationToken)
    {
        if (states.Count == 0)
        {
            return;
        }

        // JSONEachRow, not VALUES with parameters: the VALUES parser interprets each row's expressions (24 ms for a
        // level's 12 states on the 2M-profile demo, against 8 ms). written_at is the column's default, now64(6).
        using var rows = new JsonRows();
        foreach (var (segmentId, state) in states)
        {
            var row = rows.Begin();
            row.WriteString("tenant", tenant);
            row.WriteString("segment_id", segmentId);
            row.WriteNumber("version", state.Version);
            row.WriteString("evaluated_at", JsonRows.Time(state.EvaluatedAt));
            row.WriteString("ingest_watermark", JsonRows.Time(state.IngestWatermark));
            row.WriteNumber("size", state.Size);
            if (state.Generation != 0)
            {
                // Only on one engine, where generations are written (a cluster's tables have no such column).
                row.WriteNumber("generation", state.Generation);
            }

            rows.End();
        }

        await engine.InsertJsonEachRowAsync(schema.SegmentState, rows.ToMemory(), null, cancellationToken).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<string>> DeletedAmongAsync(string tenant, IReadOnlyCollection<string> segmentIds, CancellationToken cancellationToken) =>
        segmentIds.Count == 0
            ? Task.FromResult<IReadOnlyList<string>>([])
            : engine.QueryAsync(
                Sql.Of(
                    $"""
                    SELECT DISTINCT segment_id FROM {segments}
                    WHERE tenant = {Sql.Param("String", tenant)} AND has({Sql.Param("Array(String)", segmentIds.ToArray())}, segment_id) AND deleted = 1
                    ORDER BY segment_id
                    """),
                row => row.GetString(0),
                cancellationToken);

    public async Task ForgetStatesAsync(string tenant, IReadOnlyCollection<string> segmentIds, CancellationToken cancellationToken)
    {
        if (segmentIds.Count == 0)
        {
            return;
        }

        var tenantValue = Sql.Param("String", tenant);
        var ids = Sql.Param("Array(String)", segmentIds.ToArray());

        // The first evaluations first: the state is what tells the next tick a purge is still owed.
        if (schema.HasKeyValueTables)
        {
            await engine.ExecuteAsync(
                Sql.Of($"DELETE FROM {Sql.Table(schema.SegmentGenerations)} WHERE tenant = {tenantValue} AND has({ids}, segment_id)"),
                cancellationToken).ConfigureAwait(false);
        }

        foreach (var table in new Func<TableNames, string>[] { t => t.SegmentFirstEvaluation, t => t.SegmentState })
        {
            await schema.ExecuteWhereStoredAsync(
                engine,
                t => Sql.Of($"DELETE FROM {Sql.Table(table(t))} WHERE tenant = {tenantValue} AND has({ids}, segment_id)"),
                cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>"Recent openers in Boston!" → "recent-openers-in-boston" (ASCII letters and digits, at most 40 chars).</summary>
    internal static string Slug(string name)
    {
        var builder = new StringBuilder();
        foreach (var c in name.Normalize(NormalizationForm.FormD))
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                builder.Append(char.ToLowerInvariant(c));
            }
            else if (char.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark && builder.Length > 0 && builder[^1] != '-')
            {
                builder.Append('-');
            }

            if (builder.Length >= 40)
            {
                break;
            }
        }

        var slug = builder.ToString().Trim('-');
        return slug.Length == 0 ? "segment" : slug;
    }

    private async Task<string> NewIdAsync(string tenant, string name, CancellationToken cancellationToken)
    {
        var slug = Slug(name);
        while (true)
        {
            var id = slug + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2));
            if (await LatestAsync(tenant, id, cancellationToken).ConfigureAwait(false) is null)
            {
                return id;
            }
        }
    }

    private async Task InsertAsync(SegmentVersion row, CancellationToken cancellationToken)
    {
        await engine.ExecuteAsync(
            Sql.Of(
                $"""
                INSERT INTO {segments} (tenant, segment_id, version, name, description, definition, deleted, created_at)
                VALUES ({Sql.Param("String", row.Tenant)}, {Sql.Param("String", row.SegmentId)}, {Sql.Param("UInt32", (long)row.Version)}, {Sql.Param("String", row.Name)},
                        {Sql.Param("String", row.Description)}, {Sql.Param("String", row.DefinitionJson)}, {Sql.Param("UInt8", row.Deleted ? 1L : 0L)}, {Sql.Param(Time3, row.CreatedAt)})
                """),
            cancellationToken).ConfigureAwait(false);
    }

    private static SegmentVersion ReadVersion(string tenant, Row row) => new(
        tenant, row.GetString(0), row.GetInt32(1), row.GetString(2), row.GetString(3), row.GetString(4), row.GetBoolean(5), row.GetDateTime(6));

    private static SavedSegment ToSaved(SegmentVersion row, IReadOnlyDictionary<string, SegmentState> states)
    {
        // The stored membership belongs to this version only once this version has been evaluated.
        var state = states.TryGetValue(row.SegmentId, out var s) && s.Version == row.Version ? s : null;
        return new SavedSegment(
            row.SegmentId,
            row.Version,
            row.Name,
            row.Description.Length == 0 ? null : row.Description,
            row.DefinitionJson,
            row.CreatedAt,
            state?.EvaluatedAt,
            state?.Size);
    }

    private static DateTime Truncate(DateTime utc) => new(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerMillisecond), DateTimeKind.Utc);
}
