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
    /// Setting it turns off glibc's dynamic mmap threshold, which would have risen to the largest
    /// block freed (up to 32 MB), so the threshold is set to that maximum here: otherwise every
    /// block over 128 KB, a batch's activations among them, is mapped and unmapped on each run.
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
            return MallOpt(MmapThreshold, MaxMmapThreshold) == 1 && MallOpt(TopPad, bytes) == 1;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            _unavailable = true;
            return false;
        }
    }

    // glibc's malloc.h.
    private const int TopPad = -2, MmapThreshold = -3;

    /// <summary>glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems: the highest M_MMAP_THRESHOLD it takes, and where the dynamic threshold stops.</summary>
    private const int MaxMmapThreshold = 32 << 20;

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
