using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Channels;
using SegmentMcp.Core.Sql;

namespace SegmentMcp.Core.Storage.Chdb;

/// <summary>
/// The embedded engine: chDB loaded in-process. chDB runs one statement at a time per connection but several
/// connections to the same storage path run in parallel, so the engine keeps a small pool of connections and hands
/// one to each query. The engine is opened once per process (chDB allows one storage path per process and should
/// not be shut down and rebooted); <see cref="Open"/> returns the shared instance.
/// </summary>
public sealed class ChdbEngine : IClickHouseEngine
{
    private static readonly Lock OpenLock = new();
    private static ChdbEngine? shared;

    private readonly Channel<ChdbConnectionHandle> pool;
    private readonly ChdbConnectionHandle control;
    private readonly Lock controlLock = new();
    private volatile bool purgeSupported = !LeavesReleasesToAllocator(Environment.GetEnvironmentVariable("JE_MALLOC_CONF"));

    private ChdbEngine(string dataPath, int connections, EngineLimits limits)
    {
        DataPath = dataPath;
        Limits = limits;
        Connections = connections;
        pool = Channel.CreateBounded<ChdbConnectionHandle>(connections);
        control = Connect(dataPath, limits);
        for (var i = 0; i < connections; i++)
        {
            pool.Writer.TryWrite(Connect(dataPath, limits));
        }
    }

    public string Kind => "chdb";

    /// <summary>The storage directory (or ":memory:").</summary>
    public string DataPath { get; }

    public EngineLimits Limits { get; }

    /// <summary>How many queries can run at once.</summary>
    public int Connections { get; }

    /// <summary>The version of the loaded engine, e.g. "26.7.2".</summary>
    public static unsafe string EngineVersion
    {
        get
        {
            ChdbLibrary.EnsureResolver();
            return Marshal.PtrToStringUTF8((nint)NativeMethods.Version()) ?? string.Empty;
        }
    }

    /// <summary>Opens (first call) or returns (later calls) this process's embedded engine.</summary>
    public static ChdbEngine Open(string dataPath, EngineLimits? limits = null, int? connections = null)
    {
        var fullPath = dataPath == ":memory:" ? dataPath : Path.GetFullPath(dataPath);
        lock (OpenLock)
        {
            if (shared is not null)
            {
                if (!string.Equals(shared.DataPath, fullPath, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException(
                        $"The embedded engine is already open at '{shared.DataPath}' in this process; chDB allows one storage " +
                        $"path per process, so '{fullPath}' cannot be opened too.");
                }

                return shared;
            }

            if (fullPath != ":memory:")
            {
                CreateDataDirectory(fullPath);
            }

            ChdbLibrary.EnsureResolver();
            shared = new ChdbEngine(fullPath, connections ?? Math.Max(2, Environment.ProcessorCount), limits ?? new EngineLimits());
            return shared;
        }
    }

    /// <summary>The storage directory, created when missing; a path that cannot be one is named in the error.</summary>
    private static void CreateDataDirectory(string fullPath)
    {
        if (File.Exists(fullPath))
        {
            throw new IOException($"The embedded engine's data directory '{fullPath}' is a file, not a directory.");
        }

        try
        {
            Directory.CreateDirectory(fullPath);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"The embedded engine's data directory '{fullPath}' cannot be created: {exception.Message}", exception);
        }
    }

    /// <summary>
    /// False once the library turned the purge down (built without jemalloc), or when the operator set how long the
    /// allocator keeps freed memory (see <see cref="LeavesReleasesToAllocator"/>).
    /// </summary>
    internal bool PurgesFreedMemory => purgeSupported;

    /// <summary>
    /// Whether the allocator options the library reads when it loads (<c>JE_MALLOC_CONF</c>) set how long freed memory
    /// stays (<c>dirty_decay_ms</c>): an operator who chose that, say two minutes so that consecutive ticks reuse their
    /// memory, would have the choice undone by every purge.
    /// </summary>
    internal static bool LeavesReleasesToAllocator(string? allocatorOptions) =>
        allocatorOptions is not null
        && allocatorOptions.Split(',').Any(option => option.Trim().StartsWith("dirty_decay_ms:", StringComparison.Ordinal));

