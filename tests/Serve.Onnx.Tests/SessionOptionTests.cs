using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using Serve.Runtime;

namespace Serve.Onnx.Tests;

/// <summary>model-config's onnx and pt2 sections, the optimized-model cache, and the CUDA fallback.</summary>
public class SessionOptionTests
{
    [Fact]
    public void The_onnx_section_sets_the_optimization_level_and_leaves_threads_to_the_budget()
    {
        var settings = Settings("onnx:\n  intraOpNumThreads: 2\n  interOpNumThreads: 1\n  graphOptimizationLevel: basic");

        Assert.Equal((GraphOptimizationLevel.ORT_ENABLE_BASIC, false), (settings.OptimizationLevel, settings.CacheOptimizedModel));
        Assert.Equal(["onnx.graphOptimizationLevel: basic"], settings.Applied);
    }

    [Fact]
    public async Task The_cpu_memory_arena_is_off_unless_model_config_turns_it_on_and_both_sessions_run()
    {
        // The arena keeps the peak of concurrent runs after a scale-down (docs/backends.md).
        var off = Settings("onnx:\n  graphOptimizationLevel: all");
        var on = Settings("onnx:\n  cpuMemoryArena: true");
        using var offOptions = off.ToSessionOptions();
        using var onOptions = on.ToSessionOptions();

        Assert.Equal((false, true), (offOptions.EnableCpuMemArena, onOptions.EnableCpuMemArena));
        Assert.Equal(["onnx.cpuMemoryArena: true"], on.Applied);
        foreach (var config in new[] { "", "onnx:\n  cpuMemoryArena: true" })
        {
            using var model = (OnnxModel)Fixtures.Context("tiny.onnx", config).LoadModel();
            using var output = await model.RunAsync(Fixtures.TinyInput(), default);
            Assert.InRange(Fixtures.MaxAbsDifference(output.Span, Fixtures.Tiny.Output), 0f, Fixtures.Tolerance);
        }
    }

    [Fact]
    public void The_thread_budget_sets_intra_and_inter_op_threads_and_spinning_on_the_session()
    {
        var context = Fixtures.Context("tiny.onnx", "onnx:\n  intraOpNumThreads: 2\n  allowSpinning: false");
        using var options = new SessionOptions();

        OnnxSessionSettings.ApplyThreads(options, context.Threads);

        Assert.Equal((2, 1, ExecutionMode.ORT_SEQUENTIAL), (options.IntraOpNumThreads, options.InterOpNumThreads, options.ExecutionMode));
    }

