using System.Globalization;
using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Core.App;

/// <summary>
/// Something about the values a definition compares with that makes a condition match no one without being an error:
/// a value no data holds (<see cref="AbsentValue"/>) or a property without a value of the kind the comparison reads
/// (<see cref="WrongKind"/>). <see cref="Closest"/> are the values the data holds, closest or most common first.
/// </summary>
public sealed record ValueNote(string Path, string Property, string? Metric, string Value, IReadOnlyList<ValueCount> Closest, string Message);

public sealed partial class DefinitionService
{
    /// <summary>
    /// Every <see cref="ValueNote"/> of a definition, in path order: the likeliest reasons a definition matches no one
    /// that validation cannot see (it checks names, not values).
    /// </summary>
    public async Task<IReadOnlyList<ValueNote>> ValueNotesAsync(ValidatedDefinition definition, DateTime now, CancellationToken cancellationToken)
    {
        var kinds = ValueProbes.CollectKinds(definition.Definition);
        var absentLookup = AbsentValuesAsync(definition, now, cancellationToken);
        var wrongLookup = kinds.Count == 0
            ? Task.FromResult<IReadOnlyList<WrongKind>>([])
            : new SchemaDescriber(engine, schema).WrongKindsAsync(definition.Tenant, kinds, now, cancellationToken);
        var listLookup = UnknownListsAsync(definition, cancellationToken);
        var caseLookup = CaseVariantsAsync(definition, now, cancellationToken);
        await Task.WhenAll(absentLookup, wrongLookup, listLookup, caseLookup).ConfigureAwait(false);
        var (absent, wrong) = (await absentLookup.ConfigureAwait(false), await wrongLookup.ConfigureAwait(false));

        // An absent value's note already names its other cases among the closest values.
        var cases = (await caseLookup.ConfigureAwait(false)).Where(c => !absent.Any(a => a.Path == c.Path && a.Value == c.Value));
        return
        [
            .. absent.Select(a => new ValueNote(a.Path, a.Property, a.Metric, a.Value, a.Closest, Describe(a)))
                .Concat(cases.Select(c => new ValueNote(c.Path, c.Property, c.Metric, c.Value, c.Others, Describe(c))))
                .Concat(wrong.Select(w => new ValueNote(w.Path, w.Property, w.Metric, w.Value, w.Common, Describe(w))))
                .Concat(await listLookup.ConfigureAwait(false))
                .OrderBy(n => n.Path, StringComparer.Ordinal),
        ];
    }

    /// <summary>
    /// <c>in_list</c> references to lists the tenant does not have: valid (a list may be created later, and until then
    /// has no members), but most often a list called by its name, which matches no one without an error.
    /// </summary>
    private async Task<IReadOnlyList<ValueNote>> UnknownListsAsync(ValidatedDefinition definition, CancellationToken cancellationToken)
    {
        var references = ValueProbes.ListReferences(definition.Definition);
        if (references.Count == 0)
        {
            return [];
        }

        var lists = await new ListStore(engine, schema, time).ListAsync(definition.Tenant, cancellationToken).ConfigureAwait(false);
        var known = lists.Select(l => (l.Id, l.Name)).ToList();
        return
        [
            .. references
                .Where(r => !lists.Any(l => l.Id == r.ListId))
                .Select(r => new ValueNote(
                    r.Path, "in_list", null, r.ListId, [],
                    $"No static list '{r.ListId}' in this workspace, so no profile is on it.{Suggestions.DidYouMeanNamed(r.ListId, known)} A reference names a list by its id (list_lists shows them)."))
        ];
    }

