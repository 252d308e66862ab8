using System.Runtime.InteropServices;

namespace SegmentMcp.Core.Storage.Chdb;

/// <summary>The subset of chdb.h (chDB 26.7) that SegmentMcp binds. Strings are UTF-8; results are freed by us.</summary>
internal static unsafe partial class NativeMethods
{
    internal const string Library = "chdb";

    [LibraryImport(Library, EntryPoint = "chdb_connect")]
    internal static partial ChdbConnectionHandle Connect(int argc, byte** argv);

    [LibraryImport(Library, EntryPoint = "chdb_close_conn")]
    internal static partial void CloseConnection(nint* connectionPointer);

    [LibraryImport(Library, EntryPoint = "chdb_query_with_params_n")]
    internal static partial ChdbResultHandle QueryWithParameters(
        nint connection,
        byte* query,
        nuint queryLength,
        byte* format,
        nuint formatLength,
        byte** parameterNames,
        nuint* parameterNameLengths,
        byte** parameterValues,
        nuint* parameterValueLengths,
        nuint parameterCount);

    [LibraryImport(Library, EntryPoint = "chdb_stream_query_with_params_n")]
    internal static partial ChdbResultHandle StreamQueryWithParameters(
        nint connection,
        byte* query,
        nuint queryLength,
        byte* format,
        nuint formatLength,
        byte** parameterNames,
        nuint* parameterNameLengths,
        byte** parameterValues,
        nuint* parameterValueLengths,
        nuint parameterCount);

    [LibraryImport(Library, EntryPoint = "chdb_stream_fetch_result")]
    internal static partial ChdbResultHandle StreamFetch(nint connection, ChdbResultHandle stream);

    [LibraryImport(Library, EntryPoint = "chdb_stream_cancel_query")]
    internal static partial void StreamCancel(nint connection, ChdbResultHandle stream);

    /// <summary>Opens a streaming INSERT (the statement without FORMAT); check <see cref="InsertStreamError"/> before appending.</summary>
    [LibraryImport(Library, EntryPoint = "chdb_stream_insert_n")]
    internal static partial ChdbInsertStreamHandle StreamInsert(nint connection, byte* query, nuint queryLength, byte* format, nuint formatLength);

    /// <summary>Feeds input bytes (only <paramref name="length"/> of them are read); 0 on success.</summary>
    [LibraryImport(Library, EntryPoint = "chdb_stream_append")]
    internal static partial int StreamAppend(ChdbInsertStreamHandle stream, byte* data, nuint length);

    /// <summary>Finishes the INSERT and commits it; the result carries the error, if any.</summary>
    [LibraryImport(Library, EntryPoint = "chdb_stream_done")]
    internal static partial ChdbResultHandle StreamDone(ChdbInsertStreamHandle stream);

    [LibraryImport(Library, EntryPoint = "chdb_stream_cancel_insert")]
    internal static partial void StreamCancelInsert(ChdbInsertStreamHandle stream);

    /// <summary>The stream's error text (owned by the stream), or null.</summary>
    [LibraryImport(Library, EntryPoint = "chdb_stream_insert_error")]
    internal static partial byte* InsertStreamError(ChdbInsertStreamHandle stream);

    [LibraryImport(Library, EntryPoint = "chdb_destroy_insert_stream")]
    internal static partial void DestroyInsertStream(nint stream);

    [LibraryImport(Library, EntryPoint = "chdb_query_cmdline")]
    internal static partial ChdbResultHandle QueryCommandLine(int argc, byte** argv);

    [LibraryImport(Library, EntryPoint = "chdb_destroy_query_result")]
    internal static partial void DestroyResult(nint result);

    [LibraryImport(Library, EntryPoint = "chdb_result_buffer")]
    internal static partial byte* ResultBuffer(ChdbResultHandle result);

    [LibraryImport(Library, EntryPoint = "chdb_result_length")]
    internal static partial nuint ResultLength(ChdbResultHandle result);

    [LibraryImport(Library, EntryPoint = "chdb_result_elapsed")]
    internal static partial double ResultElapsed(ChdbResultHandle result);

    /// <summary>Rows read from storage (chdb_result_rows_read counts result rows instead).</summary>
    [LibraryImport(Library, EntryPoint = "chdb_result_storage_rows_read")]
    internal static partial ulong ResultStorageRowsRead(ChdbResultHandle result);

    [LibraryImport(Library, EntryPoint = "chdb_result_rows_written")]
    internal static partial ulong ResultRowsWritten(ChdbResultHandle result);

    [LibraryImport(Library, EntryPoint = "chdb_result_storage_bytes_read")]
    internal static partial ulong ResultStorageBytesRead(ChdbResultHandle result);

    /// <summary>The error text is owned by the result: read it before destroying the result.</summary>
    [LibraryImport(Library, EntryPoint = "chdb_result_error")]
    internal static partial byte* ResultError(ChdbResultHandle result);

    [LibraryImport(Library, EntryPoint = "chdb_version")]
    internal static partial byte* Version();
}

/// <summary>libc calls the embedded server mode needs.</summary>
internal static partial class LibC
{
    [LibraryImport("libc", EntryPoint = "mkfifo", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    internal static partial int MakeFifo(string path, uint mode);
}
