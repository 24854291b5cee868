using System;
using System.Buffers;
using System.Runtime.InteropServices;
using Serve.Runtime;

namespace Serve.Runtime.Tests.Contracts;

public class TensorTests
{
    [Fact]
    public void A_tensor_wraps_its_memory_without_copying()
    {
        var data = new float[6];
        var tensor = new Tensor<float>(data, 2, 3);

        data[4] = 7;

        Assert.Equal(7, tensor.Row(1)[1]);
        Assert.Equal((TensorElementType.Float, 6L, "Float[2, 3]"), (tensor.ElementType, tensor.Length, tensor.ToString()));
    }

    [Fact]
    public void Data_that_does_not_fill_the_shape_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => new Tensor<long>(new long[5], 2, 3));

        Assert.StartsWith("A Int64 tensor of shape [2, 3] holds 6 elements, but the data has 5.", error.Message);
    }

    [Fact]
    public void Each_onnx_element_type_maps_and_others_are_refused_by_name()
    {
        Assert.Equal(TensorElementType.Float16, new Tensor<Half>(new Half[1], 1).ElementType);
        Assert.Equal(TensorElementType.Bool, new Tensor<bool>(new bool[1], 1).ElementType);
        Assert.Equal(TensorElementType.String, new Tensor<string>(new[] { "a" }, 1).ElementType);
        Assert.Contains("Decimal is not a tensor element type", Assert.Throws<NotSupportedException>(() => new Tensor<decimal>(new decimal[1], 1)).Message);
    }

    [Fact]
    public void A_rented_tensor_holds_its_shape_over_a_pooled_array_and_returns_it_once()
    {
        // 5 x 7 x 11 = 385 elements: a size no other test rents, so the pool's next array is this one.
        var tensor = Tensor<double>.Rent(5, 7, 11);
        Assert.Equal(("Double[5, 7, 11]", 385), (tensor.ToString(), tensor.Span.Length));
        Assert.True(MemoryMarshal.TryGetArray<double>(tensor.Memory, out var segment));

        tensor.Dispose();
        tensor.Dispose();

        var next = ArrayPool<double>.Shared.Rent(385);
        var after = ArrayPool<double>.Shared.Rent(385);
        Assert.Same(segment.Array, next);
        Assert.NotSame(segment.Array, after); // returned once, though disposed twice
        ArrayPool<double>.Shared.Return(next);
        ArrayPool<double>.Shared.Return(after);
    }

    [Fact]
    public void A_rented_tensor_of_strings_goes_back_cleared()
    {
        var tensor = Tensor<string>.Rent(3);
        tensor.Span.Fill("a request's text");
        Assert.True(MemoryMarshal.TryGetArray<string>(tensor.Memory, out var segment));

        tensor.Dispose();

        Assert.All(segment.Array!, Assert.Null);
    }

    [Fact]
    public void A_rented_tensor_of_a_negative_or_too_large_shape_is_refused()
    {
        Assert.StartsWith("A tensor's dimensions must be at least 0, but the shape is [2, -1].", Assert.Throws<ArgumentException>(() => Tensor<float>.Rent(2, -1)).Message);
        Assert.StartsWith("A tensor of shape [65536, 65536] holds 4294967296 elements, more than an array can.",
            Assert.Throws<ArgumentException>(() => Tensor<float>.Rent(65536, 65536)).Message);
    }

    [Fact]
    public void Disposing_disposes_the_owner_of_native_memory_once()
    {
        var owner = new CountingOwner();
        var tensor = new Tensor<float>(new float[1], [1], owner);

        tensor.Dispose();
        tensor.Dispose();

        Assert.Equal(1, owner.Disposals);
    }

    private sealed class CountingOwner : IDisposable
    {
        public int Disposals { get; private set; }

        public void Dispose() => Disposals++;
    }
}
