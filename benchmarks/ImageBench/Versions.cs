using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace Benchmarks.ImageBench;

/// <summary>The versions this build runs with, for the benchmark's machine record.</summary>
public static class Versions
{
    public static string Json() =>
        $"{{\"dotnet\":\"{RuntimeInformation.FrameworkDescription}\",\"onnxruntime\":\"{OrtEnv.Instance().GetVersionString()}\",\"torchsharp\":\"{TorchSharp()}\",\"aot\":{(!RuntimeFeature()).ToString().ToLowerInvariant()}}}";

    private static bool RuntimeFeature() => System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported;

#if SERVE_TORCH
    private static string TorchSharp() =>
        typeof(TorchSharp.torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";
#else
    private static string TorchSharp() => "not in this build (native AOT)";
#endif
}
