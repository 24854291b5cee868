using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Serve.Runtime;
using TorchSharp;
using ScalarType = TorchSharp.torch.ScalarType;
using TorchDeviceType = TorchSharp.DeviceType;

namespace Serve.Torch;

/// <summary>
/// Conversions between Serve's <see cref="Tensor{T}"/> and TorchSharp's tensors that share memory
/// where they can: a CPU input over a whole array is wrapped, not copied (TorchSharp's
/// <c>from_array</c> pins the array, as <c>torch.from_numpy</c> shares a buffer), and a CPU output is exposed in place through
/// <see cref="NativeBuffer{T}"/>, which disposes the native tensor with the Serve tensor.
/// The copies that remain (to and from a GPU, a non-contiguous output, memory that is not a whole array) are counted in <see cref="TensorCopies"/>.
/// </summary>
public static class TorchTensors
{
    /// <summary>
    /// A TorchSharp tensor over the same memory as <paramref name="tensor"/> when it is a whole
    /// managed array (<c>torch.from_array</c> pins it: no copy); other memory (a slice, native
    /// memory) is copied, and the copy counted.
    /// </summary>
    public static torch.Tensor ToTorch(Tensor<float> tensor, string modelName)
    {
        if (MemoryMarshal.TryGetArray<float>(tensor.Memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length)
        {
            using var flat = torch.from_array(segment.Array);
            return flat.reshape(tensor.ShapeArray());
        }
        TensorCopies.Record(modelName, TorchModelLoader.BackendName, "not a whole array", tensor.Length * sizeof(float));
        return torch.tensor(tensor.Memory, tensor.ShapeArray());
    }

    /// <summary>
    /// A Serve tensor over a TorchSharp output's memory; it owns <paramref name="tensor"/> (or the
    /// CPU copy it had to make) and disposes it when disposed.
    /// </summary>
    public static Tensor<float> FromTorch(torch.Tensor tensor, string modelName)
    {
        if (tensor.dtype != ScalarType.Float32)
        {
            throw new InvalidOperationException($"Model '{modelName}' returned a {tensor.dtype} tensor; the default inference returns float32.");
        }
        if (tensor.device_type != TorchDeviceType.CPU)
        {
            TensorCopies.Record(modelName, TorchModelLoader.BackendName, "device to cpu", tensor.numel() * sizeof(float));
            var cpu = tensor.cpu();
            tensor.Dispose();
            tensor = cpu;
        }
        if (!tensor.is_contiguous())
        {
            TensorCopies.Record(modelName, TorchModelLoader.BackendName, "contiguous", tensor.numel() * sizeof(float));
            var contiguous = tensor.contiguous();
            tensor.Dispose();
            tensor = contiguous;
        }
        return NativeBuffer<float>.Tensor(DataPointer(tensor), tensor.shape, tensor);
    }

    /// <summary>The address of a CPU tensor's first element, for tests that check memory is shared.</summary>
    public static unsafe IntPtr DataPointer(torch.Tensor tensor)
    {
        fixed (byte* data = tensor.bytes)
        {
            return (IntPtr)data;
        }
    }
}