    /// <summary>
    /// The engine's allocator (jemalloc) returns freed pages after about five seconds; a purge returns them now. After a
    /// 2.4 GB aggregation on the 2M-profile demo the process stayed at 2.6 GB for seconds; purged, at 0.5 GB.
    /// </summary>
    public async Task ReleaseFreedMemoryAsync(CancellationToken cancellationToken = default)
    {
        if (!purgeSupported)
        {
            return;
        }

        try
        {
            await ExecuteAsync(new SqlStatement("SYSTEM JEMALLOC PURGE", []), cancellationToken).ConfigureAwait(false);
        }
        catch (ClickHouseException)
        {
            // A build of the library without jemalloc: its allocator returns memory by its own rules.
            purgeSupported = false;
        }
    }

    public async Task<QueryStatistics> ExecuteAsync(SqlStatement statement, CancellationToken cancellationToken = default)
    {
        var (_, statistics) = await RunAsync(statement.Text, statement.Parameters, static _ => 0, cancellationToken).ConfigureAwait(false);
        return statistics;
    }

    public async Task<QueryResult> QueryAsync(SqlStatement query, CancellationToken cancellationToken = default)
    {
        var reader = new JsonRowReader();
        var rows = new List<object?[]>();
        var (_, statistics) = await RunAsync(
            query.Text,
            query.Parameters,
            buffer =>
            {
                reader.ReadLines(buffer, rows);
                return 0;
            },
            cancellationToken).ConfigureAwait(false);
        return new QueryResult(reader.Names, reader.Types, rows, statistics);
    }

