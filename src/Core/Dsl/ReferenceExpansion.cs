using System.Globalization;

namespace SegmentMcp.Core.Dsl;

/// <summary>
/// The size of a definition once its segment references are inlined, which is what the compiler emits and what
/// ClickHouse has to parse. Each definition is capped at <see cref="SegmentDefinitionJson.MaxLeaves"/> leaves, but
/// references multiply: 64 references to a segment of 64 references to … grow geometrically. These limits bound the
/// product at create, update, preview and evaluation time.
/// </summary>
public static class ReferenceExpansion
{
    /// <summary>Leaf conditions after every reference is replaced by the referenced segment's condition.</summary>
    public const int MaxInlinedLeaves = 1024;

    /// <summary>How many segment references may be chained (a → b → c → d → e is 4).</summary>
    public const int MaxReferenceDepth = 4;

    /// <summary>
    /// The JSON text of a definition with its references inlined, in characters: what bounds the values (long <c>in</c>
    /// lists, long strings) that the compiled query carries as parameters. The same as one definition's own cap.
    /// </summary>
    public const int MaxInlinedCharacters = 1 << 20;

    /// <summary>
    /// Checks a definition's inlined size against the limits. <paramref name="lookup"/> gives referenced definitions
    /// (a missing one counts as one leaf; the validator reports it separately). Returns the problems with JSON paths.
    /// </summary>
    public static IReadOnlyList<DslError> Check(Condition condition, Func<string, SegmentDefinition?> lookup)
    {
        var measure = new Measurer(lookup);
        var errors = new List<DslError>();
        var total = measure.Of(condition);
        if (total.Depth > MaxReferenceDepth)
        {
            var (path, chain) = DeepestReference(condition, measure, "condition");
            errors.Add(new DslError(
                path,
                $"Segment references nest {total.Depth} deep ({Chain(chain)}); at most {MaxReferenceDepth} levels are allowed. Reference a segment that does not itself go through so many references, or copy its conditions in.", DslErrorCode.Limit));
        }

        var characters = Characters(condition) + total.ReferencedCharacters;
        if (characters > MaxInlinedCharacters)
        {
            var (path, id, _) = Largest(condition, measure, "condition", id => measure.Of(id).Characters);
            var culprit = id is null ? string.Empty : $" The largest part is {path} → '{id}' with {Format(measure.Of(id).Characters)} characters.";
            errors.Add(new DslError(
                id is null ? "condition" : path,
                $"With its segment references inlined this definition is {Format(characters)} characters of conditions; at most {Format(MaxInlinedCharacters)} are allowed.{culprit} Reference fewer or smaller segments (long 'in' lists count once per use).", DslErrorCode.Limit));
        }

        if (total.Leaves > MaxInlinedLeaves)
        {
            var (path, id, leaves) = Largest(condition, measure, "condition", id => measure.Of(id).Leaves);
            var culprit = id is null
                ? string.Empty
                : $" The largest part is {path} → '{id}' with {Format(leaves)} ({Chain(measure.LargestChain(id))}).";
            errors.Add(new DslError(
                id is null ? "condition" : path,
                $"With its segment references inlined this definition has {Format(total.Leaves)} leaf conditions; at most {MaxInlinedLeaves.ToString("N0", CultureInfo.InvariantCulture)} are allowed.{culprit} Reference fewer or smaller segments.", DslErrorCode.Limit));
        }

        return errors;
    }

    private static string Format(long leaves) => leaves >= long.MaxValue / 2
        ? "more than 10^18"
        : leaves.ToString("N0", CultureInfo.InvariantCulture);

    private static string Chain(IEnumerable<string> ids) => string.Join(" → ", ids.Select(id => $"'{id}'"));

    /// <summary>The reference leaf under <paramref name="condition"/> whose chain is deepest, with that chain.</summary>
    private static (string Path, IReadOnlyList<string> Chain) DeepestReference(Condition condition, Measurer measure, string path)
    {
        (string, IReadOnlyList<string>) best = (path, []);
        var bestDepth = -1;
        foreach (var (leafPath, reference) in References(condition, path))
        {
            var depth = measure.Of(reference.SegmentId).Depth;
            if (depth > bestDepth)
            {
                bestDepth = depth;
                best = ($"{leafPath}.segment.id", measure.DeepestChain(reference.SegmentId));
            }
        }

        return best;
    }

    /// <summary>The reference leaf under <paramref name="condition"/> with the largest <paramref name="size"/>.</summary>
    private static (string Path, string? Id, long Size) Largest(Condition condition, Measurer measure, string path, Func<string, long> size)
    {
        (string, string?, long) best = (path, null, 0);
        foreach (var (leafPath, reference) in References(condition, path))
        {
            var measured = size(reference.SegmentId);
            if (measured > best.Item3)
            {
                best = ($"{leafPath}.segment.id", reference.SegmentId, measured);
            }
        }

        return best;
    }

