using System;
using System.Runtime.InteropServices;

namespace Serve.TorchServe;

/// <summary>
/// The NVIDIA GPUs on the host, read through NVML (libnvidia-ml, installed with the driver), as
/// TorchServe's system metrics read them through pynvml. Bound at run time with
/// <see cref="NativeLibrary"/> and function pointers, so hosts without the driver run as before and
/// native AOT needs nothing. Each read calls NVML once per device; nothing is cached.
/// </summary>
internal sealed unsafe class NvmlGpus
{
    private const int Success = 0;

    private readonly delegate* unmanaged<uint*, int> _deviceCount;
    private readonly delegate* unmanaged<uint, nint*, int> _deviceByIndex;
    private readonly delegate* unmanaged<nint, Utilization*, int> _utilization;
    private readonly delegate* unmanaged<nint, MemoryInfo*, int> _memory;

    private NvmlGpus(nint library)
    {
        _deviceCount = (delegate* unmanaged<uint*, int>)NativeLibrary.GetExport(library, "nvmlDeviceGetCount_v2");
        _deviceByIndex = (delegate* unmanaged<uint, nint*, int>)NativeLibrary.GetExport(library, "nvmlDeviceGetHandleByIndex_v2");
        _utilization = (delegate* unmanaged<nint, Utilization*, int>)NativeLibrary.GetExport(library, "nvmlDeviceGetUtilizationRates");
        _memory = (delegate* unmanaged<nint, MemoryInfo*, int>)NativeLibrary.GetExport(library, "nvmlDeviceGetMemoryInfo");
    }

    /// <summary>The driver's NVML, or null where there is none (no NVIDIA driver, or it fails to start).</summary>
    public static NvmlGpus? Open() =>
        Open(OperatingSystem.IsWindows() ? "nvml.dll" : "libnvidia-ml.so.1");

    /// <summary>NVML from <paramref name="library"/> (a name or a path), or null where it cannot be loaded or started.</summary>
    public static NvmlGpus? Open(string library)
    {
        if (!NativeLibrary.TryLoad(library, out var handle))
        {
            return null;
        }
        try
        {
            var init = (delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "nvmlInit_v2");
            return init() == Success ? new NvmlGpus(handle) : null;
        }
        catch (EntryPointNotFoundException)
        {
            return null; // An NVML too old for the _v2 entry points.
        }
    }

    /// <summary>How many GPUs NVML sees; 0 when it cannot tell.</summary>
    public int Count
    {
        get
        {
            uint count;
            return _deviceCount(&count) == Success ? (int)count : 0;
        }
    }

    /// <summary>GPU <paramref name="index"/>'s load and memory now, or null when NVML cannot read it.</summary>
    public GpuReading? Read(int index)
    {
        nint device;
        Utilization utilization;
        MemoryInfo memory;
        if (_deviceByIndex((uint)index, &device) != Success || _memory(device, &memory) != Success)
        {
            return null;
        }
        // Some GPUs (and vGPUs) do not report utilization: the memory figures still stand.
        double? percent = _utilization(device, &utilization) == Success ? utilization.Gpu : null;
        return new GpuReading(
            UtilizationPercent: percent,
            MemoryUsedMegabytes: memory.Used / (1024.0 * 1024.0),
            MemoryUtilizationPercent: memory.Total == 0 ? 0 : 100.0 * memory.Used / memory.Total);
    }

    /// <summary>nvmlUtilization_t.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Utilization
    {
        public uint Gpu;
        public uint Memory;
    }

    /// <summary>nvmlMemory_t (bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct MemoryInfo
    {
        public ulong Total;
        public ulong Free;
        public ulong Used;
    }
}

/// <summary>One GPU as TorchServe's GPU metrics report it.</summary>
/// <param name="UtilizationPercent">GPUUtilization: the share of the last sample period a kernel ran; null where the GPU does not say.</param>
/// <param name="MemoryUsedMegabytes">GPUMemoryUsed, in MiB as nvidia-smi counts them.</param>
/// <param name="MemoryUtilizationPercent">GPUMemoryUtilization: used memory over total.</param>
internal readonly record struct GpuReading(double? UtilizationPercent, double MemoryUsedMegabytes, double MemoryUtilizationPercent);
