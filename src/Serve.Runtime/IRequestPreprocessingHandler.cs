using System.Threading;
using System.Threading.Tasks;

namespace Serve.Runtime;

/// <summary>
/// A handler whose preprocess takes one request rather than the batch: what the generator
/// implements for a <c>[Preprocess]</c> stage that takes an <see cref="InferenceRequest"/>. The
/// server, asking once when the model loads, runs <see cref="PreprocessAsync"/> as each request
/// arrives, several at once, and only the batched stages wait for a worker.
/// </summary>
public interface IRequestPreprocessingHandler : IHandler
{
    /// <summary>
    /// False only where a subclass handler replaced this per-request preprocess with a batch one:
    /// a class cannot drop an interface its base implements, so the generator says so here.
    /// </summary>
    bool PreprocessesEachRequest => true;

    /// <summary>
    /// Runs the per-request preprocess on one request, timed, and returns the request carrying its
    /// output (<see cref="InferenceRequest.WithPreprocessed{T}"/>). Called concurrently from several
    /// threads on one instance, so a per-request preprocess must not change handler state.
    /// </summary>
    /// <exception cref="HandlerStageException">The preprocess failed or rejected the request.</exception>
    ValueTask<InferenceRequest> PreprocessAsync(InferenceRequest request, HandlerContext context, CancellationToken cancellationToken);
}
