using System.Collections.Generic;
using System.ComponentModel;

namespace Serve.Runtime.CompilerServices;

/// <summary>
/// What a generated handler with no [Inference] stage does with its preprocess's output once the
/// model has run it and the results are written: nothing else reads it then, so its tensors are
/// disposed, and the memory a preprocess rented for them (<see cref="Tensor{T}.Rent"/>) goes back
/// to its pool for the next request. Tensors over plain arrays are left to the collector as before.
/// </summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public static class ModelInputs
{
    /// <summary>Disposes the tensors in <paramref name="inputs"/>: a tensor, or a list or map of them, or a list of those.</summary>
    public static void Release<T>(T inputs)
    {
        switch (inputs)
        {
            case Tensor tensor:
                tensor.Dispose();
                break;
            case IEnumerable<Tensor> tensors:
                foreach (var tensor in tensors)
                {
                    tensor?.Dispose();
                }
                break;
            case IEnumerable<KeyValuePair<string, Tensor>> named:
                foreach (var (_, tensor) in named)
                {
                    tensor?.Dispose();
                }
                break;
            case IEnumerable<IEnumerable<KeyValuePair<string, Tensor>>> namedList:
                foreach (var item in namedList)
                {
                    Release(item);
                }
                break;
        }
    }
}
