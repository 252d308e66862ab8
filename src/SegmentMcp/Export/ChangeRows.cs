using System.Globalization;
using SegmentMcp.Core.Storage;

namespace SegmentMcp.Export;

/// <summary>
/// A saved segment's entries and exits as export rows (<c>profile_id, change, at</c>), oldest first, for <c>segments
/// changes</c> and <c>export_changes</c>; counts what it returned.
/// </summary>
internal sealed class ChangeRows(IMembershipReader membership, string tenant, string segmentId, DateTime? since, DateTime? until, string? only, CancellationToken stop)
{
    /// <summary>The columns each row has after its profile id.</summary>
    public static readonly IReadOnlyList<string> Columns = ["change", "at"];

    private (DateTime At, string ProfileId)? position;
    private bool done;

    public long Entered { get; private set; }

    public long Exited { get; private set; }

    /// <summary>
    /// The next page (at most <see cref="MemberWriter.Page"/> rows). Pages follow the log's rows, not the rows returned:
    /// a page that <c>only</c> filters may be short without being the last.
    /// </summary>
    public async Task<IReadOnlyList<ExportRow>> NextAsync(ExportRow? previous)
    {
        var rows = new List<ExportRow>();
        while (!done && rows.Count < MemberWriter.Page)
        {
            var changes = await membership.ChangesAsync(tenant, segmentId, since, until, position, MemberWriter.Page, stop).ConfigureAwait(false);
            done = changes.Count < MemberWriter.Page;
            if (changes.Count > 0)
            {
                position = (changes[^1].At, changes[^1].ProfileId);
            }

            foreach (var change in changes.Where(c => only is null || c.Entered == (only == "entered")))
            {
                (Entered, Exited) = change.Entered ? (Entered + 1, Exited) : (Entered, Exited + 1);
                rows.Add(new ExportRow(change.ProfileId, [change.Entered ? "entered" : "exited", change.At.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)]));
            }
        }

        return rows;
    }
}
