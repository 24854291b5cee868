using System;
using System.IO;
using System.Linq;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Serve.Runtime;

namespace Serve.Onnx;

/// <summary>
/// Loads <c>.onnx</c> files into ONNX Runtime sessions with model-config's options
/// (<see cref="OnnxSessionSettings"/>), on the execution provider for the chosen device: CUDA
/// when the device is a GPU and this build of ONNX Runtime has it, else the CPU, with the reason
/// for any fallback in the log and in <see cref="HandlerContext.DeviceReason"/>.
/// </summary>
public sealed partial class OnnxModelLoader : IModelLoader
{
    public const string BackendName = "onnxruntime";

    public string Backend => BackendName;

    public bool CanLoad(string serializedFilePath) =>
        string.Equals(Path.GetExtension(serializedFilePath), ".onnx", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// CUDA devices, when this ONNX Runtime build has the CUDA provider (the GPU package) and the
    /// machine has NVIDIA devices; ONNX Runtime has no MPS provider.
    /// </summary>
    public AcceleratorInventory Accelerators =>
        OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider") ? new(NvidiaDeviceCount(), false) : AcceleratorInventory.None;

    public IModel Load(HandlerContext context)
    {
        var path = context.SerializedFilePath!;
        foreach (var key in context.ModelConfig.Torch.Keys)
        {
            throw new ModelLoadException(
                $"Model '{context.ModelName}': model-config sets torch.{key.Replace(':', '.')}, but '{Path.GetFileName(path)}' is an ONNX model; the torch section applies to TorchSharp models. Remove it.");
        }
        var settings = OnnxSessionSettings.From(context.ModelConfig, context.ModelName);
        foreach (var applied in settings.Applied)
        {
            LogApplied(context.Logger, context.ModelName, applied);
        }

        using var options = settings.ToSessionOptions();
        var provider = AddProvider(options, context);
        // After the provider: a fallback to the CPU changes the budget.
        var threads = context.Threads;
        OnnxSessionSettings.ApplyThreads(options, threads);
        LogThreads(context.Logger, context.ModelName, context.Device.ToString(), threads.Reason);
        var modelPath = path;
        if (settings.CacheOptimizedModel)
        {
            var cached = CachedModelPath(path, provider, settings);
            if (File.Exists(cached) && File.GetLastWriteTimeUtc(cached) >= File.GetLastWriteTimeUtc(path))
            {
                // Already optimized for this provider and level: optimizing again would only cost time.
                modelPath = cached;
                options.GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL;
                LogCacheUsed(context.Logger, context.ModelName, cached);
            }
            else
            {
                options.OptimizedModelFilePath = cached;
                LogCacheWritten(context.Logger, context.ModelName, cached);
            }
        }

        OnnxModel model;
        try
        {
            var session = new InferenceSession(modelPath, options);
            var pinned = settings.IoBinding && provider == "cuda" ? PinnedAllocator(session, context) : null;
            model = new OnnxModel(session, context.ModelName, settings.IoBinding, pinned)
            {
                BatchShapes = BatchShapes.Decide(context.ModelConfig, context.Device),
            };
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelLoadException($"Model '{context.ModelName}': ONNX Runtime cannot load '{Path.GetFileName(modelPath)}': {e.Message}", e);
        }
        LogExecution(context.Logger, context.ModelName, model.Execution);
        try
        {
            LogBatchShapes(context.Logger, context.ModelName, model.BatchShapes.Reason, model.WarmUp());
        }
        catch (Exception e) when (e is OnnxRuntimeException or ArgumentException or InvalidOperationException)
        {
            // A model that refuses zeros may still serve real inputs: the first request of each shape pays instead.
            LogWarmUpFailed(context.Logger, context.ModelName, e.Message);
        }
        return model;
    }

    /// <summary>
    /// The optimized model's file beside the original, named for what it was optimized for (an
    /// optimized graph may hold provider-specific nodes). Its extension is not <c>.onnx</c>, so a
    /// model directory still has one model file.
    /// </summary>
    public static string CachedModelPath(string modelPath, string provider, OnnxSessionSettings settings) =>
        $"{modelPath}.{provider}-{OnnxSessionSettings.LevelName(settings.OptimizationLevel)}.optimized";

    private static string AddProvider(SessionOptions options, HandlerContext context)
    {
        if (context.Device.Type != DeviceType.Cuda)
        {
            if (context.Device.Type != DeviceType.Cpu)
            {
                Fallback(context, $"ONNX Runtime has no provider for {context.Device}");
            }
            return "cpu";
        }
        try
        {
            options.AppendExecutionProvider_CUDA(context.Device.Index);
            return "cuda";
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            Fallback(context, $"the CUDA execution provider failed: {e.Message}");
            return "cpu";
        }
    }

    /// <summary>
    /// The CUDA provider's page-locked host allocator, so that bound batches and outputs are
    /// copied to and from the device by DMA; null (plain host memory, copied through the
    /// driver's staging buffer) if the session has none.
    /// </summary>
    internal static OrtAllocator? PinnedAllocator(InferenceSession session, HandlerContext context)
    {
        try
        {
            using var info = new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA_PINNED, OrtAllocatorType.DeviceAllocator, context.Device.Index, OrtMemType.CpuOutput);
            return new OrtAllocator(session, info);
        }
        catch (OnnxRuntimeException e)
        {
            LogNoPinnedMemory(context.Logger, context.ModelName, e.Message);
            return null;
        }
    }

    private static void Fallback(HandlerContext context, string reason)
    {
        LogFallback(context.Logger, context.ModelName, context.Device.ToString(), reason);
        context.DeviceReason = $"{reason}; fell back from {context.Device} to the CPU";
        context.Device = Device.Cpu;
    }

    private static int NvidiaDeviceCount()
    {
        try
        {
            return Directory.EnumerateFiles("/dev", "nvidia*").Count(f => Path.GetFileName(f)[6..].All(char.IsAsciiDigit) && f.Length > "/dev/nvidia".Length);
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {ModelName}: ONNX Runtime option {Applied}")]
    private static partial void LogApplied(ILogger logger, string modelName, string applied);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {ModelName}: runs with {Execution}")]
    private static partial void LogExecution(ILogger logger, string modelName, string execution);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {ModelName}: the CUDA provider gives no page-locked host memory, so bound buffers are plain host memory: {Reason}")]
    private static partial void LogNoPinnedMemory(ILogger logger, string modelName, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {ModelName}: {BatchShapes}; {WarmUp}")]
    private static partial void LogBatchShapes(ILogger logger, string modelName, string batchShapes, string warmUp);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {ModelName}: warming up its batch sizes failed, so the first request of each size pays for it: {Reason}")]
    private static partial void LogWarmUpFailed(ILogger logger, string modelName, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {ModelName} on {Device}: threads {Reason}")]
    private static partial void LogThreads(ILogger logger, string modelName, string device, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {ModelName}: cannot run on {Device}, running on the CPU: {Reason}")]
    private static partial void LogFallback(ILogger logger, string modelName, string device, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {ModelName}: loading the optimized model cached at {Path}")]
    private static partial void LogCacheUsed(ILogger logger, string modelName, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {ModelName}: caching the optimized model at {Path}")]
    private static partial void LogCacheWritten(ILogger logger, string modelName, string path);
}
