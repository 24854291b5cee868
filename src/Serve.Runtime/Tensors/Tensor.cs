using System;
using System.Buffers;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;

namespace Serve.Runtime;

/// <summary>The element types models exchange; the names are ONNX's.</summary>
public enum TensorElementType
{
    /// <summary>32-bit floating point.</summary>
    Float,
    /// <summary>16-bit floating point.</summary>
    Float16,
    /// <summary>64-bit floating point.</summary>
    Double,
    /// <summary>32-bit signed integer.</summary>
    Int32,
    /// <summary>64-bit signed integer.</summary>
    Int64,
    /// <summary>8-bit unsigned integer.</summary>
    UInt8,
    /// <summary>Boolean.</summary>
    Bool,
    /// <summary>Text.</summary>
    String,
}

/// <summary>
/// A dense, row-major tensor that every backend reads and writes, so that one handler runs the
/// same code on TorchScript and ONNX models. It holds a <see cref="Memory{T}"/> and a shape, no
/// native state: a backend wraps its own output buffer in one without copying (and disposes the
/// native tensor with it), and reads an input's memory in place where its runtime allows.
/// </summary>
public abstract class Tensor : IDisposable
{
    private protected Tensor(long[] shape)
    {
        long length = 1;
        foreach (var dimension in shape)
        {
            if (dimension < 0)
            {
                throw new ArgumentException($"A tensor's dimensions must be at least 0, but the shape is {FormatShape(shape)}.", nameof(shape));
            }
            length = checked(length * dimension);
        }
        Shape = shape;
        Length = length;
    }

    /// <summary>The type of the elements.</summary>
    public abstract TensorElementType ElementType { get; }

    /// <summary>The dimensions, outermost first.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>The number of elements: the product of the dimensions.</summary>
    public long Length { get; }

    /// <summary>The shape as an array (a copy), for APIs that take one.</summary>
    public long[] ShapeArray() => [.. Shape];

    /// <summary>Releases the native buffer a backend's output may live in; a no-op for managed memory.</summary>
    public abstract void Dispose();

    /// <summary>The element type and shape, e.g. <c>Float[1, 3, 224, 224]</c>.</summary>
    public override string ToString() => $"{ElementType}{FormatShape(Shape)}";

    /// <summary>A shape as text: <c>[1, 3, 224, 224]</c>.</summary>
    public static string FormatShape(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>The element type of <typeparamref name="T"/>, or an error naming the type when no model takes it.</summary>
    public static TensorElementType ElementTypeOf<T>() => ElementTypes<T>.Value
        ?? throw new NotSupportedException(
            $"{typeof(T).Name} is not a tensor element type; use float, Half, double, int, long, byte, bool or string.");

    private static class ElementTypes<T>
    {
        public static readonly TensorElementType? Value =
            typeof(T) == typeof(float) ? TensorElementType.Float
            : typeof(T) == typeof(Half) ? TensorElementType.Float16
            : typeof(T) == typeof(double) ? TensorElementType.Double
            : typeof(T) == typeof(int) ? TensorElementType.Int32
            : typeof(T) == typeof(long) ? TensorElementType.Int64
            : typeof(T) == typeof(byte) ? TensorElementType.UInt8
            : typeof(T) == typeof(bool) ? TensorElementType.Bool
            : typeof(T) == typeof(string) ? TensorElementType.String
            : null;
    }
}

/// <summary>A dense tensor of <typeparamref name="T"/> (see <see cref="Tensor"/>).</summary>
public sealed class Tensor<T> : Tensor
{
    private IDisposable? _owner;

    /// <summary>A tensor over <paramref name="data"/> itself (no copy).</summary>
    /// <exception cref="ArgumentException">The data's length is not the shape's product.</exception>
    public Tensor(Memory<T> data, params long[] shape) : this(data, shape, owner: null)
    {
    }

    /// <summary>
    /// A tensor over memory that <paramref name="owner"/> keeps alive (a backend's native output);
    /// disposing the tensor disposes the owner.
    /// </summary>
    public Tensor(Memory<T> data, long[] shape, IDisposable? owner) : base(shape)
    {
        ElementType = ElementTypeOf<T>();
        if (data.Length != Length)
        {
            throw new ArgumentException(
                $"A {typeof(T).Name} tensor of shape {FormatShape(shape)} holds {Length} elements, but the data has {data.Length}.", nameof(data));
        }
        Memory = data;
        _owner = owner;
    }

    /// <summary>
    /// A tensor of <paramref name="shape"/> over an array rented from <see cref="ArrayPool{T}.Shared"/>,
    /// so that a server preprocessing hundreds of images a second does not allocate (and collect) a
    /// large array for each. Its elements start as whatever the array held: write every one.
    /// Disposing it returns the array, so dispose it only once nothing reads it; a tensor left
    /// undisposed is collected as any array is. A generated handler with no [Inference] stage
    /// disposes its preprocess's tensors once the model has run them and the results are written.
    /// </summary>
    /// <exception cref="ArgumentException">A dimension is negative, or the shape holds more elements than an array can.</exception>
    public static Tensor<T> Rent(params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long length = 1;
        foreach (var dimension in shape)
        {
            if (dimension < 0)
            {
                throw new ArgumentException($"A tensor's dimensions must be at least 0, but the shape is {FormatShape(shape)}.", nameof(shape));
            }
            length = checked(length * dimension);
        }
        if (length > Array.MaxLength)
        {
            throw new ArgumentException($"A tensor of shape {FormatShape(shape)} holds {length} elements, more than an array can.", nameof(shape));
        }
        var rented = new RentedArray(ArrayPool<T>.Shared.Rent((int)length));
        return new Tensor<T>(rented.Array.AsMemory(0, (int)length), shape, rented);
    }

    /// <inheritdoc/>
    public override TensorElementType ElementType { get; }

    /// <summary>The elements, row-major.</summary>
    public Memory<T> Memory { get; }

    /// <summary>The elements, row-major, as a span.</summary>
    public Span<T> Span => Memory.Span;

    /// <summary>The elements of row <paramref name="index"/> of the outermost dimension.</summary>
    public Span<T> Row(int index)
    {
        if (Shape.Count == 0)
        {
            throw new InvalidOperationException("A scalar tensor has no rows.");
        }
        var rowLength = checked((int)(Length / Math.Max(Shape[0], 1)));
        return Span.Slice(checked(index * rowLength), rowLength);
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        _owner?.Dispose();
        _owner = null;
    }

    /// <summary>An array from the shared pool, returned once, on the first dispose.</summary>
    private sealed class RentedArray(T[] array) : IDisposable
    {
        private T[]? _array = array;

        public T[] Array => _array ?? throw new ObjectDisposedException(nameof(RentedArray));

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _array, null) is { } returned)
            {
                // Strings are cleared, so that the pool holds no request's text.
                ArrayPool<T>.Shared.Return(returned, clearArray: RuntimeHelpers.IsReferenceOrContainsReferences<T>());
            }
        }
    }
}
