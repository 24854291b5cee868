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

    /// <summary>
    /// Lets each glibc arena keep up to <paramref name="bytes"/> of freed memory at its top
    /// (<c>mallopt(M_TOP_PAD)</c>) instead of handing it back to the system at every free. A
    /// model that mallocs its activations on every run (libtorch) otherwise has them returned
    /// (madvise) after each run and faulted in again, zeroed, on the next: on 2 cores that was a
    /// fifth of the CPU serving a TorchScript MobileNetV3 (benchmarks/results, docs/backends.md).
    /// Process-wide; <see cref="Trim"/> still returns everything free. False where there is no glibc.
    /// </summary>
    public static bool KeepFreeTop(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (_unavailable)
        {
            return false;
        }
        try
        {
            return MallOpt(TopPad, bytes) == 1;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            _unavailable = true;
            return false;
        }
    }

    private const int TopPad = -2; // M_TOP_PAD in glibc's malloc.h

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
