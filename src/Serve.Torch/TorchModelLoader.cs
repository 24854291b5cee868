using System;
using System.IO;
using Microsoft.Extensions.Logging;
using Serve.Runtime;
using TorchSharp;
using TorchDeviceType = TorchSharp.DeviceType;

namespace Serve.Torch;

/// <summary>
/// Loads PyTorch model files with TorchSharp: TorchScript, or a state_dict / safetensors file into
/// the C# module registered for the model. The format is told by content, not by extension.
/// </summary>
public sealed partial class TorchModelLoader(TorchOptions options) : IModelLoader
{
    public const string BackendName = "torchsharp";

    public TorchModelLoader() : this(new TorchOptions())
    {
    }

    public string Backend => BackendName;

    public bool CanLoad(string serializedFilePath)
    {
        if (string.Equals(Path.GetExtension(serializedFilePath), ".onnx", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        try
        {
            return TorchFileFormats.Detect(serializedFilePath) != TorchFileFormat.Unknown;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <exception cref="ModelLoadException">libtorch or TorchSharp's native library cannot be loaded.</exception>
    public AcceleratorInventory Accelerators
    {
        get
        {
            try
            {
                return new(torch.cuda.is_available() ? torch.cuda.device_count() : 0, torch.mps_is_available());
            }
            catch (Exception e) when (e is NotSupportedException or DllNotFoundException or TypeInitializationException)
            {
                throw new ModelLoadException(
                    $"TorchSharp's native libraries cannot be loaded: {e.Message} " +
                    "On a C++ runtime older than GCC 13's (Debian 12, Ubuntu 22.04) the build must patch libLibTorchSharp.so; see docs/backends.md.", e);
            }
        }
    }

    /// <summary>Freed memory each glibc arena keeps for the next run's activations (M_TOP_PAD): 64 MB.</summary>
    private const int ActivationHeadroom = 64 << 20;

    public IModel Load(HandlerContext context)
    {
        var path = context.SerializedFilePath!;
        var file = Path.GetFileName(path);
        var format = TorchFileFormats.Detect(path);
        if (format == TorchFileFormat.SharedLibrary)
        {
            throw new ModelLoadException($"Model '{context.ModelName}': '{file}' is a shared library. {TorchPt2.AotInductorRefusal}");
        }
        foreach (var key in context.ModelConfig.Onnx.Keys)
        {
            throw new ModelLoadException(
                $"Model '{context.ModelName}': model-config sets onnx.{key.Replace(':', '.')}, but '{file}' is a {format} file, loaded by TorchSharp; the onnx section applies to .onnx models. Remove it.");
        }
        foreach (var applied in TorchPt2.Apply(Pt2Settings.Parse(context.ModelConfig.Pt2), context.ModelName))
        {
            LogPt2(context.Logger, context.ModelName, applied);
        }
        var profiling = TorchSection(context, file);

        // libtorch mallocs each run's activations: keep them mapped between runs (NativeHeap.KeepFreeTop).
        NativeHeap.KeepFreeTop(ActivationHeadroom);

        // libtorch's intra-op pool is process-wide: the last model loaded sets it.
        var threads = context.Threads;
        torch.set_num_threads(threads.TorchThreads);
        LogThreads(context.Logger, context.ModelName, context.Device.ToString(), threads.Reason);
        if (format == TorchFileFormat.TorchScript)
        {
            var was = TorchScriptExecutor.SetProfiling(profiling);
            LogExecutor(context.Logger, context.ModelName, profiling
                ? "the profiling executor (torch.profilingExecutor: true): it compiles a graph for every new input shape"
                : was is null
                    ? "the default executor: this libtorch does not expose the switch for the profiling executor"
                    : "the simple executor, profiling off (process-wide): inputs of new shapes run without re-specialising the graph; torch.profilingExecutor: true turns it back on");
        }

        var device = ToTorch(context.Device);
        if (device.type == TorchDeviceType.CUDA)
        {
            // TorchServe's set_float32_matmul_precision("high") on tensor-core GPUs: TF32 matmuls and convolutions.
            torch.backends.cuda.matmul.allow_tf32 = true;
            torch.backends.cudnn.allow_tf32 = true;
            LogTf32(context.Logger, context.ModelName);
        }

        try
        {
            switch (format)
            {
                case TorchFileFormat.TorchScript:
                    TorchScriptOperators.RefuseUnavailable(path, context.ModelName);
                    return new TorchScriptModel(path, context.ModelName, device) { BatchShapes = Shapes(context) };
                case TorchFileFormat.LegacyPickle:
                    throw new ModelLoadException(
                        $"Model '{context.ModelName}': '{file}' is a torch.save file in the pre-1.6 format (a bare pickle); re-save it with torch.save(model.state_dict(), path) from PyTorch 1.6 or later.");
                case TorchFileFormat.StateDict or TorchFileFormat.Safetensors:
                    if (!options.TryGetModule(context.ModelName, out var create))
                    {
                        throw new ModelLoadException(
                            $"Model '{context.ModelName}': '{file}' holds weights only ({format}), and no C# module is registered for them; " +
                            $"register one: services.AddTorchSharp(torch => torch.AddModule(\"{context.ModelName}\", () => new MyModule())).");
                    }
                    var module = create();
                    TorchWeights.Load(module, path);
                    module.to(device);
                    module.eval();
                    return new TorchModuleModel(module, context.ModelName, device) { BatchShapes = Shapes(context) };
                default:
                    throw new ModelLoadException($"Model '{context.ModelName}': '{file}' is not a TorchScript, state_dict or safetensors file.");
            }
        }
        catch (ModelLoadException e) when (!e.Message.StartsWith("Model '", StringComparison.Ordinal))
        {
            throw new ModelLoadException($"Model '{context.ModelName}': {e.Message}", e);
        }
        catch (Exception e) when (e is not ModelLoadException and not OutOfMemoryException)
        {
            throw new ModelLoadException($"Model '{context.ModelName}': TorchSharp cannot load '{file}': {e.Message}", e);
        }
    }

    private static BatchShapes Shapes(HandlerContext context)
    {
        var shapes = BatchShapes.Decide(context.ModelConfig, context.Device);
        LogBatchShapes(context.Logger, context.ModelName, shapes.Reason);
        return shapes;
    }

    /// <summary>Checks the model-config's torch section; returns torch.profilingExecutor (default false).</summary>
    private static bool TorchSection(HandlerContext context, string file)
    {
        var profiling = false;
        foreach (var (key, value) in context.ModelConfig.Torch)
        {
            switch (key)
            {
                case ThreadBudget.TorchThreadsKey:
                    break; // Read by ThreadBudget.
                case "profilingExecutor":
                    profiling = value.ToLowerInvariant() switch
                    {
                        "true" => true,
                        "false" => false,
                        _ => throw new ModelLoadException($"Model '{context.ModelName}': model-config 'torch.profilingExecutor' must be true or false, not '{value}'."),
                    };
                    break;
                default:
                    throw new ModelLoadException(
                        $"Model '{context.ModelName}': unknown model-config option 'torch.{key.Replace(':', '.')}' for '{file}'. Known: torch.numThreads, torch.profilingExecutor.");
            }
        }
        return profiling;
    }

    private static torch.Device ToTorch(Device device) => device.Type switch
    {
        Runtime.DeviceType.Cuda => new torch.Device(TorchDeviceType.CUDA, device.Index),
        Runtime.DeviceType.Mps => new torch.Device(TorchDeviceType.MPS),
        _ => torch.CPU,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {ModelName}: {BatchShapes}; no warm-up (TorchScript declares no input shapes)")]
    private static partial void LogBatchShapes(ILogger logger, string modelName, string batchShapes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {ModelName} on {Device}: threads {Reason}")]
    private static partial void LogThreads(ILogger logger, string modelName, string device, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {ModelName}: TorchScript runs on {Executor}")]
    private static partial void LogExecutor(ILogger logger, string modelName, string executor);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {ModelName}: pt2 mapped for TorchSharp: {Applied}")]
    private static partial void LogPt2(ILogger logger, string modelName, string applied);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {ModelName}: TF32 enabled for CUDA matmuls and cuDNN convolutions (TorchServe's float32 matmul precision 'high')")]
    private static partial void LogTf32(ILogger logger, string modelName);
}
