namespace SegmentMcp.Export;

/// <summary>
/// Writes an export to a file that is replaced only once every row is written: the rows go to a temporary file beside
/// it, which is moved over it at the end, so a failed or cancelled export leaves what was there.
/// </summary>
internal static class ExportFile
{
    /// <param name="path">The file to write.</param>
    /// <param name="label">How messages name it (<c>--output FILE</c>, <c>path: FILE</c>).</param>
    /// <param name="write">Writes the rows to the stream it is given; returns how many.</param>
    public static async Task<long> WriteAsync(string path, string label, Func<Stream, Task<long>> write)
    {
        var temporary = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.part");
        try
        {
            long written;
            await using (var stream = Create(temporary, label))
            {
                written = await write(stream).ConfigureAwait(false);
            }

            try
            {
                File.Move(temporary, path, overwrite: true);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"{label}: the export could not replace it ({exception.Message})", exception);
            }

            return written;
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    private static FileStream Create(string temporary, string label)
    {
        try
        {
            return File.Create(temporary);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{label}: cannot write in '{Path.GetDirectoryName(temporary)}' ({exception.Message})", exception);
        }
    }
}
