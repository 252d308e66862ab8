using SegmentMcp.Core.Dsl;

namespace SegmentMcp.Core.Evaluation;

/// <summary>Dependency levels: a segment is evaluated after the segments it references.</summary>
public sealed partial class SegmentEvaluator
{
    /// <summary>
    /// Groups segments so that every segment comes after the segments it references, except those whose references
    /// <paramref name="canInline"/> allows to be read inlined (added to <paramref name="inlined"/>), which go first.
    /// </summary>
    private static List<List<string>> Levels(
        string tenant, IReadOnlyDictionary<string, SegmentDefinition> definitions, Tick tick, Func<string, bool> canInline, HashSet<string> inlined)
    {
        var depth = new Dictionary<string, int>(StringComparer.Ordinal);
        var visiting = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in definitions.Keys.Order(StringComparer.Ordinal))
        {
            Depth(id);
        }

        return [.. depth.Where(d => d.Value >= 0).GroupBy(d => d.Value).OrderBy(g => g.Key).Select(g => g.Select(d => d.Key).Order(StringComparer.Ordinal).ToList())];

        int Depth(string id)
        {
            if (depth.TryGetValue(id, out var known))
            {
                return known;
            }

            if (!definitions.TryGetValue(id, out var definition) || !visiting.Add(id))
            {
                return -1;
            }

            var level = 0;
            foreach (var reference in SegmentReads.Of(definition.Condition).References)
            {
                var inner = Depth(reference);
                if (inner < 0)
                {
                    tick.Fail(tenant, id, new InvalidOperationException($"Referenced segment '{reference}' is missing, deleted, unparseable or part of a cycle."));
                    level = -1;
                    break;
                }

                level = Math.Max(level, inner + 1);
            }

            visiting.Remove(id);
            if (level > 0 && canInline(id))
            {
                inlined.Add(id);
                level = 0;
            }

            depth[id] = level;
            return level;
        }
    }

    /// <summary>Every definition reachable from <paramref name="definition"/> through references.</summary>
    private static Dictionary<string, SegmentDefinition> Closure(SegmentDefinition definition, IReadOnlyDictionary<string, SegmentDefinition> all)
    {
        var result = new Dictionary<string, SegmentDefinition>(StringComparer.Ordinal);
        var pending = new Stack<SegmentDefinition>([definition]);
        while (pending.TryPop(out var current))
        {
            foreach (var id in SegmentReads.Of(current.Condition).References)
            {
                if (!result.ContainsKey(id))
                {
                    result[id] = all[id];
                    pending.Push(all[id]);
                }
            }
        }

        return result;
    }
}
