using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;

namespace Serve.Runtime;

/// <summary>Builds a batch from the tensors a per-request preprocess made, and runs one.</summary>
public static class TensorBatch
{
    /// <summary>
    /// Stacks per-request tensors of one shape along a new leading batch dimension. A batch must
    /// be contiguous, so this is one copy per request, counted in <see cref="TensorCopies"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The batch is empty.</exception>
    /// <exception cref="InvalidRequestException">The tensors differ in shape; the message names the request.</exception>
    public static Tensor<T> Stack<T>(IReadOnlyList<Tensor<T>> items, string modelName, string backend) =>
        Stack(items, modelName, backend, items.Count);

    /// <summary>
    /// Stacks per-request tensors as <see cref="Stack{T}(IReadOnlyList{Tensor{T}}, string, string)"/> does into a batch of
    /// <paramref name="size"/> rows, the rows past the requests' left zero (a preferred batch size, <see cref="BatchShapes"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The batch is empty, or <paramref name="size"/> is less than their count.</exception>
    /// <exception cref="InvalidRequestException">The tensors differ in shape; the message names the request.</exception>
    public static Tensor<T> Stack<T>(IReadOnlyList<Tensor<T>> items, string modelName, string backend, int size)
    {
        var shape = Shape(items, size);
        var batch = new Tensor<T>(new T[checked(size * ItemLength(items))], shape);
        StackInto(items, batch, modelName, backend);
        return batch;
    }

