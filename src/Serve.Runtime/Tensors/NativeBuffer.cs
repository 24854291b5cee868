using System;
using System.Buffers;

namespace Serve.Runtime;

/// <summary>
/// Native memory a backend owns (an ONNX Runtime or libtorch output buffer) as a
/// <see cref="Memory{T}"/>, so a <see cref="Tensor{T}"/> can read it in place. Disposing it
/// disposes the owner, which frees the memory; an undisposed owner is left to its own finalizer.
/// </summary>
public sealed unsafe class NativeBuffer<T> : MemoryManager<T>
    where T : unmanaged
{
    private readonly IntPtr _data;
    private readonly int _length;
    private IDisposable? _owner;

    /// <param name="data">The first element; it must stay valid and unmoved while <paramref name="owner"/> lives.</param>
    /// <param name="length">The number of elements.</param>
    /// <param name="owner">What frees the memory when disposed.</param>
    public NativeBuffer(IntPtr data, int length, IDisposable owner)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _data = data;
        _length = length;
        _owner = owner;
    }

    /// <summary>A tensor over <paramref name="data"/> that disposes <paramref name="owner"/> when disposed.</summary>
    public static Tensor<T> Tensor(IntPtr data, long[] shape, IDisposable owner)
    {
        long length = 1;
        foreach (var dimension in shape)
        {
            length = checked(length * dimension);
        }
        var memory = new NativeBuffer<T>(data, checked((int)length), owner);
        return new Tensor<T>(memory.Memory, shape, memory);
    }

    /// <inheritdoc/>
    public override Span<T> GetSpan() => new((void*)_data, _length);

    // Native memory never moves: pinning is a no-op.
    /// <inheritdoc/>
    public override MemoryHandle Pin(int elementIndex = 0) => new((T*)_data + elementIndex);

    /// <inheritdoc/>
    public override void Unpin()
    {
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        _owner?.Dispose();
        _owner = null;
    }
}
