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
                $"Segment references nest {total.Depth} deep ({Chain(chain)}); at most {MaxReferenceDepth} levels are allowed. Reference a segment that does not itself go through so many references, or copy its conditions in."));
        }

        if (total.Leaves > MaxInlinedLeaves)
        {
            var (path, id, leaves) = LargestReference(condition, measure, "condition");
            var culprit = id is null
                ? string.Empty
                : $" The largest part is {path} → '{id}' with {Format(leaves)} ({Chain(measure.LargestChain(id))}).";
            errors.Add(new DslError(
                id is null ? "condition" : path,
                $"With its segment references inlined this definition has {Format(total.Leaves)} leaf conditions; at most {MaxInlinedLeaves.ToString("N0", CultureInfo.InvariantCulture)} are allowed.{culprit} Reference fewer or smaller segments."));
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

    private static (string Path, string? Id, long Leaves) LargestReference(Condition condition, Measurer measure, string path)
    {
        (string, string?, long) best = (path, null, 0);
        foreach (var (leafPath, reference) in References(condition, path))
        {
            var leaves = measure.Of(reference.SegmentId).Leaves;
            if (leaves > best.Item3)
            {
                best = ($"{leafPath}.segment.id", reference.SegmentId, leaves);
            }
        }

        return best;
    }

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

    /// <summary>Inlined leaves and reference depth per segment, memoized so a shared segment is measured once; cycles count as one leaf (the validator rejects them).</summary>
    private sealed class Measurer(Func<string, SegmentDefinition?> lookup)
    {
        private readonly Dictionary<string, (long Leaves, int Depth)> known = new(StringComparer.Ordinal);
        private readonly HashSet<string> visiting = new(StringComparer.Ordinal);

        public (long Leaves, int Depth) Of(Condition condition) => condition switch
        {
            AllCondition all => Sum(all.Items),
            AnyCondition any => Sum(any.Items),
            NotCondition not => Of(not.Inner),
            SegmentReferenceCondition reference => Referenced(reference.SegmentId),
            _ => (1, 0),
        };

        /// <summary>A segment's own inlined leaves and how many reference hops lie below it.</summary>
        public (long Leaves, int Depth) Of(string segmentId)
        {
            var (leaves, depth) = Referenced(segmentId);
            return (leaves, depth - 1);
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

        private (long Leaves, int Depth) Sum(IReadOnlyList<Condition> items)
        {
            long leaves = 0;
            var depth = 0;
            foreach (var item in items)
            {
                var (l, d) = Of(item);
                leaves = leaves > long.MaxValue - l ? long.MaxValue : leaves + l;
                depth = Math.Max(depth, d);
            }

            return (leaves, depth);
        }

        /// <summary>A reference leaf: the referenced segment's inlined leaves, one level deeper than it.</summary>
        private (long Leaves, int Depth) Referenced(string segmentId)
        {
            if (known.TryGetValue(segmentId, out var measured))
            {
                return measured;
            }

            if (lookup(segmentId) is not { } definition || !visiting.Add(segmentId))
            {
                return (1, 1);
            }

            var (leaves, depth) = Of(definition.Condition);
            visiting.Remove(segmentId);
            return known[segmentId] = (Math.Max(leaves, 1), depth + 1);
        }
    }
}
