using System;
using System.Runtime.InteropServices;

namespace Serve.Torch;

/// <summary>
/// Switches TorchScript's graph executor between its default (the profiling executor, which
/// records the shapes of the first runs and compiles a graph specialised to them, again for every
/// new shape, keeping each) and the simple executor, which optimises the graph once. A detector fed images
/// of assorted sizes makes a new shape per request: the profiling executor then spends most of
/// each request re-specialising and holds every specialised graph (measured with
/// benchmarks/torchscript-shapes.sh). TorchSharp does not expose these switches, so they are
/// called in libtorch directly, as Python's <c>torch._C._jit_set_profiling_executor</c> and
/// <c>torch._C._jit_set_profiling_mode</c> do. The settings are process-wide.
/// </summary>
internal static partial class TorchScriptExecutor
{
    private const string Library = "libtorch_cpu";

    /// <summary>Turns the profiling executor on or off and says what it was; null where libtorch lacks the entry points (another libtorch build or OS).</summary>
    public static bool? SetProfiling(bool enabled)
    {
        try
        {
            // std::atomic<bool>& torch::jit::getProfilingMode(): a bool the executor reads on each new plan.
            var mode = GetProfilingMode();
            var executor = GetExecutorMode();
            var was = Marshal.ReadByte(mode) != 0;
            Marshal.WriteByte(mode, enabled ? (byte)1 : (byte)0);
            Marshal.WriteByte(executor, enabled ? (byte)1 : (byte)0);
            return was;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return null;
        }
    }

    [LibraryImport(Library, EntryPoint = "_ZN5torch3jit16getProfilingModeEv")]
    private static partial IntPtr GetProfilingMode();

    [LibraryImport(Library, EntryPoint = "_ZN5torch3jit15getExecutorModeEv")]
    private static partial IntPtr GetExecutorMode();
}
