using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Serve.Runtime;

/// <summary>
/// A model handler: what the Serve generator implements for a <c>[Handler]</c> class.
/// A worker owns one instance and never calls its batched stages concurrently. What a handler
/// can do beyond predictions it says by implementing a capability interface:
/// <see cref="IExplainingHandler"/>, <see cref="IRequestPreprocessingHandler"/>.
/// </summary>
public interface IHandler
{
    /// <summary>Loads the model and whatever else the handler needs; called once per worker.</summary>
    ValueTask InitializeAsync(HandlerContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Runs preprocess, inference and postprocess on a batch and returns exactly one result per
    /// request, in the batch's order. A request the handler rejected has a failed result.
    /// A request already run through <see cref="IRequestPreprocessingHandler.PreprocessAsync"/>
    /// carries its input (<see cref="InferenceRequest.TryGetPreprocessed{T}"/>) and is not preprocessed again.
    /// </summary>
    ValueTask<IReadOnlyList<InferenceResult>> HandleAsync(
        IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken);
}
