using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.App;

/// <summary>
/// A definition that cannot be used, with every problem and its JSON path; <see cref="Exception.Message"/> is written
/// for a reader (a person or a language model) and lists them all.
/// </summary>
public sealed class DefinitionException(string message, IReadOnlyList<DslError> errors) : Exception(message)
{
    public IReadOnlyList<DslError> Errors { get; } = errors;
}

/// <summary>One condition of a conjunction and how many profiles it matches alone.</summary>
public sealed record ConditionCount(string Path, string ReadBack, long Count);

/// <summary>Saved segments as the validator's source of referenced definitions.</summary>
public sealed class StoreDefinitionSource(ISegmentStore store) : ISegmentDefinitionSource
{
    public async Task<SegmentDefinition?> FindAsync(string tenant, string segmentId, CancellationToken cancellationToken)
    {
        var saved = await store.GetAsync(tenant, segmentId, cancellationToken).ConfigureAwait(false);
        return saved is null ? null : SegmentDefinitionJson.Parse(saved.DefinitionJson).Definition;
    }

    public async Task<IReadOnlyList<(string Id, string Name)>> ListAsync(string tenant, CancellationToken cancellationToken) =>
        [.. (await store.ListAsync(tenant, cancellationToken).ConfigureAwait(false)).Select(s => (s.Id, s.Name))];
}

/// <summary>
/// The door to the DSL for every front end (MCP tools, CLI verbs): parses and validates a definition against the
/// tenant's catalog (errors become one <see cref="DefinitionException"/> listing every problem with its JSON path),
/// compiles it, runs it (members, count, one profile, the engine's estimate), reads it back in English.
/// </summary>
public sealed partial class DefinitionService(IClickHouseEngine engine, StorageSchema schema, ISegmentStore store, ITenantCatalogSource catalogSource, TimeProvider time)
{
    private static readonly TimeSpan CatalogLifetime = TimeSpan.FromSeconds(60);
    private readonly ConcurrentDictionary<string, (TenantCatalog Catalog, DateTimeOffset ReadAt)> catalogs = new(StringComparer.Ordinal);

    public IClickHouseEngine Engine => engine;

    public StorageSchema Schema => schema;

    /// <summary>The tenant's catalog, cached for a minute (a reload is forced when a name is unknown).</summary>
    public async Task<TenantCatalog> CatalogAsync(string tenant, bool fresh, CancellationToken cancellationToken)
    {
        if (!fresh && catalogs.TryGetValue(tenant, out var cached) && time.GetUtcNow() - cached.ReadAt < CatalogLifetime)
        {
            return cached.Catalog;
        }

        var catalog = await catalogSource.ReadAsync(tenant, cancellationToken).ConfigureAwait(false);
        catalogs[tenant] = (catalog, time.GetUtcNow());
        return catalog;
    }

