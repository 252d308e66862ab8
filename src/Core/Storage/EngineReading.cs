using System.Runtime.CompilerServices;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage;

/// <summary>
/// Typed reading over any <see cref="IClickHouseEngine"/>: rows come back through a <see cref="Row"/> mapper or as
/// one scalar, and statements can be given as fragments (<see cref="Sql.Of"/>) that render themselves.
/// </summary>
public static class EngineReading
{
    /// <summary>The first column of the query's only row (<c>SELECT count() …</c>).</summary>
    public static async Task<T> QueryScalarAsync<T>(this IClickHouseEngine engine, SqlStatement query, CancellationToken cancellationToken = default)
    {
        var result = await engine.QueryAsync(query, cancellationToken).ConfigureAwait(false);
        return result.Scalar<T>();
    }

    public static Task<T> QueryScalarAsync<T>(this IClickHouseEngine engine, SqlFragment query, CancellationToken cancellationToken = default) =>
        engine.QueryScalarAsync<T>(query.ToStatement(), cancellationToken);

    /// <summary>Every row of the query through <paramref name="map"/>.</summary>
    public static async Task<IReadOnlyList<T>> QueryAsync<T>(
        this IClickHouseEngine engine, SqlStatement query, Func<Row, T> map, CancellationToken cancellationToken = default)
    {
        var result = await engine.QueryAsync(query, cancellationToken).ConfigureAwait(false);
        return result.Read(map);
    }

    public static Task<IReadOnlyList<T>> QueryAsync<T>(
        this IClickHouseEngine engine, SqlFragment query, Func<Row, T> map, CancellationToken cancellationToken = default) =>
        engine.QueryAsync(query.ToStatement(), map, cancellationToken);

    /// <summary>The query's only row through <paramref name="map"/>.</summary>
    public static async Task<T> QuerySingleAsync<T>(
        this IClickHouseEngine engine, SqlFragment query, Func<Row, T> map, CancellationToken cancellationToken = default)
    {
        var result = await engine.QueryAsync(query.ToStatement(), cancellationToken).ConfigureAwait(false);
        return result.ReadSingle(map);
    }

    /// <summary>The buffered result of a fragment (when the caller also wants its statistics).</summary>
    public static Task<QueryResult> QueryAsync(this IClickHouseEngine engine, SqlFragment query, CancellationToken cancellationToken = default) =>
        engine.QueryAsync(query.ToStatement(), cancellationToken);

    public static Task<QueryStatistics> ExecuteAsync(this IClickHouseEngine engine, SqlFragment statement, CancellationToken cancellationToken = default) =>
        engine.ExecuteAsync(statement.ToStatement(), cancellationToken);

    /// <summary>The query's rows through <paramref name="map"/> as they arrive (column names and types are not known here).</summary>
    public static async IAsyncEnumerable<T> StreamAsync<T>(
        this IClickHouseEngine engine, SqlStatement query, Func<Row, T> map, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(map);
        await foreach (var values in engine.StreamAsync(query, cancellationToken).ConfigureAwait(false))
        {
            yield return map(new Row(values));
        }
    }
}
