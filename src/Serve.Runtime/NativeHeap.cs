using System;
using System.Runtime.InteropServices;

namespace Serve.Runtime;

/// <summary>
/// Gives freed C heap memory back to the operating system. glibc keeps what native libraries
/// (ONNX Runtime, libtorch) free in its arenas, one per thread that allocated, so after a model
/// copy or a worker's buffers are released the process's resident memory stays high until
/// <c>malloc_trim</c> returns the free pages. A no-op off glibc.
/// </summary>
public static partial class NativeHeap
{
    private static bool _unavailable = !OperatingSystem.IsLinux();

    /// <summary>Returns the free pages of every glibc arena to the system; false where there is no glibc.</summary>
    public static bool Trim()
    {
        if (_unavailable)
        {
            return false;
        }
        try
        {
            MallocTrim(0);
            return true;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            // musl (Alpine) has no malloc_trim; its allocator returns memory on its own.
            _unavailable = true;
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
