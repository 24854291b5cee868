using Serve.Onnx;
using Serve.Runtime;

namespace Microsoft.Extensions.DependencyInjection;

public static class OnnxServiceCollectionExtensions
{
    /// <summary>Lets the default initialize load <c>.onnx</c> model files with ONNX Runtime.</summary>
    public static IServiceCollection AddOnnxRuntime(this IServiceCollection services) =>
        services.AddSingleton<IModelLoader, OnnxModelLoader>();
}
