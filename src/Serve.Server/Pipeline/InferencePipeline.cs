using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Options;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>
/// The request path every protocol shares: find the model (and version), decode the call's input
/// within the limits, run each request through the model's queue and workers, hold the answer to
/// max_response_size, and stop quietly when the client leaves. A protocol brings only its
/// <see cref="IInferenceCodec{TCall, TInput}"/>; errors travel as <see cref="InferenceErrorKind"/>s
/// that each codec writes in its own format.
/// </summary>
public sealed class InferencePipeline
{
    private readonly ModelManager _models;
    private readonly IOptions<ServeOptions> _options;

    public InferencePipeline(ModelManager models, IOptions<ServeOptions> options)
    {
        _models = models;
        _options = options;
    }

    /// <summary>The sizes a codec reads input within and the pipeline holds answers to.</summary>
    public InferenceLimits Limits => new(_options.Value.MaxRequestSize, _options.Value.MaxResponseSize);

    /// <summary>The server's options (form limits and the like, for codecs that need them).</summary>
    public ServeOptions Options => _options.Value;

    /// <summary>Runs one call from its decoding to its answer; the codec writes the answer or the error.</summary>
    /// <remarks>Never throws for the call's own failures; returns without writing when <paramref name="cancellationToken"/> fires (the client left).</remarks>
    /// <param name="call">The protocol's call.</param>
    /// <param name="codec">The protocol's codec.</param>
    /// <param name="cancellationToken">Fires when the client leaves.</param>
    /// <param name="traceParent">The caller's trace when the protocol carries one that is not already
    /// <see cref="Activity.Current"/> (a W3C traceparent no listener turned into an activity); default for none.</param>
    public async Task RunAsync<TCall, TInput>(TCall call, IInferenceCodec<TCall, TInput> codec, CancellationToken cancellationToken, ActivityContext traceParent = default)
    {
        var target = codec.Target(call);
        // The request's trace: a child of the caller's (ASP.NET Core's hosting activity, or the traceparent given).
        using var activity = Activity.Current is null && traceParent != default
            ? ServeTracing.Source.StartActivity("serve.request", ActivityKind.Internal, traceParent)
            : ServeTracing.Source.StartActivity("serve.request");
        activity?.SetTag(ServeTracing.ModelTag, target.Model);
        var failure = await RunTracedAsync(call, codec, target, activity, cancellationToken).ConfigureAwait(false);
        if (activity is not null && failure is { ErrorKind: { } kind })
        {
            activity.SetStatus(ActivityStatusCode.Error, failure.ErrorMessage);
            activity.SetTag("error.type", kind.ToString());
        }
    }

