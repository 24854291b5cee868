using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading.Tasks;
using Grpc.Core;
using Serve.Runtime;
using Serve.Server;
using Serve.TorchServe;

namespace Serve.Grpc;

/// <summary>
/// A gRPC call as the shared <see cref="InferencePipeline"/> drives it: the request, its context,
/// and the answer or the error its codec writes, which the service then returns or throws.
/// </summary>
internal sealed class GrpcCall<TRequest, TResponse>(TRequest request, ServerCallContext context)
    where TResponse : class
{
    public TRequest Request { get; } = request;

    public ServerCallContext Context { get; } = context;

    /// <summary>Set by the codec's WriteAsync.</summary>
    public TResponse? Response { get; set; }

    /// <summary>Set by the codec's WriteErrorAsync: a failed result.</summary>
    public InferenceResult? Error { get; set; }

    /// <summary>
    /// Runs the call through the pipeline; the answer, or the error as an <see cref="RpcException"/>.
    /// A call for a served model is counted in its ts_inference_* series, as on the REST listener.
    /// </summary>
    public async Task<TResponse> RunAsync<TInput>(InferencePipeline pipeline, IInferenceCodec<GrpcCall<TRequest, TResponse>, TInput> codec, ModelManager models)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await pipeline.RunAsync(this, codec, Context.CancellationToken).ConfigureAwait(false);
        }
        finally
        {
            var target = codec.Target(this);
            if (models.TryGet(target.Model, target.Version, out var model))
            {
                InferenceCounts.Record(model, Stopwatch.GetElapsedTime(started));
            }
        }
        if (Error is { ErrorKind: { } kind } error)
        {
            throw GrpcErrors.Failure(kind, error.ErrorMessage ?? "");
        }
        // The pipeline returns without an answer only when the client left.
        return Response ?? throw new RpcException(new Status(StatusCode.Cancelled, "The client cancelled the call."));
    }

    /// <summary>The call's text metadata, as a handler sees an HTTP request's headers.</summary>
    public Dictionary<string, string> Headers()
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in Context.RequestHeaders)
        {
            if (!entry.IsBinary)
            {
                headers[entry.Key] = entry.Value;
            }
        }
        return headers;
    }
}