    /// <summary>
    /// Parses and validates; throws a <see cref="DefinitionException"/> listing every problem when it is not valid.
    /// With <paramref name="nameIfMissing"/> (a draft's, a saved segment's) the definition may leave out its name or be
    /// just its condition.
    /// </summary>
    public async Task<ValidatedDefinition> ValidateAsync(
        string tenant, JsonElement definition, string? ownSegmentId, CancellationToken cancellationToken, string? nameIfMissing = null)
    {
        if (definition.ValueKind == JsonValueKind.String)
        {
            // Some clients send the object as a JSON string; accept it.
            try
            {
                using var document = JsonDocument.Parse(definition.GetString() ?? string.Empty);
                definition = document.RootElement.Clone();
            }
            catch (JsonException exception)
            {
                var error = new DslError("definition", $"not a JSON object ({exception.Message}). Pass the definition as a JSON object; see the resource segmentmcp://dsl/schema.");
                throw new DefinitionException($"Invalid definition:\n- {error}", [error]);
            }
        }

        if (nameIfMissing is not null)
        {
            definition = SegmentDefinitionJson.WithName(definition, nameIfMissing);
        }

        var parsed = SegmentDefinitionJson.Parse(definition);
        if (parsed.Definition is null || parsed.Errors.Count > 0)
        {
            var errors = DefinitionValidator.WithUnknownNames(parsed.Errors, definition, await CatalogAsync(tenant, fresh: false, cancellationToken).ConfigureAwait(false));
            if (errors.Any(e => e.Code == DslErrorCode.UnknownName))
            {
                errors = DefinitionValidator.WithUnknownNames(parsed.Errors, definition, await CatalogAsync(tenant, fresh: true, cancellationToken).ConfigureAwait(false));
            }

            throw Invalid(errors);
        }

        var validator = new DefinitionValidator(new StoreDefinitionSource(store));
        var catalog = await CatalogAsync(tenant, fresh: false, cancellationToken).ConfigureAwait(false);
        var result = await validator.ValidateAsync(tenant, parsed.Definition, catalog, ownSegmentId, cancellationToken).ConfigureAwait(false);
        if (!result.IsValid && result.Errors.Any(e => e.Code is DslErrorCode.UnknownName or DslErrorCode.UnknownSegment or DslErrorCode.InvalidReference))
        {
            catalog = await CatalogAsync(tenant, fresh: true, cancellationToken).ConfigureAwait(false);
            result = await validator.ValidateAsync(tenant, parsed.Definition, catalog, ownSegmentId, cancellationToken).ConfigureAwait(false);
        }

        if (!result.IsValid)
        {
            throw Invalid(result.Errors);
        }

        if (ownSegmentId is not null)
        {
            await CheckDependentsAsync(tenant, ownSegmentId, parsed.Definition, cancellationToken).ConfigureAwait(false);
        }

        return result.Definition!;
    }

    /// <summary>
    /// A changed segment grows every segment that references it: each of those must still be within the inlining
    /// limits with the new version, or the change is refused before anything is stored.
    /// </summary>
    private async Task CheckDependentsAsync(string tenant, string segmentId, SegmentDefinition changed, CancellationToken cancellationToken)
    {
        var saved = await store.ListAsync(tenant, cancellationToken).ConfigureAwait(false);
        var definitions = new Dictionary<string, SegmentDefinition>(StringComparer.Ordinal);
        foreach (var segment in saved)
        {
            if (SegmentDefinitionJson.Parse(segment.DefinitionJson).Definition is { } definition)
            {
                definitions[segment.Id] = definition;
            }
        }

        definitions[segmentId] = changed;
        var errors = new List<DslError>();
        foreach (var (id, definition) in definitions.OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            if (id == segmentId || !Reaches(definition, segmentId, definitions))
            {
                continue;
            }

            foreach (var error in ReferenceExpansion.Check(definition.Condition, definitions.GetValueOrDefault))
            {
                errors.Add(new DslError("condition", $"Saved segment '{id}' references this segment; with this change it would break a limit at {error.Path}: {error.Message}", DslErrorCode.Limit));
            }
        }

        if (errors.Count > 0)
        {
            throw Invalid(errors);
        }
    }

    private static bool Reaches(SegmentDefinition from, string target, IReadOnlyDictionary<string, SegmentDefinition> definitions)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<SegmentDefinition>([from]);
        while (pending.TryPop(out var current))
        {
            foreach (var id in SegmentReads.Of(current.Condition).References)
            {
                if (id == target)
                {
                    return true;
                }

                if (seen.Add(id) && definitions.TryGetValue(id, out var next))
                {
                    pending.Push(next);
                }
            }
        }

