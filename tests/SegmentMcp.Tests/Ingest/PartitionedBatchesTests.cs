using System.Text;
using SegmentMcp.Core.Ingest;

namespace SegmentMcp.Tests.Ingest;

public class PartitionedBatchesTests
{
    private static readonly byte[] Scope = "test-scope\n"u8.ToArray();

    [Theory]
    [InlineData("1900-01-01T00:00:00Z", 190001)]
    [InlineData("1969-12-31T23:59:59.999Z", 196912)]
    [InlineData("1970-01-01T00:00:00Z", 197001)]
    [InlineData("2026-11-30T23:59:59.999Z", 202611)]
    [InlineData("2026-12-01T00:00:00Z", 202612)]
    [InlineData("2299-12-31T23:59:59.999Z", 229912)]
    public void The_month_is_the_events_tables_partition_key_in_utc(string time, int month)
    {
        var milliseconds = DateTimeOffset.Parse(time, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();

        Assert.Equal(month, PartitionedBatches.MonthOf(milliseconds));
    }

    [Fact]
    public void Each_closed_batch_holds_one_partitions_rows_in_input_order()
    {
        var rows = ProfileMajorRows(profiles: 30, months: 5);
        var closed = Run(rows, batchRows: 8);

        Assert.Equal(rows.Count, closed.Sum(b => b.Rows.Count));
        foreach (var batch in closed)
        {
            Assert.Single(batch.Rows.Select(r => r.Partition).Distinct());
            Assert.InRange(batch.Rows.Count, 1, 8);
            var positions = batch.Rows.Select(r => rows.IndexOf(r)).ToList();
            Assert.Equal(positions.Order(), positions);
        }

        // Every month's rows, batch after batch, in the order they came.
        foreach (var month in rows.Select(r => r.Partition).Distinct())
        {
            Assert.Equal(rows.Where(r => r.Partition == month), closed.SelectMany(b => b.Rows).Where(r => r.Partition == month));
        }
    }

    [Fact]
    public void The_open_batches_never_hold_more_than_their_budget()
    {
        const int batchRows = 10;
        var rows = ProfileMajorRows(profiles: 200, months: 40);
        var open = 0;
        var largestOpen = 0;
        var batches = new PartitionedBatches(Scope, batchRows, batchBytes: 1 << 20, keptFreeBuffers: 2, (buffer, _) => open -= buffer.Rows);
        foreach (var row in rows)
        {
            batches.Add(row.Partition, row.Bytes, Encoding.UTF8.GetBytes(row.Line));
            open++;
            largestOpen = Math.Max(largestOpen, open);
        }

        batches.CloseAll();

        Assert.Equal(0, open);
        Assert.InRange(largestOpen, batchRows, (batchRows * PartitionedBatches.OpenBudgetBatches) - 1);
    }

    [Fact]
    public void A_history_of_many_years_ordered_by_profile_still_fills_its_batches()
    {
        // Five years of months for every profile: each month's batch fills to about the budget shared by the 60 months.
        const int batchRows = 100;
        var rows = ProfileMajorRows(profiles: 400, months: 60);

        var closed = Run(rows, batchRows);

        var perMonthShare = batchRows * PartitionedBatches.OpenBudgetBatches / 60;
        Assert.All(closed.SkipLast(60), batch => Assert.InRange(batch.Rows.Count, perMonthShare / 2, batchRows));
        Assert.InRange(closed.Count, rows.Count / batchRows, rows.Count / (perMonthShare / 2));
    }

    [Fact]
    public void More_months_than_may_be_open_close_the_largest_batch_first()
    {
        var rows = Enumerable.Range(0, PartitionedBatches.MaxOpen + 1)
            .SelectMany(month => Enumerable.Range(0, month == 3 ? 2 : 1).Select(i => Row(200001 + month, $"m{month}-{i}")))
            .ToList();

        var closed = Run(rows, batchRows: 1000);

        // Month 3 had the most rows when a 33rd month arrived; the rest close at the end, oldest month first.
        Assert.Equal(200004, closed[0].Rows[0].Partition);
        Assert.Equal(2, closed[0].Rows.Count);
        Assert.Equal(rows.Select(r => r.Partition).Distinct().Where(m => m != 200004), closed.Skip(1).Select(b => b.Rows[0].Partition));
    }

    [Fact]
    public void The_same_input_forms_the_same_batches_and_tokens_and_other_lines_other_tokens()
    {
        var rows = ProfileMajorRows(profiles: 50, months: 7);

        var first = Run(rows, batchRows: 16);
        var again = Run(rows, batchRows: 16);
        var edited = rows.ToList();
        edited[77] = edited[77] with { Line = edited[77].Line + " " };
        var other = Run(edited, batchRows: 16);

        Assert.Equal(first.Select(b => b.Token), again.Select(b => b.Token));
        Assert.Equal(first.Count, first.Select(b => b.Token).Distinct().Count());
        Assert.Single(first.Select(b => b.Token).Except(other.Select(b => b.Token)));
    }

    [Fact]
    public void Buffers_come_back_for_reuse_up_to_the_kept_number()
    {
        var seen = new HashSet<RowBuffer>(ReferenceEqualityComparer.Instance);
        PartitionedBatches? batches = null;
        batches = new PartitionedBatches(Scope, batchRows: 2, batchBytes: 1 << 20, keptFreeBuffers: 1, (buffer, _) =>
        {
            seen.Add(buffer);
            batches!.Return(buffer);
        });
        foreach (var row in Enumerable.Range(0, 20).Select(i => Row(202601, $"r{i}")))
        {
            batches.Add(row.Partition, row.Bytes, Encoding.UTF8.GetBytes(row.Line));
        }

        batches.CloseAll();

        Assert.Single(seen);
    }

    private static List<ClosedBatch> Run(IReadOnlyList<TestRow> rows, int batchRows)
    {
        var byBytes = rows.ToDictionary(r => r.Line);
        var closed = new List<ClosedBatch>();
        using var batches = new PartitionedBatches(Scope, batchRows, batchBytes: 1 << 20, keptFreeBuffers: 0, (buffer, token) =>
        {
            // Each test row's bytes are its line, newline-terminated, so a batch's rows can be read back.
            var text = Encoding.UTF8.GetString(buffer.Written.Span);
            var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(buffer.Rows, lines.Length);
            closed.Add(new ClosedBatch([.. lines.Select(l => byBytes[l])], token));
        });
        foreach (var row in rows)
        {
            batches.Add(row.Partition, row.Bytes, Encoding.UTF8.GetBytes(row.Line));
        }

        batches.CloseAll();
        return closed;
    }

    /// <summary>As exports ordered by profile come: every profile's events across the months, then the next profile.</summary>
    private static List<TestRow> ProfileMajorRows(int profiles, int months) =>
        [.. Enumerable.Range(0, profiles).SelectMany(p => Enumerable.Range(0, months).Select(m =>
            Row(202001 + ((m / 12) * 100) + (m % 12), $"p{p}-m{m}")))];

    private static TestRow Row(int partition, string line) => new(partition, line);

    private sealed record TestRow(int Partition, string Line)
    {
        public byte[] Bytes => Encoding.UTF8.GetBytes(Line + "\n");
    }

    private sealed record ClosedBatch(List<TestRow> Rows, string Token);
}
