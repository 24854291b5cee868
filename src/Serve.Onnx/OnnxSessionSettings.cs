using System;
using System.Collections.Generic;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Serve.Runtime;

namespace Serve.Onnx;

/// <summary>
/// ONNX Runtime session settings from model-config: the <c>onnx</c> section, and the <c>pt2</c>
/// section mapped to its nearest real equivalent (docs/pt2.md). <see cref="Applied"/> says, for
/// the log, what each setting became; what cannot be honoured is refused by name. The section's
/// thread keys (intraOpNumThreads, interOpNumThreads, allowSpinning) belong to the model's
/// <see cref="ThreadBudget"/>, which <see cref="ApplyThreads"/> sets on the session.
/// </summary>
public sealed record OnnxSessionSettings
{
    public GraphOptimizationLevel OptimizationLevel { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>Save the optimized graph beside the model and load it from there next time.</summary>
    public bool CacheOptimizedModel { get; init; }

    /// <summary>Run through IOBinding with reused host buffers (<c>onnx.ioBinding</c>, default true); false allocates each run's batch and outputs.</summary>
    public bool IoBinding { get; init; } = true;

    /// <summary>
    /// ONNX Runtime's CPU memory arena (off by default). The session is shared by the model's
    /// workers, and the arena grows to hold every Run in flight at once and never shrinks, so it
    /// keeps the peak of the busiest moment after the workers are scaled down. Without it, tensors
    /// come from the C heap, whose free pages go back to the system after a scale-down; measured:
    /// no loss of throughput (docs/backends.md).
    /// </summary>
    public bool CpuMemoryArena { get; init; }

    public IReadOnlyList<string> Applied { get; init; } = [];

    /// <exception cref="ModelLoadException">An unknown key, a bad value, or a pt2 option ONNX Runtime cannot honour.</exception>
    public static OnnxSessionSettings From(ModelConfig config, string modelName)
    {
        var settings = new OnnxSessionSettings();
        var applied = new List<string>();
        var levelSet = false;
        foreach (var (key, value) in config.Onnx)
        {
            var name = "onnx." + key.Replace(':', '.');
            switch (key)
            {
                case "intraOpNumThreads" or "interOpNumThreads" or "allowSpinning":
                    // Read by ThreadBudget, whose reason the load log prints.
                    continue;
                case "graphOptimizationLevel":
                    settings = settings with { OptimizationLevel = Level(name, value) };
                    levelSet = true;
                    break;
                case "cacheOptimizedModel":
                    settings = settings with { CacheOptimizedModel = Bool(name, value) };
                    break;
                case "ioBinding":
                    settings = settings with { IoBinding = Bool(name, value) };
                    break;
                case "cpuMemoryArena":
                    settings = settings with { CpuMemoryArena = Bool(name, value) };
                    break;
                default:
                    throw new ModelLoadException(
                        $"Model '{modelName}': unknown model-config option '{name}'. Known: onnx.intraOpNumThreads, onnx.interOpNumThreads, onnx.allowSpinning, onnx.graphOptimizationLevel, onnx.cacheOptimizedModel, onnx.cpuMemoryArena, onnx.ioBinding.");
            }
            applied.Add($"{name}: {value}");
        }

        var pt2 = Pt2Settings.Parse(config.Pt2);
        if (pt2.AotCompile)
        {
            throw new ModelLoadException(
                $"Model '{modelName}': pt2.export.aot_compile makes an AOTInductor .so from a PyTorch model; an ONNX model has nothing to export. Remove it.");
        }
        foreach (var option in pt2.InductorOptions)
        {
            throw new ModelLoadException($"Model '{modelName}': {option} is an Inductor option; ONNX Runtime has no Inductor. Remove it.");
        }
        if (pt2.CompileEnabled)
        {
            if (pt2.Backend is not (null or "inductor" or "onnxrt"))
            {
                throw new ModelLoadException(
                    $"Model '{modelName}': pt2.compile.backend '{pt2.Backend}' has no ONNX Runtime equivalent; use inductor or onnxrt (both mean ONNX Runtime's graph optimizer here), or remove it.");
            }
            if (pt2.Mode is "reduce-overhead")
            {
                throw new ModelLoadException(
                    $"Model '{modelName}': pt2.compile.mode 'reduce-overhead' asks for CUDA graphs, which ONNX Runtime runs only with inputs and outputs bound at fixed device addresses; Serve binds reused host buffers (IOBinding), not device addresses. Use 'default' or 'max-autotune'.");
            }
            if (pt2.Mode is not (null or "default" or "max-autotune" or "max-autotune-no-cudagraphs"))
            {
                throw new ModelLoadException(
                    $"Model '{modelName}': pt2.compile.mode '{pt2.Mode}' is not a torch.compile mode (default, reduce-overhead, max-autotune, max-autotune-no-cudagraphs).");
            }
            if (!levelSet)
            {
                settings = settings with { OptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            }
            settings = settings with { CacheOptimizedModel = true };
            applied.Add($"pt2.compile.enable: graph optimization level {LevelName(settings.OptimizationLevel)}{(levelSet ? " (from onnx.graphOptimizationLevel)" : "")}, optimized model cached beside the model");
            if (pt2.Mode is not null) applied.Add($"pt2.compile.mode {pt2.Mode}: ONNX Runtime's full optimization (it has no autotuning)");
            if (pt2.FullGraph is not null) applied.Add($"pt2.compile.fullgraph {pt2.FullGraph.Value.ToString().ToLowerInvariant()}: an ONNX model is always one whole graph");
            if (pt2.Dynamic is not null) applied.Add($"pt2.compile.dynamic {pt2.Dynamic.Value.ToString().ToLowerInvariant()}: dimensions stay as the ONNX model declares them");
        }
        else if (!pt2.IsEmpty)
        {
            applied.Add("pt2.compile.enable is false: nothing to compile");
        }
        return settings with { Applied = applied };
    }

    /// <summary>Session options for these settings; the caller adds the execution provider.</summary>
    public SessionOptions ToSessionOptions()
    {
        return new SessionOptions { GraphOptimizationLevel = OptimizationLevel, EnableCpuMemArena = CpuMemoryArena };
    }

    /// <summary>ONNX Runtime's key for whether idle intra-op pool threads spin before they sleep.</summary>
    public const string AllowSpinningKey = "session.intra_op.allow_spinning";

    /// <summary>Sets the budget's threads on <paramref name="options"/>: intra-op, inter-op (sequential execution), spinning.</summary>
    public static void ApplyThreads(SessionOptions options, ThreadBudget threads)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(threads);
        options.ExecutionMode = ExecutionMode.ORT_SEQUENTIAL;
        options.IntraOpNumThreads = threads.IntraOpThreads;
        options.InterOpNumThreads = threads.InterOpThreads;
        options.AddSessionConfigEntry(AllowSpinningKey, threads.AllowSpinning ? "1" : "0");
    }

    public static string LevelName(GraphOptimizationLevel level) => level switch
    {
        GraphOptimizationLevel.ORT_DISABLE_ALL => "disabled",
        GraphOptimizationLevel.ORT_ENABLE_BASIC => "basic",
        GraphOptimizationLevel.ORT_ENABLE_EXTENDED => "extended",
        GraphOptimizationLevel.ORT_ENABLE_LAYOUT => "layout",
        _ => "all",
    };

    private static GraphOptimizationLevel Level(string name, string value) => value.ToLowerInvariant() switch
    {
        "disabled" or "disable_all" or "ort_disable_all" => GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic" or "enable_basic" or "ort_enable_basic" => GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended" or "enable_extended" or "ort_enable_extended" => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "layout" or "enable_layout" or "ort_enable_layout" => GraphOptimizationLevel.ORT_ENABLE_LAYOUT,
        "all" or "enable_all" or "ort_enable_all" => GraphOptimizationLevel.ORT_ENABLE_ALL,
        _ => throw new ModelLoadException($"model-config: '{name}' must be disabled, basic, extended, layout or all, not '{value}'."),
    };

    private static bool Bool(string name, string value) => value.ToLowerInvariant() switch
    {
        "true" => true,
        "false" => false,
        _ => throw new ModelLoadException($"model-config: '{name}' must be true or false, not '{value}'."),
    };
}
