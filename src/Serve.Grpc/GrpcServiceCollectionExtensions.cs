using Microsoft.Extensions.DependencyInjection;

namespace Serve.Grpc;

/// <summary>Adds TorchServe's gRPC listeners to a server built by <c>TorchServeHost.Build</c>.</summary>
public static class GrpcServiceCollectionExtensions
{
    /// <summary>
    /// Serves TorchServe's gRPC inference and management APIs and the Open Inference Protocol's
    /// GRPCInferenceService on <c>grpc_inference_port</c> / <c>grpc_management_port</c>
    /// (<see cref="GrpcListeners"/>), over the same models, keys and limits as the REST listeners.
    /// </summary>
    public static IServiceCollection AddTorchServeGrpc(this IServiceCollection services)
    {
        services.AddSingleton<GrpcListeners>();
        services.AddHostedService(provider => provider.GetRequiredService<GrpcListeners>());
        return services;
    }
}
