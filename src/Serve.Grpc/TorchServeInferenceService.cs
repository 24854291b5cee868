using System.Threading.Tasks;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Org.Pytorch.Serve.Grpc.Inference;
using Serve.Server;

namespace Serve.Grpc;

/// <summary>
/// TorchServe's gRPC inference API (inference.proto): Ping, Predictions, StreamPredictions and
/// StreamPredictions2, over the shared <see cref="InferencePipeline"/> through
/// <see cref="TorchServeGrpcCodec"/>.
/// </summary>
internal sealed class TorchServeInferenceService(InferencePipeline pipeline, ModelManager models) : InferenceAPIsService.InferenceAPIsServiceBase
{
    /// <summary>TorchServe's health answer: its REST body <c>{"status": "Healthy"}</c> (or "Unhealthy", <see cref="ModelManager.IsHealthy"/>) as a string.</summary>
    public override Task<TorchServeHealthResponse> Ping(Empty request, ServerCallContext context) =>
        Task.FromResult(new TorchServeHealthResponse
        {
            Health = $"{{\n  \"status\": \"{(models.IsHealthy ? "Healthy" : "Unhealthy")}\"\n}}",
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
            catch (RpcException e) when (e.StatusCode != StatusCode.Cancelled)
            {
                response.Status = new Google.Rpc.Status { Code = (int)e.StatusCode, Message = e.Status.Detail };
            }
            await responseStream.WriteAsync(response, context.CancellationToken).ConfigureAwait(false);
        }
    }

    private Task<ByteString> PredictAsync(PredictionsRequest request, ServerCallContext context) =>
        request.ModelName.Length == 0
            ? throw GrpcErrors.InvalidArgument("Parameter model_name is required.")
            : new GrpcCall<PredictionsRequest, ByteString>(request, context).RunAsync(pipeline, TorchServeGrpcCodec.Instance, models);
}