    public async IAsyncEnumerable<object?[]> StreamAsync(SqlStatement query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var connection = await pool.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        ChdbResultHandle? stream = null;
        var finished = false;

        // A fetch blocks until the engine has a chunk (a grouping has none until it ends): a cancel kills the statement.
        var registration = cancellationToken.Register(() => Kill(connection.Tag));
        try
        {
            var text = Encoding.UTF8.GetBytes(query.Text);
            var parameters = EncodeParameters(query.Parameters);
            stream = await Task.Run(() => Invoke(connection.Connection, text, parameters, streaming: true), CancellationToken.None).ConfigureAwait(false);
            ThrowIfError(stream, cancellationToken);
            var reader = new JsonRowReader();
            var rows = new List<object?[]>();
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var currentStream = stream;
                using var chunk = await Task.Run(() => NativeMethods.StreamFetch(connection.Connection, currentStream), CancellationToken.None).ConfigureAwait(false);
                ThrowIfError(chunk, cancellationToken);
                var length = NativeMethods.ResultLength(chunk);
                if (length == 0)
                {
                    finished = true;
                    break;
                }

                rows.Clear();
                ReadBuffer<int>(chunk, length, buffer =>
                {
                    reader.ReadLines(buffer, rows);
                    return 0;
                });
                foreach (var row in rows)
                {
                    yield return row;
                }
            }
        }
        finally
        {
            // First, so no KILL reaches the connection's next statement.
            await registration.DisposeAsync().ConfigureAwait(false);
            if (stream is not null && !finished)
            {
                NativeMethods.StreamCancel(connection.Connection, stream);
            }

            stream?.Dispose();
            Return(connection, healthy: finished);
        }
    }

    public Task<QueryStatistics> InsertJsonEachRowAsync(
        string table, ReadOnlyMemory<byte> rows, string? deduplicationToken, CancellationToken cancellationToken = default) =>
        InsertAsync(table, [], InsertFormats.JsonEachRow, rows, deduplicationToken, cancellationToken);

    /// <summary>
    /// Streams the rows into chDB's streaming INSERT (chdb_stream_insert_n / append / done) straight from the caller's
    /// memory: no copy of the batch is made on our side. Until <c>done</c> nothing is committed, so a failed or
    /// cancelled insert leaves no rows behind.
    /// </summary>
    public async Task<QueryStatistics> InsertAsync(
        string table,
        IReadOnlyList<string> columns,
        string format,
        ReadOnlyMemory<byte> rows,
        string? deduplicationToken,
        CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var text = Encoding.UTF8.GetBytes(InsertFormats.InsertText(table, columns, deduplicationToken));
        var formatName = Encoding.UTF8.GetBytes(InsertFormats.Require(format));

        return await OnConnectionAsync(connection => StreamInsert(connection, text, formatName, rows, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private static unsafe QueryStatistics StreamInsert(
        nint connection, byte[] text, byte[] format, ReadOnlyMemory<byte> rows, CancellationToken cancellationToken)
    {
        ChdbInsertStreamHandle stream;
        fixed (byte* textPointer = text)
        fixed (byte* formatPointer = format)
        {
            stream = NativeMethods.StreamInsert(connection, textPointer, (nuint)text.Length, formatPointer, (nuint)format.Length);
        }

        using (stream)
        {
            if (stream.IsInvalid)
            {
                throw new ClickHouseException(0, string.Empty, "chDB returned no insert stream.");
            }

            ThrowIfInsertError(stream, cancellationToken);
            var finished = false;
            try
            {
                if (!rows.IsEmpty)
                {
                    using var pin = rows.Pin();
                    if (NativeMethods.StreamAppend(stream, (byte*)pin.Pointer, (nuint)rows.Length) != 0)
                    {
                        ThrowIfInsertError(stream, cancellationToken);
                        throw new ClickHouseException(0, string.Empty, "chDB refused the inserted rows.");
                    }
                }

                finished = true;
                using var result = NativeMethods.StreamDone(stream);
                ThrowIfError(result, cancellationToken);
                return Statistics(result);
            }
            finally
            {
                if (!finished)
                {
                    NativeMethods.StreamCancelInsert(stream);
                }
            }
        }
    }

    private static unsafe void ThrowIfInsertError(ChdbInsertStreamHandle stream, CancellationToken cancellationToken)
    {
        var error = NativeMethods.InsertStreamError(stream);
        if (error != null)
        {
            ThrowEngineError(Marshal.PtrToStringUTF8((nint)error) ?? "unknown chDB error", cancellationToken);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask; // The process keeps its engine: see the class summary.

    internal static unsafe ChdbConnectionHandle Connect(string dataPath, EngineLimits limits)
    {
        var tag = $"segmentmcp-connection-{Guid.NewGuid():N}";
        var arguments = new List<string> { "clickhouse", "--config-file=" + ChdbConfig.Path, "--log_comment=" + tag };
        if (dataPath != ":memory:")
        {
            arguments.Add("--path=" + dataPath);
        }

        foreach (var (name, value) in limits.ToSettings())
        {
            arguments.Add($"--{name}={value}");
        }

        var encoded = arguments.Select(a => Encoding.UTF8.GetBytes(a + "\0")).ToArray();
        var handles = encoded.Select(bytes => GCHandle.Alloc(bytes, GCHandleType.Pinned)).ToArray();
        try
        {
            var argv = stackalloc byte*[encoded.Length];
            for (var i = 0; i < encoded.Length; i++)
            {
                argv[i] = (byte*)handles[i].AddrOfPinnedObject();
            }

            var connection = NativeMethods.Connect(encoded.Length, argv);
            if (connection.IsInvalid)
            {
                throw DirectoryUnavailable(dataPath);
            }

            connection.Tag = tag;
            return connection;
        }
        finally
        {
            foreach (var handle in handles)
            {
                handle.Free();
            }
        }
    }

    /// <summary>
    /// Why chDB would not open <paramref name="dataPath"/>. Most often another process holds it: ClickHouse keeps the
    /// directory's <c>status</c> file open and locked, so the error can name that process.
    /// </summary>
    private static ClickHouseException DirectoryUnavailable(string dataPath)
    {
        const string Remedy = "chDB lets one process use a data directory at a time: stop that process, or serve the directory " +
            "with 'segmentmcp clickhouse-server --data DIR' and point the others at it with --clickhouse.";
        if (LockHolder(dataPath) is { } holder)
        {
            return ClickHouseException.Unavailable(
                ClickHouseException.CannotOpenFile,
                "CANNOT_OPEN_FILE",
                $"The embedded data directory '{dataPath}' is in use by process {holder}. {Remedy}");
        }

        return ClickHouseException.Unavailable(
            0, string.Empty, $"chDB could not open the embedded data directory '{dataPath}' (the engine's reason is on standard error). If another process uses it: {Remedy}");
    }

    /// <summary>
    /// "PID (command line)" of another process holding the directory's <c>status</c> file open, found through
    /// /proc/*/fd: the file itself cannot be read while it is locked, because .NET takes a shared flock on every file
    /// it opens and ClickHouse holds an exclusive one.
    /// </summary>
    internal static string? LockHolder(string dataPath)
    {
        var status = Path.Combine(dataPath, "status");
        if (!File.Exists(status) || !Directory.Exists("/proc"))
        {
            return null;
        }

        foreach (var processDirectory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(processDirectory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                if (Directory.EnumerateFileSystemEntries(Path.Combine(processDirectory, "fd")).Any(fd => new FileInfo(fd).LinkTarget == status))
                {
                    var commandLine = File.ReadAllText(Path.Combine(processDirectory, "cmdline")).Replace('\0', ' ').Trim();
                    return commandLine.Length == 0 ? pid.ToString(CultureInfo.InvariantCulture)
                        : $"{pid} ({(commandLine.Length <= 160 ? commandLine : commandLine[..160] + "…")})";
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // A process that ended meanwhile, or one whose descriptors this user may not list.
            }
        }

        return null;
    }

    private Task<(T Value, QueryStatistics Statistics)> RunAsync<T>(
        string text, IReadOnlyList<SqlParameter> parameters, ReadBufferFunc<T> read, CancellationToken cancellationToken) =>
        RunBytesAsync(Encoding.UTF8.GetBytes(text), EncodeParameters(parameters), read, cancellationToken);

    private async Task<(T Value, QueryStatistics Statistics)> RunBytesAsync<T>(
        byte[] text, (byte[] Name, byte[] Value)[] parameters, ReadBufferFunc<T> read, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return await OnConnectionAsync(
            connection =>
            {
                using var result = Invoke(connection, text, parameters, streaming: false);
                ThrowIfError(result, cancellationToken);
                var value = ReadBuffer(result, NativeMethods.ResultLength(result), read);
                return (value, Statistics(result));
            },
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a pooled connection on a worker thread; cancellation kills the statement that
    /// runs on that connection (see <see cref="Kill"/>). A connection whose work threw is replaced (see <see cref="Return"/>).
    /// </summary>
    private async Task<T> OnConnectionAsync<T>(Func<nint, T> work, CancellationToken cancellationToken)
    {
        var connection = await pool.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var healthy = false;
        try
        {
            // Disposed (waiting for a KILL under way) before the connection goes back to the pool, so a KILL never
            // reaches the connection's next statement.
            using var registration = cancellationToken.Register(() => Kill(connection.Tag));
            return await Task.Run(
                () =>
                {
                    var value = work(connection.Connection);
                    healthy = true;
                    return value;
                },
                CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            Return(connection, healthy);
        }
    }

    private static QueryStatistics Statistics(ChdbResultHandle result) => new(
        NativeMethods.ResultStorageRowsRead(result),
        NativeMethods.ResultStorageBytesRead(result),
        TimeSpan.FromSeconds(NativeMethods.ResultElapsed(result)),
        NativeMethods.ResultRowsWritten(result));

    /// <summary>
    /// A connection whose statement failed, was killed or was abandoned mid-stream can keep that statement's partial
    /// output and prepend it to the next result; such a connection is closed and replaced by a fresh one.
    /// </summary>
    private void Return(ChdbConnectionHandle connection, bool healthy)
    {
        if (!healthy)
        {
            connection.Dispose();
            connection = Connect(DataPath, Limits);
        }

        pool.Writer.TryWrite(connection);
    }

    /// <summary>
    /// Stops the statement running on the connection tagged <paramref name="tag"/>. Each connection is opened with its
    /// own <c>log_comment</c>, which the process list shows for each of its statements; the statement's text cannot
    /// name it, because the engine lists a statement with parameters reformatted (comments gone, values substituted).
    /// </summary>
    private unsafe void Kill(string tag)
    {
        // KILL runs on a connection of its own so it never waits behind the query it stops.
        var sql = $"KILL QUERY WHERE Settings['log_comment'] = '{tag}' ASYNC";
        lock (controlLock)
        {
            using var result = Invoke(control.Connection, Encoding.UTF8.GetBytes(sql), [], streaming: false);
        }
    }

    private static unsafe T ReadBuffer<T>(ChdbResultHandle result, nuint length, ReadBufferFunc<T> read)
    {
        if (length > int.MaxValue)
        {
            throw new ClickHouseException(0, string.Empty, $"The result is {length} bytes, more than one buffer can hold; page it with LIMIT.");
        }

        var buffer = length == 0 ? [] : new ReadOnlySpan<byte>(NativeMethods.ResultBuffer(result), (int)length);
        return read(buffer);
    }

    private static unsafe void ThrowIfError(ChdbResultHandle result, CancellationToken cancellationToken)
    {
        if (result.IsInvalid)
        {
            throw new ClickHouseException(0, string.Empty, "chDB returned no result.");
        }

        var error = NativeMethods.ResultError(result);
        if (error == null)
        {
            return;
        }

        ThrowEngineError(Marshal.PtrToStringUTF8((nint)error) ?? "unknown chDB error", cancellationToken);
    }

    private static void ThrowEngineError(string text, CancellationToken cancellationToken)
    {
        var exception = ClickHouseException.FromEngineText(text);
        if (exception.Code == ClickHouseException.QueryWasCancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The query was cancelled.", exception, cancellationToken);
        }

        throw exception;
    }

    private static (byte[] Name, byte[] Value)[] EncodeParameters(IReadOnlyList<SqlParameter> parameters)
    {
        var encoded = new (byte[] Name, byte[] Value)[parameters.Count];
        for (var i = 0; i < parameters.Count; i++)
        {
            var parameter = parameters[i];
            encoded[i] = (Encoding.UTF8.GetBytes(parameter.Name), Encoding.UTF8.GetBytes(ParameterText.Format(parameter.ClickHouseType, parameter.Value)));
        }

        return encoded;
    }

    internal static unsafe ChdbResultHandle Invoke(nint connection, byte[] statement, (byte[] Name, byte[] Value)[] parameters, bool streaming)
    {
        var count = parameters.Length;
        var pins = new GCHandle[count * 2];
        var names = new byte*[Math.Max(count, 1)];
        var values = new byte*[Math.Max(count, 1)];
        var nameLengths = new nuint[Math.Max(count, 1)];
        var valueLengths = new nuint[Math.Max(count, 1)];
        try
        {
            for (var i = 0; i < count; i++)
            {
                pins[2 * i] = GCHandle.Alloc(parameters[i].Name, GCHandleType.Pinned);
                pins[(2 * i) + 1] = GCHandle.Alloc(parameters[i].Value, GCHandleType.Pinned);
                names[i] = (byte*)pins[2 * i].AddrOfPinnedObject();
                values[i] = (byte*)pins[(2 * i) + 1].AddrOfPinnedObject();
                nameLengths[i] = (nuint)parameters[i].Name.Length;
                valueLengths[i] = (nuint)parameters[i].Value.Length;
            }

            var format = "JSONCompactEachRowWithNamesAndTypes"u8;
            fixed (byte* text = statement)
            fixed (byte* formatPointer = format)
            fixed (byte** namePointers = names)
            fixed (byte** valuePointers = values)
            fixed (nuint* nameLengthPointer = nameLengths)
            fixed (nuint* valueLengthPointer = valueLengths)
            {
                return streaming
                    ? NativeMethods.StreamQueryWithParameters(connection, text, (nuint)statement.Length, formatPointer, (nuint)format.Length, namePointers, nameLengthPointer, valuePointers, valueLengthPointer, (nuint)count)
                    : NativeMethods.QueryWithParameters(connection, text, (nuint)statement.Length, formatPointer, (nuint)format.Length, namePointers, nameLengthPointer, valuePointers, valueLengthPointer, (nuint)count);
            }
        }
        finally
        {
            foreach (var pin in pins)
            {
                if (pin.IsAllocated)
                {
                    pin.Free();
                }
            }
        }
    }

    private delegate T ReadBufferFunc<out T>(ReadOnlySpan<byte> buffer);
}