        return false;
    }

    /// <summary>
    /// The saved segments whose conditions name <paramref name="segmentId"/> (in id order): a segment may not be deleted
    /// while any does, since they would stop evaluating.
    /// </summary>
    public Task<IReadOnlyList<string>> UsersOfAsync(string tenant, string segmentId, CancellationToken cancellationToken) =>
        SavedWhereAsync(tenant, (id, reads) => id != segmentId && reads.References.Contains(segmentId, StringComparer.Ordinal), cancellationToken);

    /// <summary>The ids of the saved segments whose definitions use static list <paramref name="listId"/> (in_list), in id order.</summary>
    public Task<IReadOnlyList<string>> UsersOfListAsync(string tenant, string listId, CancellationToken cancellationToken) =>
        SavedWhereAsync(tenant, (_, reads) => reads.Lists.Contains(listId, StringComparer.Ordinal), cancellationToken);

    /// <summary>For every static list some saved segment uses: those segments' ids, in id order.</summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> ListUsersAsync(string tenant, CancellationToken cancellationToken)
    {
        var saved = await store.ListAsync(tenant, cancellationToken).ConfigureAwait(false);
        return saved
            .SelectMany(s => SegmentDefinitionJson.Parse(s.DefinitionJson).Definition is { } definition
                ? SegmentReads.Of(definition.Condition).Lists.Distinct(StringComparer.Ordinal).Select(list => (List: list, Segment: s.Id))
                : [])
            .GroupBy(use => use.List, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, IReadOnlyList<string> (g) => [.. g.Select(use => use.Segment).Order(StringComparer.Ordinal)], StringComparer.Ordinal);
    }

    private async Task<IReadOnlyList<string>> SavedWhereAsync(string tenant, Func<string, SegmentReads, bool> uses, CancellationToken cancellationToken)
    {
        var saved = await store.ListAsync(tenant, cancellationToken).ConfigureAwait(false);
        return [.. saved
            .Where(s => SegmentDefinitionJson.Parse(s.DefinitionJson).Definition is { } definition && uses(s.Id, SegmentReads.Of(definition.Condition)))
            .Select(s => s.Id)
            .Order(StringComparer.Ordinal)];
    }

    /// <summary>A saved segment's definition, validated as it is now (references resolved).</summary>
    public async Task<ValidatedDefinition> ValidateSavedAsync(string tenant, SavedSegment saved, CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(saved.DefinitionJson);
        return await ValidateAsync(tenant, document.RootElement, saved.Id, cancellationToken).ConfigureAwait(false);
    }

    public SqlStatement Compile(ValidatedDefinition definition, CompileOptions options) => SegmentCompiler.Compile(definition, schema, options);

    /// <summary>The DSL's deterministic English read-back of a definition.</summary>
    public static string ReadBack(SegmentDefinition definition, IReadOnlyDictionary<string, SegmentDefinition>? references = null) =>
        Core.Dsl.ReadBack.Describe(definition, references);

    /// <summary>Members at <paramref name="now"/> after <paramref name="afterProfileId"/>, in profile id order, at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<string>> MembersAsync(ValidatedDefinition definition, DateTime now, string? afterProfileId, int limit, CancellationToken cancellationToken)
    {
        return await CurrentTraitsCheck.QueryAsync(
            engine, definition, schema, new CompileOptions(now),
            (options, ct) => MembersAsync(definition, now, options.CurrentTraitsComplete, afterProfileId, limit, ct), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The size and one page of members at <paramref name="now"/>, with one check of the current-value table shared
    /// by both queries.
    /// </summary>
    public async Task<(long Count, IReadOnlyList<string> Members)> PreviewAsync(
        ValidatedDefinition definition, DateTime now, string? afterProfileId, int limit, CancellationToken cancellationToken) =>
        await CurrentTraitsCheck.QueryAsync(
            engine, definition, schema, new CompileOptions(now),
            async (options, ct) =>
            {
                var count = await CountAsync(definition, now, options.CurrentTraitsComplete, ct).ConfigureAwait(false);
                var members = await MembersAsync(definition, now, options.CurrentTraitsComplete, afterProfileId, limit, ct).ConfigureAwait(false);
                return (count, members);
            },
            cancellationToken).ConfigureAwait(false);

    private async Task<IReadOnlyList<string>> MembersAsync(
        ValidatedDefinition definition, DateTime now, bool currentTraitsComplete, string? afterProfileId, int limit, CancellationToken cancellationToken)
    {
        var page = Compile(definition, new CompileOptions(now, CompileMode.Page) { AfterProfileId = afterProfileId, PageSize = limit, CurrentTraitsComplete = currentTraitsComplete });
        return await engine.QueryAsync(page, row => row.GetString(0), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The members at <paramref name="now"/> broken down as <paramref name="request"/> asks (values and events at the
    /// same time), with the count: what a draft's audience is like before it is saved.
    /// </summary>
    public async Task<(long Count, BreakdownResult Breakdown)> BreakdownAsync(
        ValidatedDefinition definition, DateTime now, BreakdownRequest request, CancellationToken cancellationToken) =>
        await CurrentTraitsCheck.QueryAsync(
            engine, definition, schema, new CompileOptions(now),
            async (options, ct) =>
            {
                var count = await CountAsync(definition, now, options.CurrentTraitsComplete, ct).ConfigureAwait(false);
                var breakdown = await MemberBreakdown.ReadAsync(
                    engine, schema, definition.Tenant, SegmentCompiler.CompileMembers(definition, schema, options), request, now, ct).ConfigureAwait(false);
                return (count, breakdown);
            },
            cancellationToken).ConfigureAwait(false);

    /// <summary>The engine's estimate of the rows the compiled query reads (<c>EXPLAIN ESTIMATE</c>).</summary>
    public async Task<long> EstimateRowsAsync(ValidatedDefinition definition, DateTime now, CancellationToken cancellationToken)
    {
        var result = await engine.QueryAsync(Compile(definition, new CompileOptions(now) { ExplainEstimate = true }), cancellationToken).ConfigureAwait(false);
        var rows = result.ColumnNames.ToList().IndexOf("rows");
        return rows < 0 ? 0 : result.Read(row => row.GetInt64(rows)).Sum();
    }

    public async Task<long> CountAsync(ValidatedDefinition definition, DateTime now, CancellationToken cancellationToken)
    {
        return await CurrentTraitsCheck.QueryAsync(
            engine, definition, schema, new CompileOptions(now),
            (options, ct) => CountAsync(definition, now, options.CurrentTraitsComplete, ct), cancellationToken).ConfigureAwait(false);
    }

    private async Task<long> CountAsync(ValidatedDefinition definition, DateTime now, bool currentTraitsComplete, CancellationToken cancellationToken) =>
        await engine.QueryScalarAsync<long>(Compile(definition, new CompileOptions(now, CompileMode.Count) { CurrentTraitsComplete = currentTraitsComplete }), cancellationToken).ConfigureAwait(false);

    /// <summary>Conditions of an empty conjunction counted alone, at most this many.</summary>
    public const int MaxConditionCounts = 8;

    /// <summary>
    /// How many profiles each condition of a top-level <c>all</c> matches on its own at <paramref name="now"/>: why a
    /// conjunction is empty (one condition matches no one, or each matches some and together none). Empty for any
    /// other shape.
    /// </summary>
    public async Task<IReadOnlyList<ConditionCount>> ConditionCountsAsync(ValidatedDefinition definition, DateTime now, CancellationToken cancellationToken)
    {
        if (definition.Definition.Condition is not AllCondition all || all.Items.Count < 2)
        {
            return [];
        }

        var counts = new List<ConditionCount>();
        foreach (var (item, i) in all.Items.Take(MaxConditionCounts).Select((item, i) => (item, i)))
        {
            // A part of a validated definition is valid: same catalog, same references.
            var part = ValidatedDefinition.Unchecked(definition.Tenant, definition.Definition with { Condition = item }, definition.References);
            counts.Add(new ConditionCount($"condition.all[{i}]", ReadBack(part.Definition, part.References), await CountAsync(part, now, cancellationToken).ConfigureAwait(false)));
        }

        return counts;
    }

    /// <summary>Whether one profile satisfies <paramref name="definition"/> at <paramref name="now"/> (the compiled query restricted to it).</summary>
    public async Task<bool> HoldsForAsync(ValidatedDefinition definition, string profileId, DateTime now, CancellationToken cancellationToken)
    {
        var result = await engine.QueryAsync(Compile(definition, new CompileOptions(now, CompileMode.Restricted, [profileId])), cancellationToken).ConfigureAwait(false);
        return result.Rows.Count > 0;
    }

    private static DefinitionException Invalid(IReadOnlyList<DslError> errors)
    {
        var text = new StringBuilder("Invalid definition (fix every problem below and call again; the language is described by the resource segmentmcp://dsl/schema):");
        foreach (var error in errors)
        {
            text.Append("\n- ").Append(error.Path.Length == 0 ? "definition" : error.Path).Append(": ").Append(error.Message);
        }

        return new DefinitionException(text.ToString(), errors);
    }
}
