using System;
using System.Buffers;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Serve.Runtime;
using OrtElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace Serve.Onnx;

/// <summary>
/// Conversions between Serve's tensors and ONNX Runtime's <see cref="OrtValue"/> that share
/// memory: an input's managed memory is pinned and handed to ONNX Runtime as it is, and an
/// output is read in place through <see cref="NativeBuffer{T}"/>, which owns the OrtValue.
/// Strings cannot be shared (ONNX Runtime keeps its own), so they are copied and counted.
/// </summary>
public static class OnnxTensors
{
    /// <summary>An OrtValue over <paramref name="tensor"/>'s memory; dispose it before unpinning (<paramref name="pin"/>).</summary>
    public static unsafe OrtValue ToOrtValue(Tensor tensor, out MemoryHandle pin, string modelName)
    {
        pin = default;
        if (tensor is Tensor<string> strings)
        {
            TensorCopies.Record(modelName, OnnxModelLoader.BackendName, "string", strings.Length);
            var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, tensor.ShapeArray());
            var span = strings.Span;
            for (var i = 0; i < span.Length; i++)
            {
                value.StringTensorSetElementAt(span[i].AsSpan(), i);
            }
            return value;
        }
        var (memoryPin, bytes) = tensor switch
        {
            Tensor<float> t => (t.Memory.Pin(), t.Length * sizeof(float)),
            Tensor<Half> t => (t.Memory.Pin(), t.Length * sizeof(Half)),
            Tensor<double> t => (t.Memory.Pin(), t.Length * sizeof(double)),
            Tensor<int> t => (t.Memory.Pin(), t.Length * sizeof(int)),
            Tensor<long> t => (t.Memory.Pin(), t.Length * sizeof(long)),
            Tensor<byte> t => (t.Memory.Pin(), t.Length),
            Tensor<bool> t => (t.Memory.Pin(), t.Length * sizeof(bool)),
            _ => throw new NotSupportedException($"ONNX Runtime takes no {tensor.ElementType} tensors."),
        };
        pin = memoryPin;
        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, ToOrt(tensor.ElementType), tensor.ShapeArray(), (IntPtr)pin.Pointer, bytes);
    }

    /// <summary>A Serve tensor over an output OrtValue's memory; it takes ownership of <paramref name="value"/>.</summary>
    /// <exception cref="NotSupportedException">An element type Serve's tensors do not hold; the message names the output.</exception>
    public static Tensor FromOrtValue(OrtValue value, string outputName, string modelName)
    {
        var info = value.GetTensorTypeAndShape();
        var shape = info.Shape;
        switch (info.ElementDataType)
        {
            case OrtElementType.Float: return Wrap<float>(value, shape);
            case OrtElementType.Float16: return Wrap<Half>(value, shape);
            case OrtElementType.Double: return Wrap<double>(value, shape);
            case OrtElementType.Int32: return Wrap<int>(value, shape);
            case OrtElementType.Int64: return Wrap<long>(value, shape);
            case OrtElementType.UInt8: return Wrap<byte>(value, shape);
            case OrtElementType.Bool: return Wrap<bool>(value, shape);
            case OrtElementType.String:
                using (value)
                {
                    TensorCopies.Record(modelName, OnnxModelLoader.BackendName, "string", info.ElementCount);
                    return new Tensor<string>(value.GetStringTensorAsArray(), shape);
                }
            default:
                value.Dispose();
                throw new NotSupportedException(
                    $"Model '{modelName}' output '{outputName}' is {info.ElementDataType}; Serve's tensors hold float, float16, double, int32, int64, uint8, bool and string.");
        }
    }

    public static OrtElementType ToOrt(TensorElementType type) => type switch
    {
        TensorElementType.Float => OrtElementType.Float,
        TensorElementType.Float16 => OrtElementType.Float16,
        TensorElementType.Double => OrtElementType.Double,
        TensorElementType.Int32 => OrtElementType.Int32,
        TensorElementType.Int64 => OrtElementType.Int64,
        TensorElementType.UInt8 => OrtElementType.UInt8,
        TensorElementType.Bool => OrtElementType.Bool,
        TensorElementType.String => OrtElementType.String,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Serve's element type for an ONNX one, or null where Serve's tensors hold no such elements.</summary>
    public static TensorElementType? FromOrt(OrtElementType type) => type switch
    {
        OrtElementType.Float => TensorElementType.Float,
        OrtElementType.Float16 => TensorElementType.Float16,
        OrtElementType.Double => TensorElementType.Double,
        OrtElementType.Int32 => TensorElementType.Int32,
        OrtElementType.Int64 => TensorElementType.Int64,
        OrtElementType.UInt8 => TensorElementType.UInt8,
        OrtElementType.Bool => TensorElementType.Bool,
        OrtElementType.String => TensorElementType.String,
        _ => null,
    };

    private static unsafe Tensor<T> Wrap<T>(OrtValue value, long[] shape)
        where T : unmanaged
    {
        var data = (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetReference(value.GetTensorMutableRawData()));
        return NativeBuffer<T>.Tensor(data, shape, value);
    }
}