    [Fact]
    public void The_load_log_says_which_threads_were_chosen_and_why()
    {
        var logger = new ListLogger();
        var context = Fixtures.Context("tiny.onnx", "onnx:\n  intraOpNumThreads: 1", logger: logger);

        using (context.LoadModel())
        {
        }

        Assert.Contains(logger.Entries, e => e.Message.StartsWith("Model tiny on cpu: threads intra-op 1, inter-op 1, spinning off", System.StringComparison.Ordinal)
            && e.Message.Contains("onnx.intraOpNumThreads: 1 in model-config", System.StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("onnx:\n  intraOpThreads: 2", "unknown model-config option 'onnx.intraOpThreads'")]
    [InlineData("torch:\n  numThreads: 2", "model-config sets torch.numThreads, but 'tiny.onnx' is an ONNX model")]
    [InlineData("onnx:\n  allowSpinning: often", "'onnx.allowSpinning' must be true or false, not 'often'.")]
    [InlineData("onnx:\n  intraOpNumThreads: many", "'onnx.intraOpNumThreads' must be a whole number of threads")]
    [InlineData("onnx:\n  graphOptimizationLevel: max", "'onnx.graphOptimizationLevel' must be disabled, basic, extended, layout or all, not 'max'.")]
    [InlineData("onnx:\n  cacheOptimizedModel: sometimes", "'onnx.cacheOptimizedModel' must be true or false, not 'sometimes'.")]
    [InlineData("onnx:\n  ioBinding: maybe", "'onnx.ioBinding' must be true or false, not 'maybe'.")]
    [InlineData("onnx:\n  cpuMemoryArena: yes please", "'onnx.cpuMemoryArena' must be true or false, not 'yes please'.")]
    [InlineData("pt2:\n  compile:\n    enable: true\n    mode: reduce-overhead", "pt2.compile.mode 'reduce-overhead' asks for CUDA graphs")]
    [InlineData("pt2:\n  compile:\n    enable: true\n    backend: cudagraphs", "pt2.compile.backend 'cudagraphs' has no ONNX Runtime equivalent")]
    [InlineData("pt2:\n  compile:\n    enable: true\n    options:\n      epilogue_fusion: true", "pt2.compile.options.epilogue_fusion is an Inductor option")]
    [InlineData("pt2:\n  export:\n    aot_compile: true", "pt2.export.aot_compile makes an AOTInductor .so")]
    public void Bad_options_and_pt2_options_that_cannot_be_honoured_are_named(string config, string message)
    {
        var error = Assert.Throws<ModelLoadException>(() => Fixtures.Context("tiny.onnx", config).LoadModel());

        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Pt2_compile_maps_to_full_optimization_and_a_cached_model_and_says_so()
    {
        var settings = Settings("pt2:\n  compile:\n    enable: true\n    mode: max-autotune\n    fullgraph: true");

        Assert.Equal((GraphOptimizationLevel.ORT_ENABLE_ALL, true), (settings.OptimizationLevel, settings.CacheOptimizedModel));
        Assert.Equal(
            [
                "pt2.compile.enable: graph optimization level all, optimized model cached beside the model",
                "pt2.compile.mode max-autotune: ONNX Runtime's full optimization (it has no autotuning)",
                "pt2.compile.fullgraph true: an ONNX model is always one whole graph",
            ],
            settings.Applied);
    }

    [Fact]
    public async Task The_optimized_model_is_cached_beside_the_model_and_loaded_from_there_next_time()
    {
        const string config = "onnx:\n  cacheOptimizedModel: true\n  graphOptimizationLevel: extended";
        var first = new ListLogger();
        var context = Fixtures.Context("tiny.onnx", config, logger: first);
        var cached = OnnxModelLoader.CachedModelPath(context.SerializedFilePath!, "cpu", Settings(config));

        using (context.LoadModel())
        {
            Assert.True(File.Exists(cached), cached);
        }
        Assert.Contains(first.Entries, e => e.Message == $"Model tiny: caching the optimized model at {cached}");
        Assert.EndsWith("tiny.onnx.cpu-extended.optimized", cached);

        var second = new ListLogger();
        var again = new HandlerContext(context.Manifest, context.ModelDirectory)
        {
            ModelConfig = context.ModelConfig, ModelLoaders = context.ModelLoaders, Logger = second,
        };
        using var model = (OnnxModel)again.LoadModel();
        using var output = await model.RunAsync(Fixtures.TinyInput(), default);

        Assert.Contains(second.Entries, e => e.Message == $"Model tiny: loading the optimized model cached at {cached}");
        Assert.InRange(Fixtures.MaxAbsDifference(output.Span, Fixtures.Tiny.Output), 0f, Fixtures.Tolerance);
    }

    [Fact]
    public async Task A_gpu_device_without_a_working_cuda_provider_falls_back_to_the_cpu_and_logs_why()
    {
        var logger = new ListLogger();
        var context = Fixtures.Context("tiny.onnx", logger: logger);
        context.Device = new Device(DeviceType.Cuda, 0); // as DeviceSelection chooses on a GPU machine

        using var model = (OnnxModel)new OnnxModelLoader().Load(context);
        using var output = await model.RunAsync(Fixtures.TinyInput(), default);

        Assert.Equal(Device.Cpu, context.Device);
        Assert.StartsWith("the CUDA execution provider failed: ", context.DeviceReason);
        Assert.EndsWith("; fell back from cuda:0 to the CPU", context.DeviceReason);
        var warning = Assert.Single(logger.Entries, e => e.Level == LogLevel.Warning);
        Assert.StartsWith("Model tiny: cannot run on cuda:0, running on the CPU: the CUDA execution provider failed: ", warning.Message);
        Assert.InRange(Fixtures.MaxAbsDifference(output.Span, Fixtures.Tiny.Output), 0f, Fixtures.Tolerance);
    }

    [Fact]
    public void An_mps_device_runs_on_the_cpu_saying_onnx_runtime_has_no_provider_for_it()
    {
        var context = Fixtures.Context("tiny.onnx");
        context.Device = new Device(DeviceType.Mps);

        using var model = new OnnxModelLoader().Load(context);

        Assert.Equal((Device.Cpu, "ONNX Runtime has no provider for mps; fell back from mps to the CPU"), (context.Device, context.DeviceReason));
    }

    [Fact]
    public void This_machine_offers_no_accelerator_to_onnx_runtime()
    {
        // The CPU package has no CUDA provider; the GPU package has one, but there is no NVIDIA device here.
        Assert.Equal(AcceleratorInventory.None, new OnnxModelLoader().Accelerators);
        Assert.Contains("CPUExecutionProvider", OrtEnv.Instance().GetAvailableProviders());
    }

    private static OnnxSessionSettings Settings(string yaml) =>
        OnnxSessionSettings.From(ModelConfig.Parse(new StringReader(yaml), "model-config.yaml"), "tiny");
}
