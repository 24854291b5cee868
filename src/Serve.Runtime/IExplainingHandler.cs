using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Serve.Runtime;

/// <summary>
/// A handler that explains its predictions (TorchServe's explanations API): what the generator
/// implements for a <c>[Handler]</c> with an <c>[Explain]</c> stage. The server asks once, when
/// the model loads; a model whose handler is not one answers explanations with "not supported".
/// </summary>
public interface IExplainingHandler : IHandler
{
    /// <summary>Runs preprocess and the explain stage; one explanation per request, in the batch's order.</summary>
    ValueTask<IReadOnlyList<InferenceResult>> ExplainAsync(
        IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken);
}
