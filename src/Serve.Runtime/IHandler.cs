using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Serve.Runtime;

/// <summary>
/// A model handler: what the Serve generator implements for a <c>[Handler]</c> class.
/// A worker owns one instance and never calls it concurrently.
/// </summary>
public interface IHandler
{
    /// <summary>Loads the model and whatever else the handler needs; called once per worker.</summary>
    ValueTask InitializeAsync(HandlerContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Runs preprocess, inference and postprocess on a batch and returns exactly one result per
    /// request, in the batch's order. A request the handler rejected has a failed result.
    /// </summary>
    ValueTask<IReadOnlyList<InferenceResult>> HandleAsync(
        IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken);

    /// <summary>True when the handler declares an <c>[Explain]</c> stage.</summary>
    bool CanExplain { get; }

    /// <summary>Runs preprocess and the explain stage; one explanation per request.</summary>
    ValueTask<IReadOnlyList<InferenceResult>> ExplainAsync(
        IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken);
}
