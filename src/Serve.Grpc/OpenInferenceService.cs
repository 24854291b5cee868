using System.Linq;
using System.Threading.Tasks;
using Grpc.Core;
using Org.Pytorch.Serve.Grpc.Openinference;
using Serve.Server;

namespace Serve.Grpc;

/// <summary>
/// The Open Inference Protocol's gRPC service (KServe's GRPCInferenceService, as TorchServe's
/// open_inference_grpc.proto declares it), over the same models and with the same answers as
/// the REST adapter (Serve.Server's OpenInferenceHttp); ModelInfer runs on the shared
/// <see cref="InferencePipeline"/> through <see cref="OpenInferenceGrpcCodec"/>.
/// </summary>
internal sealed class OpenInferenceService(InferencePipeline pipeline, ModelManager models) : GRPCInferenceService.GRPCInferenceServiceBase
{
    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    /// <summary>Ready once every model configured at start is loaded and every model can serve its minWorkers, as REST's /v2/health/ready.</summary>
    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = models.IsHealthy });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        var model = Find(request.Name, request.Version);
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
        var model = Find(request.Name, request.Version);
        var metadata = new ModelMetadataResponse { Name = model.Name, Platform = "serve" };
        metadata.Versions.AddRange(models.Versions(model.Name).Select(version => version.Version));
        metadata.Inputs.Add(new ModelMetadataResponse.Types.TensorMetadata { Name = "input-0", Datatype = "BYTES", Shape = { -1 } });
        metadata.Outputs.Add(new ModelMetadataResponse.Types.TensorMetadata { Name = "output-0", Datatype = "BYTES", Shape = { -1 } });
        return Task.FromResult(metadata);
    }

    public override Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context) =>
        request.ModelName.Length == 0
            ? throw GrpcErrors.InvalidArgument("Parameter model_name is required.")
            : new GrpcCall<ModelInferRequest, ModelInferResponse>(request, context).RunAsync(pipeline, OpenInferenceGrpcCodec.Instance, models);

    /// <exception cref="RpcException">INVALID_ARGUMENT without a name; NOT_FOUND for a model or version not served.</exception>
    private ServedModel Find(string name, string version)
    {
        if (name.Length == 0)
        {
            throw GrpcErrors.InvalidArgument("Parameter name is required.");
        }
        var (model, missing) = pipeline.Find(new InferenceTarget(name, version.Length == 0 ? null : version, Explain: false));
        return model ?? throw GrpcErrors.Failure(missing!.ErrorKind!.Value, missing.ErrorMessage ?? "");
    }
}
