using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Serve.Runtime;
using Serve.Server;

namespace Serve.Grpc;

/// <summary>
/// The request path the gRPC inference services share, over the model manager: find the model
/// and version, run one request, keep the answer within <c>max_response_size</c>. It does for gRPC
/// what the REST adapters do for HTTP (Serve.Server/Http), kept in this one file so that it can
/// become one more codec over a shared request pipeline.
/// </summary>
internal sealed class ModelCalls(ModelManager models, IOptions<ServeOptions> options)
{
    public ModelManager Models => models;

    /// <summary>The version asked for (the default when <paramref name="version"/> is empty).</summary>
    /// <exception cref="RpcException">INVALID_ARGUMENT without a name; NOT_FOUND for an unknown model or version.</exception>
    public ServedModel Find(string name, string version)
    {
        if (name.Length == 0)
        {
            throw GrpcErrors.InvalidArgument("Parameter model_name is required.");
        }
        if (models.TryGet(name, version.Length == 0 ? null : version, out var model))
        {
            return model;
        }
        throw GrpcErrors.NotFound(version.Length > 0 && models.TryGet(name, out _)
            ? $"Model version: {version} does not exist for model: {name}"
            : $"Model not found: {name}");
    }

    /// <summary>
    /// Runs one request. A version unregistered between lookup and queue answers "not found";
    /// the request then goes to whatever serves the name now, as the REST adapter does.
    /// </summary>
    public async Task<InferenceResult> InferAsync(ServedModel model, string version, InferenceRequest request, CancellationToken cancellationToken)
    {
        var result = await model.InferAsync(request, explain: false, cancellationToken).ConfigureAwait(false);
        if (model.IsUnregistered && result.ErrorKind == InferenceErrorKind.ModelNotFound
            && models.TryGet(model.Name, version.Length == 0 ? null : version, out var current) && current != model)
        {
            result = await current.InferAsync(request, explain: false, cancellationToken).ConfigureAwait(false);
        }
        var limit = options.Value.MaxResponseSize;
        return result.IsSuccess && result.Body.Length > limit
            ? InferenceResult.Error(InferenceErrorKind.Internal,
                $"Model '{model.Name}' answered {result.Body.Length} bytes, more than max_response_size ({limit} bytes); raise max_response_size or make the answer smaller.")
            : result;
    }

    /// <summary>The call's text metadata, as a handler sees an HTTP request's headers.</summary>
    public static Dictionary<string, string> Headers(ServerCallContext context)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in context.RequestHeaders)
        {
            if (!entry.IsBinary)
            {
                headers[entry.Key] = entry.Value;
            }
        }
        return headers;
    }
}
