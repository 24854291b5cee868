using System;
using System.Threading.Tasks;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Connections.Features;
using Serve.TorchServe;
using Org.Pytorch.Serve.Grpc.Inference;
using Org.Pytorch.Serve.Grpc.Management;

namespace Serve.Grpc;

/// <summary>
/// Lets a call through only on its own listener and with its key, as the REST listeners do:
/// the management service answers on the gRPC management port, TorchServe's inference service and
/// the Open Inference Protocol's on the inference port (UNIMPLEMENTED elsewhere), and each call
/// needs <c>authorization: Bearer &lt;key&gt;</c> with that API's key from key_file.json
/// (UNAUTHENTICATED without it). <c>Ping</c> needs no key, as REST's <c>GET /ping</c>, so that
/// health probes work.
/// </summary>
internal sealed class ListenerGate(TokenKeys? keys) : Interceptor
{
    /// <summary>The connection item that names the API of the listener a connection came in on.</summary>
    public const string ListenerApiItem = "Serve.Grpc.ListenerApi";

    private static readonly string ManagementPrefix = "/" + ManagementAPIsService.Descriptor.FullName + "/";
    private static readonly string PingMethod = "/" + InferenceAPIsService.Descriptor.FullName + "/Ping";

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, responseStream, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Check(ServerCallContext context)
    {
        var api = context.Method.StartsWith(ManagementPrefix, StringComparison.Ordinal) ? ServeApi.Management : ServeApi.Inference;
        var http = context.GetHttpContext();
        var listener = http.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(ListenerApiItem, out var item) == true ? item as ServeApi? : null;
        if (listener != api)
        {
            var port = api == ServeApi.Management ? "grpc_management_port" : "grpc_inference_port";
            throw new RpcException(new Status(StatusCode.Unimplemented, $"{context.Method} is served on the {port} listener, not this one."));
        }
        if (keys is null || context.Method == PingMethod)
        {
            return;
        }
        var authorization = http.Request.Headers.Authorization.ToString();
        if (keys.Refusal(api, authorization.Length == 0 ? null : authorization) is { } refusal)
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, refusal));
        }
    }
}
