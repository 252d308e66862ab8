using System.Runtime.InteropServices;

namespace SegmentMcp.Core.Storage.Chdb;

/// <summary>A chdb_connection. Closing the last one shuts the engine down, so the engine keeps them for its lifetime.</summary>
internal sealed unsafe class ChdbConnectionHandle : SafeHandle
{
    public ChdbConnectionHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == nint.Zero;

    /// <summary>The connection's own <c>log_comment</c>, by which a statement running on it is found and killed.</summary>
    public string Tag { get; set; } = string.Empty;

    /// <summary>The connection value (chdb_connect returns a pointer to it).</summary>
    public nint Connection => *(nint*)handle;

    protected override bool ReleaseHandle()
    {
        var pointer = handle;
        NativeMethods.CloseConnection((nint*)pointer);
        return true;
    }
}

/// <summary>A chdb_result (buffered, or a stream and its chunks).</summary>
internal sealed class ChdbResultHandle : SafeHandle
{
    public ChdbResultHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == nint.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.DestroyResult(handle);
        return true;
    }
}

/// <summary>A chdb_insert_stream (streaming INSERT: append input bytes, then done or cancel).</summary>
internal sealed class ChdbInsertStreamHandle : SafeHandle
{
    public ChdbInsertStreamHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == nint.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.DestroyInsertStream(handle);
        return true;
    }
}