    /// <summary>
    /// The shape of <paramref name="items"/> stacked into <paramref name="size"/> rows: [size, ..item shape].
    /// </summary>
    /// <exception cref="ArgumentException">The batch is empty, or <paramref name="size"/> is less than its count.</exception>
    public static long[] Shape<T>(IReadOnlyList<Tensor<T>> items, int size)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0)
        {
            throw new ArgumentException("The batch is empty.", nameof(items));
        }
        if (size < items.Count)
        {
            throw new ArgumentException($"A batch of {items.Count} requests cannot be padded to {size} rows.", nameof(size));
        }
        return [size, .. items[0].ShapeArray()];
    }

    /// <summary>
    /// Stacks per-request tensors into <paramref name="batch"/> (memory a caller reuses, shaped by
    /// <see cref="Shape{T}"/>): request i's tensor becomes row i, and the rows past the requests are
    /// cleared, so a reused buffer pads with zeros as a new one does. One copy per request, counted.
    /// </summary>
    /// <exception cref="ArgumentException">The batch is empty, or <paramref name="batch"/> is not shaped for them.</exception>
    /// <exception cref="InvalidRequestException">The tensors differ in shape; the message names the request.</exception>
    public static void StackInto<T>(IReadOnlyList<Tensor<T>> items, Tensor<T> batch, string modelName, string backend)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var shape = Shape(items, checked((int)Math.Min(batch.Shape.Count == 0 ? 0 : batch.Shape[0], int.MaxValue)));
        if (!batch.ShapeArray().AsSpan().SequenceEqual(shape))
        {
            throw new ArgumentException($"A batch of shape {Tensor.FormatShape(batch.Shape)} cannot hold {items.Count} tensors of shape {Tensor.FormatShape(items[0].Shape)}.", nameof(batch));
        }
        var itemShape = shape.AsSpan(1);
        var itemLength = ItemLength(items);
        var destination = batch.Span;
        for (var i = 0; i < items.Count; i++)
        {
            if (!items[i].ShapeArray().AsSpan().SequenceEqual(itemShape))
            {
                // The requests' tensors differ: a client's doing (a tensor it sent), answered as its error.
                throw new InvalidRequestException(
                    $"Request {i}'s tensor has shape {Tensor.FormatShape(items[i].Shape)}, but request 0's has {Tensor.FormatShape(items[0].Shape)}; a batch needs one shape.");
            }
            items[i].Span.CopyTo(destination.Slice(i * itemLength, itemLength));
            TensorCopies.Record(modelName, backend, "stack", (long)itemLength * Unsafe.SizeOf<T>());
        }
        destination[(items.Count * itemLength)..].Clear();
    }

    /// <summary>
    /// Runs per-request tensors through <paramref name="runStacked"/> (which stacks, runs and gives
    /// one output row per tensor): as one batch when they share a shape, else as one batch per shape,
    /// in order of first appearance, with the output rows put back in request order. So requests a
    /// model with free dimensions takes at their own sizes (an image, an audio clip) may share a
    /// batch. Each output row then costs one more copy, counted in <see cref="TensorCopies"/> as "unstack".
    /// </summary>
    /// <exception cref="ArgumentException">The batch is empty.</exception>
    /// <exception cref="InvalidOperationException">The shapes' outputs differ in row shape (a map at each
    /// image's size), which one output cannot hold, or an output has not one row per request.</exception>
    public static Tensor<TOut> RunByShape<TIn, TOut>(IReadOnlyList<Tensor<TIn>> items, Func<IReadOnlyList<Tensor<TIn>>, Tensor<TOut>> runStacked, string modelName, string backend)
    {
        ArgumentNullException.ThrowIfNull(runStacked);
        ItemLength(items);
        var uniform = true;
        for (var i = 1; uniform && i < items.Count; i++)
        {
            uniform = SameShape(items[i], items[0]);
        }
        if (uniform)
        {
            return runStacked(items);
        }

        var groups = new List<List<int>>();
        for (var i = 0; i < items.Count; i++)
        {
            var group = groups.Find(g => SameShape(items[g[0]], items[i]));
            if (group is null)
            {
                groups.Add(group = []);
            }
            group.Add(i);
        }

        Tensor<TOut>? joined = null;
        long[]? rowShape = null;
        foreach (var group in groups)
        {
            using var output = runStacked(group.ConvertAll(i => items[i]));
            var shape = output.ShapeArray();
            if (shape.Length == 0 || shape[0] != group.Count)
            {
                throw new InvalidOperationException(
                    $"Model '{modelName}' returned {Tensor.FormatShape(output.Shape)} for a batch of {group.Count}: batching needs one output row per request.");
            }
            if (rowShape is null)
            {
                rowShape = shape[1..];
                joined = new Tensor<TOut>(new TOut[checked(items.Count * (int)(output.Length / group.Count))], [items.Count, .. rowShape]);
            }
            else if (!shape.AsSpan(1).SequenceEqual(rowShape))
            {
                throw new InvalidOperationException(
                    $"Model '{modelName}' answered requests of shapes {Tensor.FormatShape(items[groups[0][0]].Shape)} and {Tensor.FormatShape(items[group[0]].Shape)} " +
                    $"with rows of {Tensor.FormatShape(rowShape)} and {Tensor.FormatShape(shape[1..])}, which one batch output cannot hold; " +
                    "serve it with batchSize 1, or run each request alone in an [Inference] stage.");
            }
            for (var row = 0; row < group.Count; row++)
            {
                var values = output.Row(row);
                values.CopyTo(joined!.Row(group[row]));
                TensorCopies.Record(modelName, backend, "unstack", (long)values.Length * Unsafe.SizeOf<TOut>());
            }
        }
        return joined!;
    }

    private static bool SameShape<TA, TB>(Tensor<TA> a, Tensor<TB> b)
    {
        if (a.Shape.Count != b.Shape.Count)
        {
            return false;
        }
        for (var i = 0; i < a.Shape.Count; i++)
        {
            if (a.Shape[i] != b.Shape[i])
            {
                return false;
            }
        }
        return true;
    }

    private static int ItemLength<T>(IReadOnlyList<Tensor<T>> items) =>
        items.Count == 0 ? throw new ArgumentException("The batch is empty.", nameof(items)) : checked((int)items[0].Length);

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
