namespace SegmentMcp.Core.Storage;

/// <summary>A saved segment's current version and its evaluation state.</summary>
/// <param name="Id">Stable id (slug of the name plus a short random suffix, e.g. "recent-openers-3f9a").</param>
/// <param name="Version">1 on create, +1 on every update.</param>
/// <param name="DefinitionJson">The definition exactly as saved (the DSL's JSON).</param>
/// <param name="EvaluatedAt">The evaluation time of the membership now stored; null before the first evaluation.</param>
/// <param name="Size">Members at <paramref name="EvaluatedAt"/>; null before the first evaluation.</param>
public sealed record SavedSegment(
    string Id,
    int Version,
    string Name,
    string? Description,
    string DefinitionJson,
    DateTime CreatedAt,
    DateTime? EvaluatedAt,
    long? Size);

/// <summary>Saved segment definitions, every version kept, per tenant.</summary>
public interface ISegmentStore
{
    /// <summary>
    /// Saves a definition that the caller has already validated: a new segment when <paramref name="segmentId"/> is
    /// null, else a new version of that segment (KeyNotFoundException when it does not exist).
    /// </summary>
    Task<SavedSegment> SaveAsync(string tenant, string? segmentId, string name, string? description, string definitionJson, CancellationToken cancellationToken);

    /// <summary>Deletes a segment (its membership and log stay queryable as history). False when it did not exist.</summary>
    Task<bool> DeleteAsync(string tenant, string segmentId, CancellationToken cancellationToken);

    Task<SavedSegment?> GetAsync(string tenant, string segmentId, CancellationToken cancellationToken);

    /// <summary>Every live segment of the tenant, ordered by id.</summary>
    Task<IReadOnlyList<SavedSegment>> ListAsync(string tenant, CancellationToken cancellationToken);
}

/// <summary>One entry of the entered/exited log.</summary>
public sealed record MembershipChange(string ProfileId, DateTime At, bool Entered);

/// <summary>Reads stored membership (as of each segment's last evaluation) and its change log.</summary>
public interface IMembershipReader
{
    Task<long> CountAsync(string tenant, string segmentId, CancellationToken cancellationToken);

    /// <summary>Members ordered by profile id, after <paramref name="afterProfileId"/> (keyset paging).</summary>
    Task<IReadOnlyList<string>> MembersAsync(string tenant, string segmentId, string? afterProfileId, int limit, CancellationToken cancellationToken);

    /// <summary>Whether the profile is a stored member.</summary>
    Task<bool> IsMemberAsync(string tenant, string segmentId, string profileId, CancellationToken cancellationToken);

    /// <summary>Log entries with since ≤ at &lt; until, ordered by (at, profile id), after the given position.</summary>
    Task<IReadOnlyList<MembershipChange>> ChangesAsync(
        string tenant, string segmentId, DateTime? since, DateTime? until, (DateTime At, string ProfileId)? after, int limit, CancellationToken cancellationToken);

    /// <summary>How many profiles are stored members of both segments.</summary>
    Task<long> OverlapAsync(string tenant, string segmentA, string segmentB, CancellationToken cancellationToken);

    /// <summary>The segments the profile is a stored member of.</summary>
    Task<IReadOnlyList<string>> SegmentsOfProfileAsync(string tenant, string profileId, CancellationToken cancellationToken);
}
