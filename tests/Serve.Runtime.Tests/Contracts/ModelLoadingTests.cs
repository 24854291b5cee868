using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;
using Serve.Runtime.CompilerServices;
using Serve.Runtime.Tests.Defaults;

namespace Serve.Runtime.Tests.Contracts;

/// <summary>The default initialize chooses the device from the backend's accelerators and reads the labels.</summary>
public sealed class ModelLoadingTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("serve-loading-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void The_backend_loads_on_the_gpu_the_worker_takes()
    {
        var loader = new GpuLoader(new AcceleratorInventory(CudaDeviceCount: 2, MpsAvailable: false));
        var context = Context(workerIndex: 1, ModelConfig.Default, loader);

        context.LoadModel();

        Assert.Equal(new Device(DeviceType.Cuda, 1), loader.LoadedOn);
        Assert.Equal("worker 1 takes GPU 1 of 2 CUDA device(s)", context.DeviceReason);
    }

    [Fact]
    public void DeviceType_cpu_keeps_the_model_off_the_gpus()
    {
        var loader = new GpuLoader(new AcceleratorInventory(2, false));
        var context = Context(0, ModelConfig.Default with { DeviceType = "cpu" }, loader);

        context.LoadModel();

        Assert.Equal(Device.Cpu, loader.LoadedOn);
    }

    [Fact]
    public void A_device_id_the_machine_lacks_fails_the_load_naming_the_model()
    {
        var context = Context(0, ModelConfig.Default with { DeviceIds = [5] }, new GpuLoader(new AcceleratorInventory(2, false)));

        var error = Assert.Throws<ModelLoadException>(() => context.LoadModel());

        Assert.Equal("Model 'loading': deviceIds in model-config names GPU 5, but this machine has 2 CUDA device(s) (0-1).", error.Message);
    }

    [Fact]
    public async Task A_bad_label_file_fails_the_default_initialize_naming_the_file()
    {
        File.WriteAllText(Path.Combine(_directory, "index_to_name.json"), """{"zero": "cat"}""");
        var context = Context(0, ModelConfig.Default, new GpuLoader(AcceleratorInventory.None));

        var error = await Assert.ThrowsAsync<ModelLoadException>(async () => await DefaultStages.InitializeAsync(context, CancellationToken.None));

        Assert.Contains("index_to_name.json' has the key \"zero\"", error.Message);
    }

    [Theory]
    [InlineData("pt2: inductor", true, "inductor")]
    [InlineData("pt2:\n  backend: onnxrt\n  mode: max-autotune", true, "onnxrt")]
    [InlineData("pt2:\n  compile:\n    enable: false\n    backend: inductor", false, "inductor")]
    public void Pt2_settings_read_both_of_torchserves_forms(string yaml, bool compile, string backend)
    {
        var settings = Pt2Settings.Parse(ModelConfig.Parse(new StringReader(yaml), "model-config.yaml").Pt2);

        Assert.Equal((compile, backend), (settings.CompileEnabled, settings.Backend));
    }

    private HandlerContext Context(int workerIndex, ModelConfig config, IModelLoader loader)
    {
        File.WriteAllText(Path.Combine(_directory, "model.fake"), "");
        return new HandlerContext(new ModelManifest { ModelName = "loading", SerializedFile = "model.fake" }, _directory)
        {
            ModelConfig = config,
            WorkerIndex = workerIndex,
            ModelLoaders = [loader],
        };
    }

    /// <summary>A backend that reports accelerators and remembers the device it was asked to load on.</summary>
    private sealed class GpuLoader(AcceleratorInventory accelerators) : IModelLoader
    {
        public string Backend => "fake";

        public AcceleratorInventory Accelerators => accelerators;

        public bool CanLoad(string serializedFilePath) => serializedFilePath.EndsWith(".fake", StringComparison.Ordinal);

        public IModel Load(HandlerContext context)
        {
            LoadedOn = context.Device;
            return new EchoModel();
        }

        public Device? LoadedOn { get; private set; }
    }
}
