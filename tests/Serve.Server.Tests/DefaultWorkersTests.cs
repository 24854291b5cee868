using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Serve.Runtime;

namespace Serve.Server.Tests;

/// <summary>
/// More than one batch in flight per GPU by default: a model whose backend finds CUDA devices
/// starts <see cref="DeviceSelection.BatchesInFlightPerGpu"/> workers per device, sharing the
/// device's copy, unless its model-config or its registration says how many. Tested with a backend
/// that reports GPUs (no machine here has one), so the selection and the worker count are real.
/// </summary>
public sealed class DefaultWorkersTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("serve-default-workers-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private ModelManager Manager(int gpus) => new(
        Options.Create(new ServeOptions()),
        new HandlerRegistry([new HandlerRegistration("devices", () => new DeviceHandler())]),
        [new GpuLoader(gpus)],
        new Environment(_directory),
        NullLoggerFactory.Instance,
        new FakeTimeProvider());

    private ModelOptions Model(string? config, string name = "m")
    {
        var path = Path.Combine(_directory, name);
        Directory.CreateDirectory(Path.Combine(path, "MAR-INF"));
        var configFile = config is null ? "" : """, "configFile": "model-config.yaml" """;
        var manifest = $$"""{"modelName": "{{name}}", "modelVersion": "1.0", "handler": "devices", "serializedFile": "model.gpu"{{configFile}}}""";
        File.WriteAllText(Path.Combine(path, "MAR-INF", "MANIFEST.json"), "{\"model\": " + manifest + "}");
        File.WriteAllText(Path.Combine(path, "model.gpu"), "weights");
        if (config is not null)
        {
            File.WriteAllText(Path.Combine(path, "model-config.yaml"), config);
        }
        return new ModelOptions { Name = name, Path = path };
    }

    [Theory]
    [InlineData(1, null, "cuda:0,cuda:0")]
    [InlineData(2, null, "cuda:0,cuda:0,cuda:1,cuda:1")]
    [InlineData(2, "deviceIds: [1]\n", "cuda:1,cuda:1")]
    [InlineData(1, "batchSize: 8\n", "cuda:0,cuda:0")]
    [InlineData(1, "minWorkers: 1\nmaxWorkers: 1\n", "cuda:0")]
    [InlineData(1, "maxWorkers: 1\n", "cuda:0")]
    public async Task Each_gpu_gets_two_batches_in_flight_unless_model_config_says(int gpus, string? config, string devices)
    {
        var model = await Manager(gpus).LoadAsync(Model(config), CancellationToken.None);

        Assert.Equal(devices, string.Join(",", model.Workers.Select(w => w.Device).Order(StringComparer.Ordinal)));
        Assert.Equal(devices.Split(',').Length, model.WorkerCount);
    }

    [Fact]
    public async Task Initial_workers_at_registration_win_over_the_gpu_default()
    {
        var options = Model(null);
        options.InitialWorkers = 1;

        var model = await Manager(1).LoadAsync(options, CancellationToken.None);

        Assert.Equal("cuda:0", Assert.Single(model.Workers).Device);
    }

    /// <summary>A backend that reports <paramref name="gpus"/> CUDA devices and loads a model that computes nothing.</summary>
    private sealed class GpuLoader(int gpus) : IModelLoader
    {
        public string Backend => "fake-gpu";

        public AcceleratorInventory Accelerators => new(gpus, false);

        public bool CanLoad(string serializedFilePath) => serializedFilePath.EndsWith(".gpu", StringComparison.Ordinal);

        public IModel Load(HandlerContext context) => new NothingModel();
    }

    private sealed class NothingModel : IModel
    {
        public string Backend => "fake-gpu";

        public bool IsThreadSafe => true;

        public void Dispose()
        {
        }
    }

    private sealed class DeviceHandler : IHandler
    {
        public ValueTask InitializeAsync(HandlerContext context, CancellationToken cancellationToken)
        {
            context.Model = context.LoadModel();
            return ValueTask.CompletedTask;
        }

        public ValueTask<IReadOnlyList<InferenceResult>> HandleAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<InferenceResult>>([.. batch.Select(_ => InferenceResult.Text(context.Device.ToString()))]);
    }

    private sealed class Environment(string root) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Test";
        public string ApplicationName { get; set; } = "Serve.Server.Tests";
        public string ContentRootPath { get; set; } = root;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
