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
    public static Tensor<T> Stack<T>(IReadOnlyList<Tensor<T>> items, string modelName, string backend)
    {
        if (items.Count == 0)
        {
            throw new ArgumentException("The batch is empty.", nameof(items));
        }
        var itemShape = items[0].ShapeArray();
        var itemLength = checked((int)items[0].Length);
        var batch = new T[checked(items.Count * itemLength)];
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
        return new Tensor<T>(batch, [items.Count, .. itemShape]);
    }
}