    private static long Characters(Condition condition) => SegmentDefinitionJson.Write(new SegmentDefinition(string.Empty, null, condition)).Length;

    private static IEnumerable<(string Path, SegmentReferenceCondition Reference)> References(Condition condition, string path)
    {
        switch (condition)
        {
            case AllCondition all:
                for (var i = 0; i < all.Items.Count; i++)
                {
                    foreach (var found in References(all.Items[i], $"{path}.all[{i}]"))
                    {
                        yield return found;
                    }
                }

                break;
            case AnyCondition any:
                for (var i = 0; i < any.Items.Count; i++)
                {
                    foreach (var found in References(any.Items[i], $"{path}.any[{i}]"))
                    {
                        yield return found;
                    }
                }

                break;
            case NotCondition not:
                foreach (var found in References(not.Inner, $"{path}.not"))
                {
                    yield return found;
                }

                break;
            case SegmentReferenceCondition reference:
                yield return (path, reference);
                break;
        }
    }

    /// <summary>
    /// Inlined leaves, reference depth and inlined characters per segment, memoized so a shared segment is measured
    /// once; cycles count as one leaf (the validator rejects them).
    /// </summary>
    private sealed class Measurer(Func<string, SegmentDefinition?> lookup)
    {
        private readonly Dictionary<string, Measure> known = new(StringComparer.Ordinal);
        private readonly HashSet<string> visiting = new(StringComparer.Ordinal);

        /// <summary>A condition's inlined leaves, reference depth, and the characters its references add when inlined.</summary>
        public Measure Of(Condition condition) => condition switch
        {
            AllCondition all => Sum(all.Items),
            AnyCondition any => Sum(any.Items),
            NotCondition not => Of(not.Inner),
            SegmentReferenceCondition reference => Referenced(reference.SegmentId),
            _ => new Measure(1, 0, 0),
        };

        /// <summary>A segment's own inlined leaves, how many reference hops lie below it, and its inlined characters.</summary>
        public Measure Of(string segmentId)
        {
            var measure = Referenced(segmentId);
            return measure with { Depth = measure.Depth - 1 };
        }

        /// <summary>From <paramref name="segmentId"/> down the references with the most leaves.</summary>
        public IReadOnlyList<string> LargestChain(string segmentId) => Follow(segmentId, byLeaves: true);

        /// <summary>From <paramref name="segmentId"/> down the deepest references.</summary>
        public IReadOnlyList<string> DeepestChain(string segmentId) => Follow(segmentId, byLeaves: false);

        private List<string> Follow(string segmentId, bool byLeaves)
        {
            var chain = new List<string> { segmentId };
            var current = segmentId;
            while (chain.Count <= MaxReferenceDepth + 8 && lookup(current) is { } definition)
            {
                var next = References(definition.Condition, "condition")
                    .Select(r => r.Reference.SegmentId)
                    .Where(id => !chain.Contains(id, StringComparer.Ordinal))
                    .OrderByDescending(id => byLeaves ? Of(id).Leaves : Of(id).Depth)
                    .FirstOrDefault();
                if (next is null)
                {
                    break;
                }

                chain.Add(next);
                current = next;
            }

            return chain;
        }

        private Measure Sum(IReadOnlyList<Condition> items)
        {
            var total = new Measure(0, 0, 0);
            foreach (var item in items)
            {
                var measure = Of(item);
                total = new Measure(Add(total.Leaves, measure.Leaves), Math.Max(total.Depth, measure.Depth), Add(total.ReferencedCharacters, measure.ReferencedCharacters));
            }

            return total;
        }

        /// <summary>A reference leaf: the referenced segment inlined, one level deeper than it; all of its text is added.</summary>
        private Measure Referenced(string segmentId)
        {
            if (known.TryGetValue(segmentId, out var measured))
            {
                return measured;
            }

            if (lookup(segmentId) is not { } definition || !visiting.Add(segmentId))
            {
                return new Measure(1, 1, 0);
            }

            var inner = Of(definition.Condition);
            visiting.Remove(segmentId);
            return known[segmentId] = new Measure(Math.Max(inner.Leaves, 1), inner.Depth + 1, Add(Characters(definition.Condition), inner.ReferencedCharacters));
        }

        private static long Add(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
    }

    /// <param name="ReferencedCharacters">For a condition: what inlining its references adds; for a segment (<see cref="Measurer.Of(string)"/>): its whole inlined text.</param>
    private readonly record struct Measure(long Leaves, int Depth, long ReferencedCharacters)
    {
        public long Characters => ReferencedCharacters;
    }
}
