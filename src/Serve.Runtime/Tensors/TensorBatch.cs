using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;

namespace Serve.Runtime;

/// <summary>Builds a batch from the tensors a per-request preprocess made.</summary>
public static class TensorBatch
{
    /// <summary>
    /// Stacks per-request tensors of one shape along a new leading batch dimension. A batch must
    /// be contiguous, so this is one copy per request, counted in <see cref="TensorCopies"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The batch is empty, or the tensors differ in shape; the message names the request.</exception>
    public static Tensor<T> Stack<T>(IReadOnlyList<Tensor<T>> items, string modelName, string backend) =>
        Stack(items, modelName, backend, items.Count);

    /// <summary>
    /// Stacks per-request tensors as <see cref="Stack{T}(IReadOnlyList{Tensor{T}}, string, string)"/> does into a batch of
    /// <paramref name="size"/> rows, the rows past the requests' left zero (a preferred batch size, <see cref="BatchShapes"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The batch is empty, the tensors differ in shape, or <paramref name="size"/> is less than their count.</exception>
    public static Tensor<T> Stack<T>(IReadOnlyList<Tensor<T>> items, string modelName, string backend, int size)
    {
        if (items.Count == 0)
        {
            throw new ArgumentException("The batch is empty.", nameof(items));
        }
        if (size < items.Count)
        {
            throw new ArgumentException($"A batch of {items.Count} requests cannot be padded to {size} rows.", nameof(size));
        }
        var itemShape = items[0].ShapeArray();
        var itemLength = checked((int)items[0].Length);
        var batch = new T[checked(size * itemLength)];
        for (var i = 0; i < items.Count; i++)
        {
            if (!items[i].ShapeArray().AsSpan().SequenceEqual(itemShape))
            {
                throw new ArgumentException(
                    $"Request {i}'s tensor has shape {Tensor.FormatShape(items[i].Shape)}, but request 0's has {Tensor.FormatShape(itemShape)}; a batch needs one shape.");
            }
            items[i].Span.CopyTo(batch.AsSpan(i * itemLength, itemLength));
            TensorCopies.Record(modelName, backend, "stack", (long)itemLength * Unsafe.SizeOf<T>());
        }
        return new Tensor<T>(batch, [size, .. itemShape]);
    }

    /// <summary>
    /// The first <paramref name="count"/> rows of a padded batch's output, over its memory (no
    /// copy); disposing them disposes <paramref name="batch"/>. The batch itself when it has that many rows.
    /// </summary>
    /// <exception cref="ArgumentException">The tensor is a scalar or has fewer rows.</exception>
    public static Tensor<T> TakeRows<T>(Tensor<T> batch, int count)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Shape.Count == 0 || batch.Shape[0] < count)
        {
            throw new ArgumentException($"A tensor of shape {Tensor.FormatShape(batch.Shape)} has no {count} rows to take.", nameof(batch));
        }
        if (batch.Shape[0] == count)
        {
            return batch;
        }
        var rowLength = batch.Length / batch.Shape[0];
        long[] shape = [count, .. batch.ShapeArray()[1..]];
        return new Tensor<T>(batch.Memory[..checked((int)(rowLength * count))], shape, owner: batch);
    }
}
