using System.Security.Cryptography;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

using Sql = SegmentMcp.Core.Sql.Sql;

/// <summary>A static list of a tenant, with how many profiles are on it now.</summary>
public sealed record StaticList(string Id, string Name, DateTime CreatedAt, long Size);

/// <summary>What an add or remove did: how many profiles changed (the others already were or were not on the list) and the list's size after.</summary>
public sealed record ListChange(string ListId, int Changed, long Size);

/// <summary>
/// Static lists in <see cref="TableNames.Lists"/> and <see cref="TableNames.ListMembers"/>. An add or remove is a row
/// with its time (the store's clock, in milliseconds) and is never overwritten, so a list's membership at any earlier
/// time is exact: the latest row by (at, ingested_at) up to that time. Only profiles whose state changes get a row.
/// </summary>
public sealed class ListStore(IClickHouseEngine engine, StorageSchema schema, TimeProvider clock)
{
    /// <summary>At most this many profile ids in one call (an import sends its file in batches of this size).</summary>
    public const int MaxProfilesPerCall = 10_000;

    /// <summary>The longest profile id accepted.</summary>
    public const int MaxProfileIdLength = 1000;

    private const string Time3 = ClickHouseTime.Milliseconds;
    private readonly SqlFragment lists = Sql.Table(schema.Lists);
    private readonly SqlFragment members = Sql.Table(schema.ListMembers);

    public async Task<StaticList> CreateAsync(string tenant, string name, IReadOnlyCollection<string> profileIds, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var ids = Check(profileIds);
        var slug = SegmentStore.Slug(name);
        string id;
        do
        {
            id = slug + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(2));
        }
        while (await GetAsync(tenant, id, cancellationToken).ConfigureAwait(false) is not null);

