using System;
using System.Collections.Generic;

namespace Serve.Runtime;

/// <summary>The accelerators a backend can use on this machine.</summary>
/// <param name="CudaDeviceCount">CUDA devices the backend can run on (0 without CUDA support or a GPU).</param>
/// <param name="MpsAvailable">True where Apple's Metal Performance Shaders backend works.</param>
public readonly record struct AcceleratorInventory(int CudaDeviceCount, bool MpsAvailable)
{
    /// <summary>No accelerator: the CPU only.</summary>
    public static AcceleratorInventory None { get; } = new(0, false);
}

/// <summary>The device a model runs on, and why, for the logs.</summary>
public readonly record struct DeviceChoice(Device Device, string Reason);

/// <summary>
/// Chooses a worker's device in TorchServe's order: CUDA with the worker's GPU id, then MPS,
/// then the CPU. <c>deviceType: cpu</c> in model-config keeps the model on the CPU;
/// <c>deviceIds</c> lists the GPUs its workers take in turn (TorchServe's round robin).
/// </summary>
public static class DeviceSelection
{
    /// <exception cref="ModelLoadException">A <c>deviceIds</c> entry names a GPU that does not exist.</exception>
    public static DeviceChoice Select(ModelConfig config, int workerIndex, AcceleratorInventory available)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(workerIndex);
        if (config.DeviceType == "cpu")
        {
            return new(Device.Cpu, "deviceType: cpu in model-config");
        }

        if (available.CudaDeviceCount > 0)
        {
            IReadOnlyList<int> ids = config.DeviceIds.Count > 0 ? config.DeviceIds : Range(available.CudaDeviceCount);
            foreach (var id in ids)
            {
                if (id >= available.CudaDeviceCount)
                {
                    throw new ModelLoadException(
                        $"deviceIds in model-config names GPU {id}, but this machine has {available.CudaDeviceCount} CUDA device(s) (0-{available.CudaDeviceCount - 1}).");
                }
            }
            var gpu = ids[workerIndex % ids.Count];
            var why = config.DeviceIds.Count > 0 ? $"deviceIds [{string.Join(", ", ids)}]" : $"{available.CudaDeviceCount} CUDA device(s)";
            return new(new Device(DeviceType.Cuda, gpu), $"worker {workerIndex} takes GPU {gpu} of {why}");
        }

        if (available.MpsAvailable)
        {
            return new(new Device(DeviceType.Mps), "MPS is available and there is no CUDA device");
        }

        return config.DeviceType == "gpu"
            ? new(Device.Cpu, "deviceType: gpu in model-config, but the backend finds no CUDA or MPS device; running on the CPU")
            : new(Device.Cpu, "no CUDA or MPS device");
    }

    /// <summary>
    /// Batches a model keeps in flight on each CUDA device by default (<see cref="ThreadBudget.DefaultWorkers"/>
    /// starts this many workers per device): its workers share one copy of the model per device,
    /// and each runs one batch at a time.
    /// </summary>
    /// <remarks>
    /// Two, so that while one batch computes on the device the next is stacked into its buffers
    /// and copied in, and the last one's outputs are copied back and postprocessed on the host;
    /// with one worker the device waits for all of that between batches (issue 19: batch 32 on an
    /// H200 left the GPU mostly idle). A second worker costs no device memory for the weights (the
    /// copy is shared), only a second batch's activations. More than two add no overlap while the
    /// runs share the session's one CUDA stream, and each would hold a batch's requests back from
    /// the next batch.
    /// </remarks>
    public const int BatchesInFlightPerGpu = 2;

    private static int[] Range(int count)
    {
        var ids = new int[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = i;
        }
        return ids;
    }
}
