using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace SegmentMcp.Core.Ingest;

/// <summary>
/// The write pass's open batches, one per partition of the target table (the month of an event's time; profile records
/// have one): an insert then writes one part instead of one per month its rows touch. Exports and backfills are often
/// ordered by profile, so a batch of 100,000 such events spans a year and wrote a dozen parts of a few thousand rows,
/// each sorted, compressed and written with the table's projections, then merged again.
/// </summary>
/// <remarks>
/// A batch closes at <see cref="IngestOptions.BatchRows"/> rows or <see cref="IngestOptions.BatchBytes"/> bytes; when
/// the open batches together hold <see cref="OpenBudgetBatches"/> batches' worth of rows or bytes, or more than
/// <see cref="MaxOpen"/> partitions are open, the largest closes. Every decision depends on the input alone, so the
/// same input forms the same batches with the same deduplication tokens on a re-run.
/// </remarks>
internal sealed class PartitionedBatches : IDisposable
{
    /// <summary>How many full batches' worth of rows (and of bytes) the open batches may hold together.</summary>
    internal const int OpenBudgetBatches = 4;

    /// <summary>
    /// Partitions open at once (85 years of months): past it, a new month closes the largest batch. The row budget, not
    /// this, is what normally closes batches; a low cap would close one-row batches over and over on an export ordered
    /// by profile whose history is longer than the cap.
    /// </summary>
    internal const int MaxOpen = 1024;

    // Small, since up to MaxOpen batches may be open; a buffer doubles as it fills and is reused once inserted.
    private const int FirstBufferBytes = 8 * 1024;

    private readonly Dictionary<int, Batch> open = [];
    private readonly ConcurrentBag<RowBuffer> free = [];
    private readonly byte[] scope;
    private readonly int batchRows;
    private readonly int batchBytes;
    private readonly int keptFreeBuffers;
    private readonly Action<RowBuffer, string> emit;
    private long openRows;
    private long openBytes;

    /// <param name="scope">Hashed first into every batch's token (what the rows are and for whom).</param>
    /// <param name="emit">Receives each closed batch and its token; may block (that is the back pressure).</param>
    public PartitionedBatches(byte[] scope, int batchRows, int batchBytes, int keptFreeBuffers, Action<RowBuffer, string> emit)
    {
        this.scope = scope;
        this.batchRows = batchRows;
        this.batchBytes = batchBytes;
        this.keptFreeBuffers = keptFreeBuffers;
        this.emit = emit;
    }

    /// <summary>The partition key of the events table (<c>toYYYYMM(ts)</c>) for a time in milliseconds since the epoch.</summary>
    public static int MonthOf(long milliseconds)
    {
        var time = DateTime.UnixEpoch.AddMilliseconds(milliseconds);
        return (time.Year * 100) + time.Month;
    }

    /// <summary>Appends one converted row (and the input line it came from, for the token) to its partition's batch.</summary>
    public void Add(int partition, ReadOnlySpan<byte> row, ReadOnlySpan<byte> line)
    {
        if (!open.TryGetValue(partition, out var batch))
        {
            if (open.Count >= MaxOpen)
            {
                Close(Largest());
            }

            batch = new Batch(partition, Rent(), IncrementalHash.CreateHash(HashAlgorithmName.SHA256));
            batch.Hash.AppendData(scope);
            open.Add(partition, batch);
        }

        batch.Rows.Write(row);
        batch.Rows.Rows++;
        batch.Hash.AppendData(line);
        batch.Hash.AppendData("\n"u8);
        openRows++;
        openBytes += row.Length;
        if (batch.Rows.Rows >= batchRows || batch.Rows.Length >= batchBytes)
        {
            Close(batch);
        }

        while (openRows >= (long)batchRows * OpenBudgetBatches || openBytes >= (long)batchBytes * OpenBudgetBatches)
        {
            Close(Largest());
        }
    }

    /// <summary>Closes every open batch, oldest partition first.</summary>
    public void CloseAll()
    {
        foreach (var batch in open.Values.OrderBy(b => b.Partition).ToList())
        {
            Close(batch);
        }
    }

    /// <summary>Takes back a buffer whose insert is done.</summary>
    public void Return(RowBuffer rows)
    {
        rows.Clear();
        if (free.Count < keptFreeBuffers)
        {
            free.Add(rows);
        }
    }

    public void Dispose()
    {
        foreach (var batch in open.Values)
        {
            batch.Hash.Dispose();
        }

        open.Clear();
    }

    private RowBuffer Rent() => free.TryTake(out var rows) ? rows : new RowBuffer(FirstBufferBytes);

    // Ties go to the earlier month, so the choice is the input's alone.
    private Batch Largest()
    {
        Batch? largest = null;
        foreach (var batch in open.Values)
        {
            if (largest is null || batch.Rows.Length > largest.Rows.Length
                || (batch.Rows.Length == largest.Rows.Length && batch.Partition < largest.Partition))
            {
                largest = batch;
            }
        }

        return largest!;
    }

    private void Close(Batch batch)
    {
        open.Remove(batch.Partition);
        openRows -= batch.Rows.Rows;
        openBytes -= batch.Rows.Length;
        string token;
        using (batch.Hash)
        {
            token = Convert.ToHexStringLower(batch.Hash.GetHashAndReset());
        }

        emit(batch.Rows, token);
    }

    private sealed record Batch(int Partition, RowBuffer Rows, IncrementalHash Hash);
}
