using System.Collections.Generic;

namespace Serve.Runtime;

/// <summary>
/// An input a model declares: its name, element type and shape (-1 marks a dimension of any size).
/// A format that records only names (TorchScript's <c>forward(self, text: Tensor, offsets: Tensor)</c>)
/// leaves <see cref="ElementType"/> and <see cref="Shape"/> null: any element type and rank.
/// </summary>
public sealed record TensorDescription(string Name, TensorElementType? ElementType, IReadOnlyList<long>? Shape)
{
    /// <summary>
    /// Why <paramref name="row"/>, one request's tensor, cannot be a row of this input's batch: its
    /// shape after the batch dimension, as a sentence that names the input; null when it can, or
    /// when this description has no shape. (The element type is the handler's choice, not the
    /// request's, so it is not checked here.)
    /// </summary>
    public string? RowMismatch(Tensor row)
    {
        System.ArgumentNullException.ThrowIfNull(row);
        if (Shape is not { } declared)
        {
            return null;
        }
        var fits = declared.Count == row.Shape.Count + 1;
        for (var i = 1; fits && i < declared.Count; i++)
        {
            fits = declared[i] < 0 || declared[i] == row.Shape[i - 1];
        }
        return fits ? null
            : $"input '{Name}' takes shape {Tensor.FormatShape(declared)} (-1: any size), one row per request; this request's tensor has shape {Tensor.FormatShape(row.Shape)}";
    }
}

/// <summary>
/// A model that declares its inputs, so that a handler can build them by name and size, as a
/// BERT model's <c>input_ids</c>, <c>attention_mask</c> and <c>token_type_ids</c>.
/// </summary>
public interface IModelSignature
{
    /// <summary>The model's inputs, in the order the model declares them.</summary>
    IReadOnlyList<TensorDescription> Inputs { get; }
}
