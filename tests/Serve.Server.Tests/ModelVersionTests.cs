using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
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
/// Several versions under one name (TorchServe's ModelVersionedRefs), registration's overrides of
/// model-config, and loading in the background, with a handler that answers with its version.
/// </summary>
public sealed class ModelVersionTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly string _directory = Directory.CreateTempSubdirectory("serve-versions-").FullName;
    private readonly TaskCompletionSource _initializeGate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ModelManager _manager;

    public ModelVersionTests()
    {
        var registry = new HandlerRegistry([new HandlerRegistration("versioned", () => new VersionHandler(_initializeGate.Task))]);
        _manager = new ModelManager(Options.Create(new ServeOptions()), registry, [], new Environment(_directory), NullLoggerFactory.Instance, new FakeTimeProvider());
    }

    public void Dispose()
    {
        _initializeGate.TrySetResult();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>A model directory with a manifest of that version and, when given, a model-config.yaml.</summary>
    private ModelOptions Version(string version, string? config = null, string name = "m")
    {
        var path = Path.Combine(_directory, $"{name}-{version}");
        Directory.CreateDirectory(Path.Combine(path, "MAR-INF"));
        var configFile = config is null ? "" : """, "configFile": "model-config.yaml" """;
        var manifest = $$"""{"modelName": "{{name}}", "modelVersion": "{{version}}", "handler": "versioned"{{configFile}}}""";
        File.WriteAllText(Path.Combine(path, "MAR-INF", "MANIFEST.json"), "{\"model\": " + manifest + "}");
        if (config is not null)
        {
            File.WriteAllText(Path.Combine(path, "model-config.yaml"), config);
        }
        return new ModelOptions { Name = name, Path = path };
    }

    private static async Task<string> Answer(ServedModel model)
    {
        var result = await model.InferAsync(new InferenceRequest(Encoding.UTF8.GetBytes("x")), explain: false, CancellationToken.None).WaitAsync(Patience);
        return result.IsSuccess ? Encoding.UTF8.GetString(result.Body.Span) : $"{result.ErrorKind}: {result.ErrorMessage}";
    }

    [Fact]
    public async Task The_first_version_is_the_default_until_another_is_made_so()
    {
        _initializeGate.SetResult();
        var first = await _manager.LoadAsync(Version("1.0"), CancellationToken.None);
        var second = await _manager.LoadAsync(Version("2.0"), CancellationToken.None);

        Assert.True(_manager.TryGet("m", out var byDefault));
        Assert.Same(first, byDefault);
        Assert.True(_manager.TryGet("m", "2.0", out var asked));
        Assert.Equal("2.0", await Answer(asked));
        Assert.Equal("1.0", await Answer(byDefault));
        Assert.Equal(["1.0", "2.0"], _manager.Versions("m").Select(m => m.Version));

        Assert.True(_manager.SetDefault("m", "2.0"));
        Assert.False(_manager.SetDefault("m", "3.0"));
        Assert.True(_manager.TryGet("m", out var now));
        Assert.Same(second, now);
        Assert.Same(second, _manager.Slot("m").Model);
        Assert.Single(_manager.Models); // one default per name
    }

    [Fact]
    public async Task The_default_version_cannot_be_unregistered_while_others_remain()
    {
        _initializeGate.SetResult();
        await _manager.LoadAsync(Version("1.0"), CancellationToken.None);
        var second = await _manager.LoadAsync(Version("2.0"), CancellationToken.None);

        Assert.Equal(UnregisterOutcome.IsDefaultVersion, await _manager.UnregisterAsync("m", "1.0", CancellationToken.None));
        Assert.Equal(UnregisterOutcome.IsDefaultVersion, await _manager.UnregisterAsync("m", null, CancellationToken.None));
        Assert.Equal(UnregisterOutcome.VersionNotFound, await _manager.UnregisterAsync("m", "9.9", CancellationToken.None));
        Assert.Equal(UnregisterOutcome.ModelNotFound, await _manager.UnregisterAsync("nope", "1.0", CancellationToken.None));

        Assert.Equal(UnregisterOutcome.Unregistered, await _manager.UnregisterAsync("m", "2.0", CancellationToken.None));
        // A request that found the version just before it went is answered as if it came just after.
        Assert.Equal("ModelNotFound: Model not found: m (version 2.0 was unregistered)", await Answer(second));
        Assert.False(_manager.TryGet("m", "2.0", out _));
        Assert.Equal(UnregisterOutcome.Unregistered, await _manager.UnregisterAsync("m", null, CancellationToken.None)); // the last one may go
        Assert.Equal(UnregisterOutcome.ModelNotFound, await _manager.UnregisterAsync("m", "1.0", CancellationToken.None));
        Assert.Empty(_manager.Versions("m"));
    }

    [Fact]
    public async Task Register_parameters_override_the_archive_as_TorchServe_does()
    {
        _initializeGate.SetResult();
        const string config = "minWorkers: 2\nmaxWorkers: 3\nbatchSize: 4\nmaxBatchDelay: 50\nresponseTimeout: 7\n";
        var withConfig = Version("1.0", config);
        withConfig.BatchSize = 8;
        withConfig.MaxBatchDelay = 5;
        withConfig.ResponseTimeout = 30;
        withConfig.InitialWorkers = 1;
        var bare = Version("2.0");
        bare.ResponseTimeout = 30;
        bare.InitialWorkers = 3;

        var configured = await _manager.LoadAsync(withConfig, CancellationToken.None);
        var plain = await _manager.LoadAsync(bare, CancellationToken.None);

        // batch_size and max_batch_delay win; the archive's responseTimeout and minWorkers/maxWorkers win.
        Assert.Equal((8, 5, 7, 2, 3, 2), (configured.Config.BatchSize, configured.Config.MaxBatchDelay, configured.Config.ResponseTimeout, configured.MinWorkers, configured.MaxWorkers, configured.WorkerCount));
        // Without a model-config, response_timeout and initial_workers act.
        Assert.Equal((30, 3, 3, 3), (plain.Config.ResponseTimeout, plain.MinWorkers, plain.MaxWorkers, plain.WorkerCount));
    }

    [Fact]
    public async Task Initial_workers_that_a_config_does_not_set_explicitly_take_effect()
    {
        _initializeGate.SetResult();
        var options = Version("1.0", "batchSize: 2\n"); // a model-config without minWorkers
        options.InitialWorkers = 2;

        var model = await _manager.LoadAsync(options, CancellationToken.None);

        Assert.Equal((2, 2), (model.MinWorkers, model.WorkerCount));
    }

    [Fact]
    public async Task Absurd_initial_workers_are_refused_naming_the_limit()
    {
        var options = Version("1.0");
        options.InitialWorkers = 100_000;

        var error = await Assert.ThrowsAsync<ModelLoadException>(() => _manager.LoadAsync(options, CancellationToken.None));

        Assert.Contains($"limit of {ServeOptions.DefaultMaxWorkersPerModel} workers per model", error.Message);
        Assert.False(_manager.TryGet("m", out _));
    }

    [Fact]
    public async Task A_background_load_is_Loading_then_Ready_and_answers_503_meanwhile()
    {
        var model = _manager.LoadInBackground(Version("1.0"));

        Assert.Equal(ModelStatus.Loading, model.Status);
        Assert.True(_manager.TryGet("m", out var registered));
        Assert.Same(model, registered);
        Assert.NotEmpty(model.Workers);
        Assert.All(model.Workers, worker => Assert.Equal(WorkerInfo.Loading, worker.Status));
        Assert.Equal("Unavailable: Model 'm' version 1.0 is loading: its workers are starting; try again later.", await Answer(model));

        _initializeGate.SetResult();
        await WaitUntil(() => model.Status == ModelStatus.Ready);
        Assert.All(model.Workers, worker => Assert.Equal(WorkerInfo.Ready, worker.Status));
        Assert.Equal("1.0", await Answer(model));
    }

    [Fact]
    public async Task A_background_load_that_fails_stays_registered_as_Failed_with_the_reason_and_a_scale_retries_it()
    {
        _initializeGate.SetResult();
        var model = _manager.LoadInBackground(Version("1.0", "handler:\n  fail: yes\n"));

        await WaitUntil(() => model.Status == ModelStatus.Failed);
        Assert.Contains("failed to initialize: asked to fail", model.Error);
        Assert.Empty(model.Workers);
        Assert.StartsWith("Unavailable: Model 'm' version 1.0 failed to load (", await Answer(model));
        Assert.True(_manager.TryGet("m", out _)); // still there: describe shows it, DELETE removes it

        var retry = await Assert.ThrowsAsync<ModelLoadException>(() => model.ScaleAsync(1, 1, CancellationToken.None));
        Assert.Contains("asked to fail", retry.Message);
        Assert.Equal(UnregisterOutcome.Unregistered, await _manager.UnregisterAsync("m", "1.0", CancellationToken.None));
    }

    [Fact]
    public async Task A_background_load_where_some_workers_start_serves_on_them_with_the_failure_visible()
    {
        _initializeGate.SetResult();
        var model = _manager.LoadInBackground(Version("1.0", "minWorkers: 3\nmaxWorkers: 3\nhandler:\n  failFromWorker: 1\n"));

        await WaitUntil(() => model.Status != ModelStatus.Loading); // the error is set before the status
        Assert.Equal(ModelStatus.Ready, model.Status);
        Assert.Contains("asked to fail", model.Error);
        Assert.Single(model.Workers);
        Assert.Equal("1.0", await Answer(model));
    }

    [Fact]
    public async Task A_model_unregistered_while_loading_in_the_background_stops_starting_workers()
    {
        var options = Version("1.0", "minWorkers: 3\nmaxWorkers: 3\n");
        var model = _manager.LoadInBackground(options);

        var unregistering = _manager.UnregisterAsync("m", "1.0", CancellationToken.None);
        _initializeGate.SetResult();

        Assert.Equal(UnregisterOutcome.Unregistered, await unregistering.WaitAsync(Patience));
        Assert.False(_manager.TryGet("m", out _));
        await Task.Delay(100);
        Assert.True(model.WorkerCount <= 1, $"{model.WorkerCount} workers started after the model was unregistered");
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Patience);
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }

    /// <summary>Answers with its model's version; initialize waits for the test's gate, and fails when model-config's handler section says <c>fail</c> (or <c>failFromWorker: N</c> for workers N and later).</summary>
    private sealed class VersionHandler(Task initializeGate) : IHandler
    {
        public async ValueTask InitializeAsync(HandlerContext context, CancellationToken cancellationToken)
        {
            await initializeGate.WaitAsync(cancellationToken);
            if (context.ModelConfig.Handler.ContainsKey("fail")
                || (context.ModelConfig.Handler.TryGetValue("failFromWorker", out var first) && context.WorkerIndex >= int.Parse(first)))
            {
                throw new InvalidOperationException("asked to fail");
            }
        }

        public ValueTask<IReadOnlyList<InferenceResult>> HandleAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<InferenceResult>>([.. batch.Select(_ => InferenceResult.Text(context.Manifest.ModelVersion))]);
    }

    private sealed class Environment(string root) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Test";
        public string ApplicationName { get; set; } = "Serve.Server.Tests";
        public string ContentRootPath { get; set; } = root;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
