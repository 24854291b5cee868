using System;
using System.Linq;
using System.Threading.Tasks;
using Google.Protobuf;
using Grpc.Core;
using Org.Pytorch.Serve.Grpc.Openinference;
using Serve.Runtime;
using Serve.Server;

namespace Serve.Grpc;

/// <summary>
/// The Open Inference Protocol's gRPC service (KServe's GRPCInferenceService, as TorchServe's
/// open_inference_grpc.proto declares it), over the same models and with the same answers as
/// the REST adapter (Serve.Server's OpenInferenceHttp): a handler takes one input and answers one
/// BYTES output, <c>output-0</c>, holding its body, with the body's content type in the output's
/// <c>content_type</c> parameter.
/// </summary>
internal sealed class OpenInferenceService(ModelCalls calls) : GRPCInferenceService.GRPCInferenceServiceBase
{
    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    /// <summary>Ready once every model configured at start is loaded, as REST's /v2/health/ready.</summary>
    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = calls.Models.IsReady });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        var model = calls.Find(request.Name, request.Version);
        return Task.FromResult(new ModelReadyResponse { Ready = model.Status == ModelStatus.Ready && model.WorkerCount > 0 });
    }

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerMetadataResponse
        {
            Name = "serve",
            Version = typeof(OpenInferenceService).Assembly.GetName().Version?.ToString(3) ?? "",
        });

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        var model = calls.Find(request.Name, request.Version);
        var metadata = new ModelMetadataResponse { Name = model.Name, Platform = "serve" };
        metadata.Versions.AddRange(calls.Models.Versions(model.Name).Select(version => version.Version));
        metadata.Inputs.Add(new ModelMetadataResponse.Types.TensorMetadata { Name = "input-0", Datatype = "BYTES", Shape = { -1 } });
        metadata.Outputs.Add(new ModelMetadataResponse.Types.TensorMetadata { Name = "output-0", Datatype = "BYTES", Shape = { -1 } });
        return Task.FromResult(metadata);
    }

    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        var model = calls.Find(request.ModelName, request.ModelVersion);
        if (request.Inputs.Count != 1)
        {
            throw GrpcErrors.InvalidArgument($"This model takes one input, a BYTES tensor holding the request body; the request has {request.Inputs.Count}.");
        }
        if (request.RawInputContents.Count > 1)
        {
            throw GrpcErrors.InvalidArgument($"raw_input_contents holds {request.RawInputContents.Count} tensors for the request's one input.");
        }
        ReadOnlyMemory<byte> body;
        string? contentType;
        try
        {
            (body, contentType) = OpenInferenceTensors.Read(request.Inputs[0], request.RawInputContents.Count == 1 ? request.RawInputContents[0] : null);
        }
        catch (InvalidRequestException e)
        {
            throw GrpcErrors.InvalidArgument(e.Message);
        }

        var result = await calls.InferAsync(model, request.ModelVersion, new InferenceRequest(body, contentType, ModelCalls.Headers(context)), context.CancellationToken).ConfigureAwait(false);
        if (result.ErrorKind is { } kind)
        {
            throw GrpcErrors.Failure(kind, result.ErrorMessage ?? "");
        }
        var output = new ModelInferResponse.Types.InferOutputTensor { Name = "output-0", Datatype = "BYTES", Shape = { 1 } };
        output.Parameters["content_type"] = new InferParameter { StringParam = result.ContentType };
        output.Contents = new InferTensorContents { BytesContents = { UnsafeByteOperations.UnsafeWrap(result.Body) } };
        var response = new ModelInferResponse { ModelName = model.Name, ModelVersion = model.Version, Id = request.Id };
        response.Outputs.Add(output);
        return response;
    }
}
