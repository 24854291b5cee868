using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Org.Pytorch.Serve.Grpc.Inference;
using Serve.Runtime;

namespace Serve.Grpc;

/// <summary>
/// TorchServe's gRPC inference API (inference.proto): Ping, Predictions, StreamPredictions and
/// StreamPredictions2. The model's input is the <c>input</c> map's "data" (or "body") entry, or
/// its only entry, as TorchServe's handlers read it; the other entries reach the handler as
/// parameters, as a REST request's query parameters do, and the call's metadata as its headers.
/// </summary>
internal sealed class TorchServeInferenceService(ModelCalls calls) : InferenceAPIsService.InferenceAPIsServiceBase
{
    /// <summary>TorchServe's health answer: its REST body <c>{"status": "Healthy"}</c> as a string.</summary>
    public override Task<TorchServeHealthResponse> Ping(Empty request, ServerCallContext context) =>
        Task.FromResult(new TorchServeHealthResponse
        {
            Health = $"{{\n  \"status\": \"{(calls.Models.IsReady ? "Healthy" : "Unhealthy")}\"\n}}",
        });

    public override async Task<PredictionResponse> Predictions(PredictionsRequest request, ServerCallContext context) =>
        new() { Prediction = await PredictAsync(request, context).ConfigureAwait(false) };

    /// <summary>
    /// A handler's answer as a stream. A handler here answers each request with one result (the
    /// handler contract has no intermediate answers like TorchServe's send_intermediate_predict_response),
    /// so the stream holds that one answer.
    /// </summary>
    public override async Task StreamPredictions(PredictionsRequest request, IServerStreamWriter<PredictionResponse> responseStream, ServerCallContext context) =>
        await responseStream.WriteAsync(new PredictionResponse { Prediction = await PredictAsync(request, context).ConfigureAwait(false) }, context.CancellationToken).ConfigureAwait(false);

    /// <summary>
    /// One answer per request, in order, each carrying its request's sequenceId; a request that
    /// fails is answered with its status in the message (TorchServe's way) and the stream goes on.
    /// </summary>
    public override async Task StreamPredictions2(IAsyncStreamReader<PredictionsRequest> requestStream, IServerStreamWriter<PredictionResponse> responseStream, ServerCallContext context)
    {
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            var response = new PredictionResponse();
            if (request.HasSequenceId)
            {
                response.SequenceId = request.SequenceId;
            }
            try
            {
                if (request.SequenceId.Length == 0)
                {
                    throw GrpcErrors.InvalidArgument("Parameter sequenceId is required.");
                }
                response.Prediction = await PredictAsync(request, context).ConfigureAwait(false);
            }
            catch (RpcException e)
            {
                response.Status = new Google.Rpc.Status { Code = (int)e.StatusCode, Message = e.Status.Detail };
            }
            await responseStream.WriteAsync(response, context.CancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<ByteString> PredictAsync(PredictionsRequest request, ServerCallContext context)
    {
        var model = calls.Find(request.ModelName, request.ModelVersion);
        var (body, parameters) = Input(request.Input);
        var result = await calls.InferAsync(model, request.ModelVersion, new InferenceRequest(body, null, ModelCalls.Headers(context), parameters), context.CancellationToken).ConfigureAwait(false);
        if (result.ErrorKind is { } kind)
        {
            throw GrpcErrors.Failure(kind, result.ErrorMessage ?? "");
        }
        return UnsafeByteOperations.UnsafeWrap(result.Body);
    }

    /// <exception cref="RpcException">INVALID_ARGUMENT when no entry is the input, or it is empty.</exception>
    private static (ReadOnlyMemory<byte> Body, Dictionary<string, string> Parameters) Input(MapField<string, ByteString> input)
    {
        var key = input.ContainsKey("data") ? "data" : input.ContainsKey("body") ? "body" : input.Count == 1 ? input.Keys.First() : null;
        if (key is null)
        {
            throw GrpcErrors.InvalidArgument(input.Count == 0
                ? "The request's input map is empty; put the model's input under \"data\"."
                : $"The request's input map has {string.Join(", ", input.Keys.Order(StringComparer.Ordinal).Select(k => $"\"{k}\""))}; put the model's input under \"data\".");
        }
        var body = input[key].Memory;
        if (body.IsEmpty)
        {
            throw GrpcErrors.InvalidArgument($"The input \"{key}\" is empty; send the model's input, e.g. an image's bytes.");
        }
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in input)
        {
            if (name != key)
            {
                parameters[name] = Encoding.UTF8.GetString(value.Span);
            }
        }
        return (body, parameters);
    }
}
