using System;
using Serve.Runtime;
using Serve.Torch;

namespace Microsoft.Extensions.DependencyInjection;

public static class TorchServiceCollectionExtensions
{
    /// <summary>
    /// Lets the default initialize load PyTorch model files with TorchSharp: TorchScript as it is,
    /// state_dict and safetensors weights into the C# modules <paramref name="configure"/> registers.
    /// </summary>
    public static IServiceCollection AddTorchSharp(this IServiceCollection services, Action<TorchOptions>? configure = null)
    {
        var options = new TorchOptions();
        configure?.Invoke(options);
        return services.AddSingleton<IModelLoader>(new TorchModelLoader(options));
    }
}
