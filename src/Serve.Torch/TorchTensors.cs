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
internal static class TorchTensors
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
    /// As <see cref="ToTorch"/>, for the element types a model's named inputs hold besides float32
    /// (token ids): float64, int64, int32, uint8 and bool; a whole array is wrapped, other memory copied.
    /// </summary>
    /// <exception cref="ArgumentException">Another element type (float16, string); the message names it.</exception>
    public static torch.Tensor ToTorchOfAnyType(Tensor tensor, string modelName) => tensor switch
    {
        Tensor<float> t => ToTorch(t, modelName),
        Tensor<double> t => Shared(t, modelName, sizeof(double), a => torch.from_array(a), (a, s) => torch.tensor(a, s)),
        Tensor<long> t => Shared(t, modelName, sizeof(long), a => torch.from_array(a), (a, s) => torch.tensor(a, s)),
        Tensor<int> t => Shared(t, modelName, sizeof(int), a => torch.from_array(a), (a, s) => torch.tensor(a, s)),
        Tensor<byte> t => Shared(t, modelName, sizeof(byte), a => torch.from_array(a), (a, s) => torch.tensor(a, s)),
        Tensor<bool> t => Shared(t, modelName, sizeof(bool), a => torch.from_array(a), (a, s) => torch.tensor(a, s)),
        _ => throw new ArgumentException(
            $"Model '{modelName}' was given a {tensor.ElementType} tensor; the TorchSharp backend takes float32, float64, int64, int32, uint8 and bool."),
    };

    private static torch.Tensor Shared<T>(Tensor<T> tensor, string modelName, int elementSize, Func<T[], torch.Tensor> wrap, Func<T[], long[], torch.Tensor> copy)
        where T : unmanaged
    {
        if (MemoryMarshal.TryGetArray<T>(tensor.Memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length)
        {
            using var flat = wrap(segment.Array);
            return flat.reshape(tensor.ShapeArray());
        }
        TensorCopies.Record(modelName, TorchModelLoader.BackendName, "not a whole array", tensor.Length * elementSize);
        return copy(tensor.Memory.ToArray(), tensor.ShapeArray());
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
        return Wrap<float>(OnCpuContiguous(tensor, sizeof(float), modelName));
    }

    /// <summary>
    /// As <see cref="FromTorch"/>, for the element types models return besides float32 (a
    /// detector's int64 labels): float64, int64, int32, uint8 and bool.
    /// </summary>
    /// <exception cref="NotSupportedException">Another element type; the message names it.</exception>
    public static Tensor FromTorchOfAnyType(torch.Tensor tensor, string modelName)
    {
        switch (tensor.dtype)
        {
            case ScalarType.Float32: return FromTorch(tensor, modelName);
            case ScalarType.Float64: return Wrap<double>(OnCpuContiguous(tensor, sizeof(double), modelName));
            case ScalarType.Int64: return Wrap<long>(OnCpuContiguous(tensor, sizeof(long), modelName));
            case ScalarType.Int32: return Wrap<int>(OnCpuContiguous(tensor, sizeof(int), modelName));
            case ScalarType.Byte: return Wrap<byte>(OnCpuContiguous(tensor, sizeof(byte), modelName));
            case ScalarType.Bool: return Wrap<bool>(OnCpuContiguous(tensor, sizeof(bool), modelName));
            default:
                var type = tensor.dtype;
                tensor.Dispose();
                throw new NotSupportedException($"Model '{modelName}' returned a {type} tensor; Serve's tensors hold float32, float64, int64, int32, uint8 and bool.");
        }
    }

    private static torch.Tensor OnCpuContiguous(torch.Tensor tensor, int elementSize, string modelName)
    {
        if (tensor.device_type != TorchDeviceType.CPU)
        {
            TensorCopies.Record(modelName, TorchModelLoader.BackendName, "device to cpu", tensor.numel() * elementSize);
            var cpu = tensor.cpu();
            tensor.Dispose();
            tensor = cpu;
        }
        if (!tensor.is_contiguous())
        {
            TensorCopies.Record(modelName, TorchModelLoader.BackendName, "contiguous", tensor.numel() * elementSize);
            var contiguous = tensor.contiguous();
            tensor.Dispose();
            tensor = contiguous;
        }
        return tensor;
    }

    private static Tensor<T> Wrap<T>(torch.Tensor tensor)
        where T : unmanaged => NativeBuffer<T>.Tensor(DataPointer(tensor), tensor.shape, tensor);

    /// <summary>The address of a CPU tensor's first element, for tests that check memory is shared.</summary>
    public static unsafe IntPtr DataPointer(torch.Tensor tensor)
    {
        fixed (byte* data = tensor.bytes)
        {
            return (IntPtr)data;
        }
    }
}
