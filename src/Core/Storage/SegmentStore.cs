using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SegmentMcp.Core.Storage;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

/// <summary>
/// Saved segments in <see cref="StorageSchema.Segments"/>: every version is a row, the highest version is current, a
/// delete is a tombstone version. Evaluation state comes from <see cref="StorageSchema.SegmentState"/>.
/// </summary>
/// <remarks>
/// Two writers saving a new version of the same segment at the same instant could both pick the same version
/// number; the server holds one evaluator and callers serialize edits per segment, so this store does not lock.
/// </remarks>
public sealed class SegmentStore(IClickHouseEngine engine, StorageSchema schema) : ISegmentStore
{
    private const string Time3 = "DateTime64(3, 'UTC')";

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

        var createdAt = Truncate(DateTime.UtcNow);
        await InsertAsync(new Row(tenant, segmentId, version, name, description ?? string.Empty, definitionJson, false, createdAt), cancellationToken).ConfigureAwait(false);
        var state = await StatesAsync(tenant, segmentId, cancellationToken).ConfigureAwait(false);
        return ToSaved(new Row(tenant, segmentId, version, name, description ?? string.Empty, definitionJson, false, createdAt), state);
    }

    public async Task<bool> DeleteAsync(string tenant, string segmentId, CancellationToken cancellationToken)
    {
        var current = await LatestAsync(tenant, segmentId, cancellationToken).ConfigureAwait(false);
        if (current is null || current.Deleted)
        {
            return false;
        }

        await InsertAsync(current with { Version = current.Version + 1, Deleted = true, CreatedAt = Truncate(DateTime.UtcNow) }, cancellationToken).ConfigureAwait(false);
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
        var rows = await LiveRowsAsync(tenant, cancellationToken).ConfigureAwait(false);
        var states = await StatesAsync(tenant, null, cancellationToken).ConfigureAwait(false);
        return [.. rows.Select(row => ToSaved(row, states))];
    }

    /// <summary>The tenants that have at least one live segment, ordered.</summary>
    public async Task<IReadOnlyList<string>> TenantsAsync(CancellationToken cancellationToken)
    {
        var result = await engine.QueryAsync(
            new SqlStatement(
                $$"""
                SELECT tenant FROM (
                    SELECT tenant, segment_id, argMax(deleted, version) AS gone FROM {{schema.Segments}} GROUP BY tenant, segment_id)
                WHERE gone = 0 GROUP BY tenant ORDER BY tenant
                """),
            cancellationToken).ConfigureAwait(false);
        return [.. result.Rows.Select(r => (string)r[0]!)];
    }

    /// <summary>Every live segment's current row (including its definition), ordered by id.</summary>
    internal async Task<IReadOnlyList<Row>> LiveRowsAsync(string tenant, CancellationToken cancellationToken)
    {
        var result = await engine.QueryAsync(
            new SqlStatement(
                $$"""
                SELECT segment_id, max(version) AS v, argMax(name, version), argMax(description, version), argMax(definition, version),
                       argMax(deleted, version), argMax(created_at, version)
                FROM {{schema.Segments}} WHERE tenant = {tenant:String}
                GROUP BY segment_id HAVING argMax(deleted, version) = 0 ORDER BY segment_id
                """,
                [new SqlParameter("tenant", "String", tenant)]),
            cancellationToken).ConfigureAwait(false);
        return [.. result.Rows.Select(r => ReadRow(tenant, r))];
    }

    internal async Task<Row?> LatestAsync(string tenant, string segmentId, CancellationToken cancellationToken)
    {
        var result = await engine.QueryAsync(
            new SqlStatement(
                $$"""
                SELECT segment_id, version, name, description, definition, deleted, created_at
                FROM {{schema.Segments}} WHERE tenant = {tenant:String} AND segment_id = {id:String}
                ORDER BY version DESC LIMIT 1
                """,
                [new SqlParameter("tenant", "String", tenant), new SqlParameter("id", "String", segmentId)]),
            cancellationToken).ConfigureAwait(false);
        return result.Rows.Count == 0 ? null : ReadRow(tenant, result.Rows[0]);
    }

    /// <summary>The latest evaluation state per segment (one segment, or all of the tenant's).</summary>
    internal async Task<IReadOnlyDictionary<string, SegmentState>> StatesAsync(string tenant, string? segmentId, CancellationToken cancellationToken)
    {
        var parameters = new List<SqlParameter> { new("tenant", "String", tenant) };
        var filter = string.Empty;
        if (segmentId is not null)
        {
            filter = " AND segment_id = {id:String}";
            parameters.Add(new SqlParameter("id", "String", segmentId));
        }

        var result = await engine.QueryAsync(
            new SqlStatement(
                $$"""
                SELECT segment_id, argMax(version, written_at), argMax(evaluated_at, written_at), argMax(ingest_watermark, written_at), argMax(size, written_at)
                FROM {{schema.SegmentState}} WHERE tenant = {tenant:String}{{filter}} GROUP BY segment_id
                """,
                parameters),
            cancellationToken).ConfigureAwait(false);
        return result.Rows.ToDictionary(
            r => (string)r[0]!,
            r => new SegmentState(
                Convert.ToInt32(r[1], CultureInfo.InvariantCulture),
                (DateTime)r[2]!,
                (DateTime)r[3]!,
                Convert.ToInt64(r[4], CultureInfo.InvariantCulture)),
            StringComparer.Ordinal);
    }

    /// <summary>Records that a segment's membership is complete up to <paramref name="state"/>.</summary>
    internal async Task WriteStateAsync(string tenant, string segmentId, SegmentState state, CancellationToken cancellationToken)
    {
        await engine.ExecuteAsync(
            new SqlStatement(
                $$"""
                INSERT INTO {{schema.SegmentState}} (tenant, segment_id, version, evaluated_at, ingest_watermark, size, written_at)
                VALUES ({tenant:String}, {id:String}, {version:UInt32}, {at:{{Time3}}}, {watermark:DateTime64(6, 'UTC')}, {size:UInt64}, now64(6))
                """,
                [
                    new SqlParameter("tenant", "String", tenant),
                    new SqlParameter("id", "String", segmentId),
                    new SqlParameter("version", "UInt32", (long)state.Version),
                    new SqlParameter("at", Time3, state.EvaluatedAt),
                    new SqlParameter("watermark", "DateTime64(6, 'UTC')", state.IngestWatermark),
                    new SqlParameter("size", "UInt64", state.Size),
                ]),
            cancellationToken).ConfigureAwait(false);
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

    private async Task InsertAsync(Row row, CancellationToken cancellationToken)
    {
        await engine.ExecuteAsync(
            new SqlStatement(
                $$"""
                INSERT INTO {{schema.Segments}} (tenant, segment_id, version, name, description, definition, deleted, created_at)
                VALUES ({tenant:String}, {id:String}, {version:UInt32}, {name:String}, {description:String}, {definition:String}, {deleted:UInt8}, {created:{{Time3}}})
                """,
                [
                    new SqlParameter("tenant", "String", row.Tenant),
                    new SqlParameter("id", "String", row.SegmentId),
                    new SqlParameter("version", "UInt32", (long)row.Version),
                    new SqlParameter("name", "String", row.Name),
                    new SqlParameter("description", "String", row.Description),
                    new SqlParameter("definition", "String", row.DefinitionJson),
                    new SqlParameter("deleted", "UInt8", row.Deleted ? 1L : 0L),
                    new SqlParameter("created", Time3, row.CreatedAt),
                ]),
            cancellationToken).ConfigureAwait(false);
    }

    private static Row ReadRow(string tenant, object?[] r) => new(
        tenant,
        (string)r[0]!,
        Convert.ToInt32(r[1], CultureInfo.InvariantCulture),
        (string)r[2]!,
        (string)r[3]!,
        (string)r[4]!,
        Convert.ToInt64(r[5], CultureInfo.InvariantCulture) != 0,
        (DateTime)r[6]!);

    private static SavedSegment ToSaved(Row row, IReadOnlyDictionary<string, SegmentState> states)
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

    /// <summary>One version row of a segment.</summary>
    internal sealed record Row(
        string Tenant, string SegmentId, int Version, string Name, string Description, string DefinitionJson, bool Deleted, DateTime CreatedAt);
}

/// <summary>How far a segment's stored membership is evaluated: version, evaluation time, ingestion watermark, size.</summary>
internal sealed record SegmentState(int Version, DateTime EvaluatedAt, DateTime IngestWatermark, long Size);