        var createdAt = await InsertListAsync(tenant, id, name, cancellationToken).ConfigureAwait(false);
        await WriteAsync(tenant, id, ids, added: true, createdAt, cancellationToken).ConfigureAwait(false);
        return new StaticList(id, name, createdAt, ids.Count);
    }

    /// <summary>Creates the list with exactly this id (named after it) unless the tenant has it; true when created.</summary>
    public async Task<bool> EnsureAsync(string tenant, string listId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(listId);
        if (await GetAsync(tenant, listId, cancellationToken).ConfigureAwait(false) is not null)
        {
            return false;
        }

        await InsertListAsync(tenant, listId, listId, cancellationToken).ConfigureAwait(false);
        return true;
    }

    private async Task<DateTime> InsertListAsync(string tenant, string id, string name, CancellationToken cancellationToken)
    {
        var createdAt = Now();
        await engine.ExecuteAsync(
            Sql.Of($"INSERT INTO {lists} (tenant, list_id, name, created_at) VALUES ({Sql.Param("String", tenant)}, {Sql.Param("String", id)}, {Sql.Param("String", name)}, {Sql.Param(Time3, createdAt)})"),
            cancellationToken).ConfigureAwait(false);
        return createdAt;
    }

    public async Task<StaticList?> GetAsync(string tenant, string listId, CancellationToken cancellationToken)
    {
        var found = await ReadAsync(tenant, listId, cancellationToken).ConfigureAwait(false);
        return found.Count == 0 ? null : found[0];
    }

    /// <summary>Every list of the tenant, ordered by id, with its current size.</summary>
    public Task<IReadOnlyList<StaticList>> ListAsync(string tenant, CancellationToken cancellationToken) => ReadAsync(tenant, null, cancellationToken);

    /// <summary>Puts the profiles on the list (those already on it are left as they are).</summary>
    public Task<ListChange> AddAsync(string tenant, string listId, IReadOnlyCollection<string> profileIds, CancellationToken cancellationToken) =>
        ChangeAsync(tenant, listId, profileIds, added: true, cancellationToken);

    /// <summary>Takes the profiles off the list (those not on it are left as they are).</summary>
    public Task<ListChange> RemoveAsync(string tenant, string listId, IReadOnlyCollection<string> profileIds, CancellationToken cancellationToken) =>
        ChangeAsync(tenant, listId, profileIds, added: false, cancellationToken);

    /// <summary>
    /// The profiles on the list at <paramref name="at"/> (its latest add or remove at or before then is an add), in
    /// profile id order after <paramref name="afterProfileId"/>, at most <paramref name="limit"/>.
    /// </summary>
    public Task<IReadOnlyList<string>> MembersAsync(string tenant, string listId, DateTime at, string? afterProfileId, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var after = afterProfileId is null ? Sql.Empty : Sql.Of($" AND profile_id > {Sql.Param("String", afterProfileId)}");
        return engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT profile_id FROM {members}
                WHERE tenant = {Sql.Param("String", tenant)} AND list_id = {Sql.Param("String", listId)} AND at <= {Sql.Param(Time3, Truncate(at))}{after}
                GROUP BY profile_id HAVING argMax(added, (at, ingested_at)) = 1
                ORDER BY profile_id LIMIT {Sql.Param("UInt32", (long)limit)}
                """),
            row => row.GetString(0),
            cancellationToken);
    }

    /// <summary>How many profiles were on the list at <paramref name="at"/>.</summary>
    public async Task<long> SizeAsync(string tenant, string listId, DateTime at, CancellationToken cancellationToken)
    {
        var sizes = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT countIf(on_list = 1) FROM
                    (SELECT argMax(added, (at, ingested_at)) AS on_list FROM {members}
                     WHERE tenant = {Sql.Param("String", tenant)} AND list_id = {Sql.Param("String", listId)} AND at <= {Sql.Param(Time3, Truncate(at))}
                     GROUP BY profile_id)
                """),
            row => row.GetInt64(0),
            cancellationToken).ConfigureAwait(false);
        return sizes[0];
    }

    /// <summary>
    /// Removes the list and its whole add/remove history; false when the tenant has no such list. Callers refuse while
    /// a saved segment uses it: the history is what answers in_list at earlier times.
    /// </summary>
    public async Task<bool> DeleteAsync(string tenant, string listId, CancellationToken cancellationToken)
    {
        if (await GetAsync(tenant, listId, cancellationToken).ConfigureAwait(false) is null)
        {
            return false;
        }

        var tenantValue = Sql.Param("String", tenant);
        var listValue = Sql.Param("String", listId);

        // The members first: a delete cut short leaves a list that still exists and can be deleted again.
        foreach (var table in new Func<TableNames, string>[] { t => t.ListMembers, t => t.Lists })
        {
            await schema.ExecuteWhereStoredAsync(
                engine,
                t => Sql.Of($"DELETE FROM {Sql.Table(table(t))} WHERE tenant = {tenantValue} AND list_id = {listValue}"),
                cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private async Task<ListChange> ChangeAsync(string tenant, string listId, IReadOnlyCollection<string> profileIds, bool added, CancellationToken cancellationToken)
    {
        var ids = Check(profileIds);
        _ = await GetAsync(tenant, listId, cancellationToken).ConfigureAwait(false) ?? throw new KeyNotFoundException($"No list '{listId}' in tenant '{tenant}'.");
        var on = await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT profile_id FROM {members}
                WHERE tenant = {Sql.Param("String", tenant)} AND list_id = {Sql.Param("String", listId)} AND profile_id IN {Sql.Param("Array(String)", ids.ToArray())}
                GROUP BY profile_id HAVING argMax(added, (at, ingested_at)) = 1
                """),
            row => row.GetString(0),
            cancellationToken).ConfigureAwait(false);
        var current = on.ToHashSet(StringComparer.Ordinal);
        var changing = ids.Where(id => current.Contains(id) != added).ToList();
        await WriteAsync(tenant, listId, changing, added, Now(), cancellationToken).ConfigureAwait(false);
        var list = await GetAsync(tenant, listId, cancellationToken).ConfigureAwait(false);
        return new ListChange(listId, changing.Count, list?.Size ?? 0);
    }

    private async Task<IReadOnlyList<StaticList>> ReadAsync(string tenant, string? listId, CancellationToken cancellationToken)
    {
        var tenantParameter = Sql.Param("String", tenant);
        var one = listId is null ? Sql.Empty : Sql.Of($" AND list_id = {Sql.Param("String", listId)}");
        return await engine.QueryAsync(
            Sql.Of(
                $"""
                SELECT l.list_id, l.list_name, l.first_created, ifNull(m.size, 0) FROM
                    (SELECT list_id, argMax(name, created_at) AS list_name, min(created_at) AS first_created FROM {lists} WHERE tenant = {tenantParameter}{one} GROUP BY list_id) AS l
                LEFT JOIN
                    (SELECT list_id, countIf(on_list = 1) AS size FROM
                        (SELECT list_id, profile_id, argMax(added, (at, ingested_at)) AS on_list FROM {members}
                         WHERE tenant = {tenantParameter}{one} AND at <= {Sql.Param(Time3, Now())} GROUP BY list_id, profile_id)
                     GROUP BY list_id) AS m
                ON m.list_id = l.list_id
                ORDER BY l.list_id
                SETTINGS join_use_nulls = 1
                """),
            row => new StaticList(row.GetString(0), row.GetString(1), row.GetDateTime(2), row.GetInt64(3)),
            cancellationToken).ConfigureAwait(false);
    }

    private async Task WriteAsync(string tenant, string listId, IReadOnlyCollection<string> profileIds, bool added, DateTime at, CancellationToken cancellationToken)
    {
        if (profileIds.Count == 0)
        {
            return;
        }

        using var rows = new JsonRows();
        var time = JsonRows.Time(at);
        foreach (var profile in profileIds)
        {
            var row = rows.Begin();
            row.WriteString("tenant", tenant);
            row.WriteString("list_id", listId);
            row.WriteString("profile_id", profile);
            row.WriteString("at", time);
            row.WriteNumber("added", added ? 1 : 0);
            rows.End();
        }

        await engine.InsertJsonEachRowAsync(schema.ListMembers, rows.ToMemory(), null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Distinct ids, each non-empty and not too long, at most <see cref="MaxProfilesPerCall"/>.</summary>
    private static List<string> Check(IReadOnlyCollection<string> profileIds)
    {
        if (profileIds.Count > MaxProfilesPerCall)
        {
            throw new ArgumentException($"At most {MaxProfilesPerCall:N0} profile ids per call; got {profileIds.Count:N0}.", nameof(profileIds));
        }

        var index = 0;
        foreach (var id in profileIds)
        {
            if (string.IsNullOrWhiteSpace(id) || id.Length > MaxProfileIdLength)
            {
                throw new ArgumentException($"profile_ids[{index}]: a profile id is a non-empty string of at most {MaxProfileIdLength} characters.", nameof(profileIds));
            }

            index++;
        }

        return [.. profileIds.Distinct(StringComparer.Ordinal)];
    }

    private DateTime Now() => Truncate(clock.GetUtcNow().UtcDateTime);

    private static DateTime Truncate(DateTime utc) => new(utc.Ticks - (utc.Ticks % TimeSpan.TicksPerMillisecond), DateTimeKind.Utc);
}
