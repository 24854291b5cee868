using System.Collections.Generic;

namespace Serve.Runtime;

/// <summary>
/// An input a model declares: its name, element type and shape (-1 marks a dimension of any size).
/// A format that records only names (TorchScript's <c>forward(self, text: Tensor, offsets: Tensor)</c>)
/// leaves <see cref="ElementType"/> and <see cref="Shape"/> null: any element type and rank.
/// </summary>
public sealed record TensorDescription(string Name, TensorElementType? ElementType, IReadOnlyList<long>? Shape);

/// <summary>
/// A model that declares its inputs, so that a handler can build them by name and size, as a
/// BERT model's <c>input_ids</c>, <c>attention_mask</c> and <c>token_type_ids</c>.
/// </summary>
public interface IModelSignature
{
    /// <summary>The model's inputs, in the order the model declares them.</summary>
    IReadOnlyList<TensorDescription> Inputs { get; }
}