    /// <summary>
    /// The text values the definition compares with (<c>eq</c>, <c>neq</c>, <c>in</c>, <c>not_in</c>) that no data
    /// holds, each with the closest values that it does: the likeliest reason a definition matches no one, which
    /// validation cannot see (it checks names, not values).
    /// </summary>
    private async Task<IReadOnlyList<AbsentValue>> AbsentValuesAsync(ValidatedDefinition definition, DateTime now, CancellationToken cancellationToken)
    {
        var probes = ValueProbes.Collect(definition.Definition);
        return probes.Count == 0
            ? []
            : await new SchemaDescriber(engine, schema).AbsentValuesAsync(definition.Tenant, probes, now, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The compared values held in other cases too, for case-sensitive filters (see <see cref="CaseVariants"/>).</summary>
    private async Task<IReadOnlyList<CaseVariants>> CaseVariantsAsync(ValidatedDefinition definition, DateTime now, CancellationToken cancellationToken)
    {
        var probes = ValueProbes.Collect(definition.Definition).Where(p => !p.IgnoreCase).ToList();
        return probes.Count == 0
            ? []
            : await new SchemaDescriber(engine, schema).CaseVariantsAsync(definition.Tenant, probes, now, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One sentence for a reader (a person or a language model) about a <see cref="CaseVariants"/>.</summary>
    public static string Describe(CaseVariants variants)
    {
        var culture = CultureInfo.InvariantCulture;
        var unit = variants.Metric is null ? "profile" : "event";
        var others = string.Join(", ", variants.Others.Select(c => string.Create(culture, $"\"{c.Value}\" ({c.Count:N0} {unit}{(c.Count == 1 ? string.Empty : "s")})")));
        var subject = variants.Metric is null
            ? $"Profiles now also have {variants.Property} = {others}"
            : $"\"{variants.Metric}\" events{When(variants.From, variants.Until)} also carry {variants.Property} = {others}";
        return $"{subject}: values are compared exactly, case included, so this filter tells them apart from \"{variants.Value}\"; with \"ignore_case\": true it does not.";
    }

    /// <summary>One sentence for a reader (a person or a language model) about an <see cref="AbsentValue"/>.</summary>
    public static string Describe(AbsentValue absent)
    {
        var culture = CultureInfo.InvariantCulture;
        var anyCase = absent.IgnoreCase ? " in any case" : string.Empty;
        var subject = absent.Metric is null
            ? $"No profile has ever had {absent.Property} = \"{absent.Value}\"{anyCase}"
            : $"No \"{absent.Metric}\" event{When(absent.From, absent.Until)} has {absent.Property} = \"{absent.Value}\"{anyCase}";
        var unit = absent.Metric is null ? "profile" : "event";
        var closest = absent.Closest.Count == 0
            ? string.Empty
            : $" Closest values{(absent.Metric is null ? " now" : string.Empty)}: {string.Join(", ", absent.Closest.Select(c => string.Create(culture, $"\"{c.Value}\" ({c.Count:N0} {unit}{(c.Count == 1 ? string.Empty : "s")})")))}.";
        if (absent.IgnoreCase)
        {
            return $"{subject}.{closest}";
        }

        // A value held in another case is the likeliest slip of all; the filter can say so itself.
        var otherCase = absent.Closest.Any(c => string.Equals(c.Value, absent.Value, StringComparison.OrdinalIgnoreCase))
            ? " (\"ignore_case\": true on the filter compares without case)"
            : string.Empty;
        return $"{subject}; values are compared exactly, case included{otherCase}.{closest}";
    }

    /// <summary>" from … to … UTC (the time the condition reads)", or empty for all time.</summary>
    private static string When(DateTime? from, DateTime? until) => (from, until) switch
    {
        ({ } start, { } end) => string.Create(CultureInfo.InvariantCulture, $" from {start:yyyy-MM-dd HH:mm} to {end:yyyy-MM-dd HH:mm} UTC (the time the condition reads)"),
        ({ } start, null) => string.Create(CultureInfo.InvariantCulture, $" since {start:yyyy-MM-dd HH:mm} UTC (the time the condition reads)"),
        (null, { } end) => string.Create(CultureInfo.InvariantCulture, $" before {end:yyyy-MM-dd HH:mm} UTC (the time the condition reads)"),
        _ => string.Empty,
    };


    /// <summary>One sentence for a reader (a person or a language model) about a <see cref="WrongKind"/>.</summary>
    public static string Describe(WrongKind wrong)
    {
        var culture = CultureInfo.InvariantCulture;
        var kind = wrong.Kind == ValueKind.Number ? "a number" : "an ISO-8601 date";
        var rule = wrong.Kind == ValueKind.Number
            ? "a number is a JSON number or a numeric string such as \"42.5\""
            : "a date is a string such as \"2026-11-01\" or \"2026-11-01T09:30:00Z\"";
        var subject = wrong.Metric is null
            ? $"No profile has ever had {kind} as {wrong.Property}"
            : $"No \"{wrong.Metric}\" event{When(wrong.From, wrong.Until)} has {kind} as {wrong.Property}";
        var consequence = wrong.Metric is null
            ? "so the comparison holds for no profile"
            : wrong.Path.EndsWith(".measure", StringComparison.Ordinal)
                ? $"so there is nothing to {wrong.Operator}"
                : "so no event passes this filter";
        var unit = wrong.Metric is null ? "profile" : "event";
        var common = wrong.Common.Count == 0
            ? string.Empty
            : $" Most common values{(wrong.Metric is null ? " now" : string.Empty)}: {string.Join(", ", wrong.Common.Select(c => string.Create(culture, $"\"{c.Value}\" ({c.Count:N0} {unit}{(c.Count == 1 ? string.Empty : "s")})")))}.";
        return $"{subject}, and '{wrong.Operator}' reads it as one, {consequence} ({rule}).{common}";
    }
}
