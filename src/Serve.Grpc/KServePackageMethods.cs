using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Org.Pytorch.Serve.Grpc.Openinference;

namespace Serve.Grpc;

/// <summary>
/// The Open Inference Protocol's service also under KServe's own package name,
/// <c>inference.GRPCInferenceService</c> (KServe's grpc_predict_v2.proto, which KServe's and
/// Triton's clients are generated from), beside TorchServe's
/// <c>org.pytorch.serve.grpc.openinference.GRPCInferenceService</c>. The two files declare the
/// same messages with the same field numbers, so one implementation and one set of message
/// types serve both names; only the method paths differ.
/// </summary>
internal sealed class KServePackageMethods : IServiceMethodProvider<OpenInferenceService>
{
    public const string ServiceName = "inference.GRPCInferenceService";

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<OpenInferenceService> context)
    {
        Add(context, "ServerLive", ServerLiveRequest.Parser, ServerLiveResponse.Parser, static (service, request, call) => service.ServerLive(request, call));
        Add(context, "ServerReady", ServerReadyRequest.Parser, ServerReadyResponse.Parser, static (service, request, call) => service.ServerReady(request, call));
        Add(context, "ModelReady", ModelReadyRequest.Parser, ModelReadyResponse.Parser, static (service, request, call) => service.ModelReady(request, call));
        Add(context, "ServerMetadata", ServerMetadataRequest.Parser, ServerMetadataResponse.Parser, static (service, request, call) => service.ServerMetadata(request, call));
        Add(context, "ModelMetadata", ModelMetadataRequest.Parser, ModelMetadataResponse.Parser, static (service, request, call) => service.ModelMetadata(request, call));
        Add(context, "ModelInfer", ModelInferRequest.Parser, ModelInferResponse.Parser, static (service, request, call) => service.ModelInfer(request, call));
    }

    private static void Add<TRequest, TResponse>(
        ServiceMethodProviderContext<OpenInferenceService> context,
        string name,
        MessageParser<TRequest> requests,
        MessageParser<TResponse> responses,
        UnaryServerMethod<OpenInferenceService, TRequest, TResponse> invoke)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var method = new Method<TRequest, TResponse>(MethodType.Unary, ServiceName, name,
            Marshallers.Create(static message => message.ToByteArray(), requests.ParseFrom),
            Marshallers.Create(static message => message.ToByteArray(), responses.ParseFrom));
        context.AddUnaryMethod(method, [], invoke);
    }
}
