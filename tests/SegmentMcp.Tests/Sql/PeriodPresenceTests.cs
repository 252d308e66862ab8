using SegmentMcp.Core.Dsl;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Tests.Sql;

/// <summary>
/// "regularly" compiles to bits of the periods that have an event only when a period's verdict depends on nothing
/// else: checked against the verdicts of whole counts 0 to 60 for every operator and values around the edges.
/// </summary>
public sealed class PeriodPresenceTests
{
    public static TheoryData<Comparison, double> Tests()
    {
        var data = new TheoryData<Comparison, double>();
        foreach (var op in Enum.GetValues<Comparison>())
        {
            foreach (var value in new[] { -1.0, 0, 0.5, 1, 1.5, 2, 2.5, 3, 52 })
            {
                data.Add(op, value);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Tests))]
    public void Presence_decides_exactly_when_every_count_from_one_agrees(Comparison op, double value)
    {
        bool Holds(int count) => op switch
        {
            Comparison.Eq => count == value,
            Comparison.Neq => count != value,
            Comparison.Gt => count > value,
            Comparison.Gte => count >= value,
            Comparison.Lt => count < value,
            _ => count <= value,
        };

        var fromOne = Enumerable.Range(1, 60).Select(Holds).Distinct().ToList();
        bool? expected = fromOne.Count == 1 && fromOne[0] != Holds(0) ? fromOne[0] : null;

        Assert.Equal(expected, SegmentCompiler.PassesByPresence(op, value));
    }
}