    /// <summary>The call's way from decoding to answer; returns the error it answered with, if any.</summary>
    private async Task<InferenceResult?> RunTracedAsync<TCall, TInput>(TCall call, IInferenceCodec<TCall, TInput> codec, InferenceTarget target, Activity? activity, CancellationToken cancellationToken)
    {
        if (Find(target) is { Error: { } missing })
        {
            await codec.WriteErrorAsync(call, missing, cancellationToken).ConfigureAwait(false);
            return missing;
        }

        Decoded<TInput> decoded;
        try
        {
            decoded = await codec.DecodeAsync(call, this, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        if (decoded.Error is { } refused)
        {
            await codec.WriteErrorAsync(call, refused, cancellationToken).ConfigureAwait(false);
            return refused;
        }

        try
        {
            return await AnswerAsync(call, codec, target, decoded, activity, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // The call's hold on a pooled body ends with its answer (an answer may be the body itself);
            // a job still queued or running holds its own.
            decoded.Body?.Release();
        }
    }

    private async Task<InferenceResult?> AnswerAsync<TCall, TInput>(TCall call, IInferenceCodec<TCall, TInput> codec, InferenceTarget target, Decoded<TInput> decoded, Activity? activity, CancellationToken cancellationToken)
    {
        ServedModel? model;
        IReadOnlyList<InferenceResult> results;
        try
        {
            // Looked up again after the body: the model may have been unregistered or replaced meanwhile.
            (model, results) = await InferAsync(target, decoded.Requests, decoded.Body, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            activity?.SetTag("serve.cancelled", true);
            return null; // The client left; its batch goes on without it.
        }
        activity?.SetTag(ServeTracing.VersionTag, model?.Version);
        if (Failure(model, results) is { } failure)
        {
            await codec.WriteErrorAsync(call, failure, cancellationToken).ConfigureAwait(false);
            return failure;
        }
        await codec.WriteAsync(call, model!, decoded.Input, results, cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>The model and version <paramref name="target"/> names, or why there is none (ModelNotFound, VersionNotFound).</summary>
    public (ServedModel? Model, InferenceResult? Error) Find(InferenceTarget target)
    {
        if (_models.TryGet(target.Model, target.Version, out var model))
        {
            return (model, null);
        }
        var served = _models.Versions(target.Model);
        if (served.Count == 0 && _models.TryGetFailure(target.Model, out var failure))
        {
            // Failed at start before it became a model: say why, as for a model whose workers failed.
            return (null, InferenceResult.Error(InferenceErrorKind.Unavailable,
                $"Model '{target.Model}' failed to load ({failure.Reason}); unregister it and register it again."));
        }
        return (null, target.Version is null || served.Count == 0
            ? InferenceResult.Error(InferenceErrorKind.ModelNotFound, $"Model not found: {target.Model}")
            : InferenceResult.Error(InferenceErrorKind.VersionNotFound,
                $"Model version: {target.Version} does not exist for model: {target.Model} (it serves {string.Join(", ", served.Select(m => m.Version))})"));
    }

    /// <summary>
    /// Runs <paramref name="requests"/> through the model <paramref name="target"/> names, all at
    /// once (they are batched like separate requests); one result per request, in order.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public Task<(ServedModel? Model, IReadOnlyList<InferenceResult> Results)> InferAsync(
        InferenceTarget target, IReadOnlyList<InferenceRequest> requests, CancellationToken cancellationToken) =>
        InferAsync(target, requests, body: null, cancellationToken);

    /// <summary>As the public overload, for requests whose bodies lie in <paramref name="body"/>: each queued job holds it until its batch has run.</summary>
    internal async Task<(ServedModel? Model, IReadOnlyList<InferenceResult> Results)> InferAsync(
        InferenceTarget target, IReadOnlyList<InferenceRequest> requests, PooledBody? body, CancellationToken cancellationToken)
    {
        var (model, missing) = Find(target);
        if (model is null)
        {
            return (null, [missing!]);
        }
        if (target.Explain)
        {
            return (model, await ExplainAsync(model, requests, cancellationToken).ConfigureAwait(false));
        }
        return (model, await InferAllAsync(model, target, requests, body, cancellationToken).ConfigureAwait(false));
    }

    private async Task<IReadOnlyList<InferenceResult>> ExplainAsync(ServedModel model, IReadOnlyList<InferenceRequest> requests, CancellationToken cancellationToken)
    {
        var options = _options.Value;
        if (requests.Count > options.MaxExplainInstances)
        {
            return [InferenceResult.Error(InferenceErrorKind.InvalidRequest,
                $"An explanation call carries at most {options.MaxExplainInstances} instances (Serve:MaxExplainInstances); this one has {requests.Count}. Send them in several calls.")];
        }
        // In the model's explanation lane, bounded by Serve:MaxConcurrentExplanations, off the prediction workers.
        return await model.ExplainAsync(requests, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<InferenceResult>> InferAllAsync(ServedModel model, InferenceTarget target, IReadOnlyList<InferenceRequest> requests, PooledBody? body, CancellationToken cancellationToken)
    {
        if (requests.Count == 1)
        {
            return [await InferOneAsync(model, target, requests[0], body, cancellationToken).ConfigureAwait(false)];
        }
        var pending = new Task<InferenceResult>[requests.Count];
        for (var i = 0; i < pending.Length; i++)
        {
            pending[i] = InferOneAsync(model, target, requests[i], body, cancellationToken);
        }
        return await Task.WhenAll(pending).ConfigureAwait(false);
    }

    private async Task<InferenceResult> InferOneAsync(ServedModel model, InferenceTarget target, InferenceRequest request, PooledBody? body, CancellationToken cancellationToken)
    {
        var result = await model.InferAsync(request, target.Explain, body, cancellationToken).ConfigureAwait(false);
        // The version found was unregistered before the request was queued: the name may be served by another now.
        if (model.IsUnregistered && result.ErrorKind == InferenceErrorKind.ModelNotFound
            && _models.TryGet(target.Model, target.Version, out var current) && current != model)
        {
            result = await current.InferAsync(request, target.Explain, body, cancellationToken).ConfigureAwait(false);
        }
        return result;
    }

    /// <summary>
    /// The error that answers for the call, or null when it succeeded: the first failed request
    /// (a call of several names it: the call fails as a whole), else an answer beyond
    /// max_response_size. TorchServe's frontend refuses such an answer from its worker too (with
    /// 500 "Worker died."); here the message says what happened.
    /// </summary>
    private InferenceResult? Failure(ServedModel? model, IReadOnlyList<InferenceResult> results)
    {
        long size = 0;
        for (var i = 0; i < results.Count; i++)
        {
            if (results[i].ErrorKind is { } kind)
            {
                return results.Count == 1 ? results[i] : InferenceResult.Error(kind, $"Instance {i}: {results[i].ErrorMessage}");
            }
            size += results[i].Body.Length;
        }
        var limit = _options.Value.MaxResponseSize;
        return size <= limit ? null : InferenceResult.Error(InferenceErrorKind.Internal,
            $"Model '{model!.Name}' answered {size} bytes, more than max_response_size ({limit} bytes); raise max_response_size or make the answer smaller.");
    }
}
