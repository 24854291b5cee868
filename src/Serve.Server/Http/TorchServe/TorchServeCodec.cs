using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Serve.Runtime;

namespace Serve.Server.Http;

/// <summary>
/// TorchServe REST on the wire: the model (and version) from the route, the body (or the form's
/// "data"/"body" part) as one request, the result as the response body, errors as TorchServe's JSON.
/// </summary>
internal sealed class TorchServeCodec : IInferenceCodec<HttpContext, TorchServeCodec.None>
{
    /// <summary>Nothing to keep between decoding and answering.</summary>
    internal readonly record struct None;

    public static readonly TorchServeCodec Predict = new(explain: false, fromLastSegment: false);
    public static readonly TorchServeCodec Explain = new(explain: true, fromLastSegment: false);
    public static readonly TorchServeCodec PredictLastSegment = new(explain: false, fromLastSegment: true);
    public static readonly TorchServeCodec ExplainLastSegment = new(explain: true, fromLastSegment: true);

    private readonly bool _explain;
    private readonly bool _fromLastSegment;

    private TorchServeCodec(bool explain, bool fromLastSegment)
    {
        _explain = explain;
        _fromLastSegment = fromLastSegment;
    }

    public InferenceTarget Target(HttpContext call)
    {
        if (_fromLastSegment)
        {
            // A literal route (a model known at compile time): the name as the client spelled it.
            var path = call.Request.Path.Value ?? "";
            return new InferenceTarget(path[(path.LastIndexOf('/') + 1)..], null, _explain);
        }
        var values = call.Request.RouteValues;
        return new InferenceTarget(values["model"] as string ?? "", values["version"] as string, _explain);
    }

    public async ValueTask<Decoded<None>> DecodeAsync(HttpContext call, InferencePipeline pipeline, CancellationToken cancellationToken)
    {
        // A prediction's body is pooled: the pipeline and the worker know when it is done with. An
        // explanation's is not: one already begun runs on after its client leaves.
        var (body, pooled, error) = await HttpInference.ReadBodyAsync(call, pipeline, pooled: !_explain, cancellationToken).ConfigureAwait(false);
        return error is not null
            ? new Decoded<None>(default, [], error)
            : Decoded<None>.Of(default, [HttpInference.Request(call.Request, body, call.Request.ContentType)]) with { Body = pooled };
    }

    public Task WriteAsync(HttpContext call, ServedModel model, None input, IReadOnlyList<InferenceResult> results, CancellationToken cancellationToken) =>
        HttpInference.WriteAsync(call, StatusCodes.Status200OK, results[0].ContentType, results[0].Body, cancellationToken);

    public Task WriteErrorAsync(HttpContext call, InferenceResult error, CancellationToken cancellationToken) =>
        TorchServeErrorBody.WriteAsync(call, error);
}
