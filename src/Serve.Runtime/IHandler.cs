using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Serve.Runtime;

/// <summary>
/// A model handler: what the Serve generator implements for a <c>[Handler]</c> class.
/// A worker owns one instance and never calls its batched stages concurrently.
/// </summary>
public interface IHandler
{
    /// <summary>Loads the model and whatever else the handler needs; called once per worker.</summary>
    ValueTask InitializeAsync(HandlerContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Runs preprocess, inference and postprocess on a batch and returns exactly one result per
    /// request, in the batch's order. A request the handler rejected has a failed result.
    /// A request already run through <see cref="PreprocessAsync"/> carries its input
    /// (<see cref="InferenceRequest.TryGetPreprocessed{T}"/>) and is not preprocessed again.
    /// </summary>
    ValueTask<IReadOnlyList<InferenceResult>> HandleAsync(
        IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken);

    /// <summary>True when the handler declares an <c>[Explain]</c> stage.</summary>
    bool CanExplain { get; }

    /// <summary>Runs preprocess and the explain stage; one explanation per request.</summary>
    ValueTask<IReadOnlyList<InferenceResult>> ExplainAsync(
        IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken);

    /// <summary>
    /// True when preprocess takes one request rather than the batch: the server then runs
    /// <see cref="PreprocessAsync"/> as each request arrives, several at once, and only the
    /// batched stages wait for a worker.
    /// </summary>
    bool PreprocessesEachRequest => false;

    /// <summary>
    /// Runs the per-request preprocess on one request, timed, and returns the request carrying its
    /// output (<see cref="InferenceRequest.WithPreprocessed{T}"/>). Called concurrently from several
    /// threads on one instance, so a per-request preprocess must not change handler state.
    /// </summary>
    /// <exception cref="HandlerStageException">The preprocess failed or rejected the request.</exception>
    ValueTask<InferenceRequest> PreprocessAsync(InferenceRequest request, HandlerContext context, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{GetType().Name} preprocesses whole batches, not one request at a time.");
}
