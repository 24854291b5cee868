using System;
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

/// <summary>The model manager: load, bind, scale and unregister models, with fake handlers.</summary>
public sealed class ModelManagerTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly string _directory = Directory.CreateTempSubdirectory("serve-manager-").FullName;
    private readonly FakeHandlers _handlers = new();
    private readonly ModelManager _manager;
    private int _created;

    public ModelManagerTests()
    {
        File.WriteAllText(Path.Combine(_directory, "model-config.yaml"), "minWorkers: 2\nmaxWorkers: 3\nbatchSize: 1\nmaxBatchDelay: 0\n");
        var registry = new HandlerRegistry([new HandlerRegistration("fake", () =>
        {
            Interlocked.Increment(ref _created);
            return _handlers.Create();
        })]);
        _manager = new ModelManager(Options.Create(new ServeOptions()), registry, [], new Environment(_directory), NullLoggerFactory.Instance, new FakeTimeProvider());
    }

    public void Dispose()
    {
        _handlers.Release();
        Directory.Delete(_directory, recursive: true);
    }

    private Task<ServedModel> LoadAsync(string name = "model") =>
        _manager.LoadAsync(new ModelOptions { Name = name, Path = ".", Handler = "fake" }, CancellationToken.None);

    private static Task<InferenceResult> Send(ServedModel model, string body) =>
        model.InferAsync(new InferenceRequest(Encoding.UTF8.GetBytes(body)), explain: false, CancellationToken.None);

    [Fact]
    public async Task A_loaded_model_runs_min_workers_each_with_its_own_handler()
    {
        var model = await LoadAsync();

        Assert.Equal(2, model.WorkerCount);
        Assert.Equal(3, _created); // one made only to ask what the handler is, one per worker
        Assert.True(_manager.TryGet("model", out var found));
        Assert.Same(model, found);
        Assert.Equal("OK", Encoding.UTF8.GetString((await Send(model, "ok").WaitAsync(Patience)).Body.Span));
    }

    [Fact]
    public async Task A_per_request_preprocess_gets_a_handler_of_its_own()
    {
        _handlers.PerRequestPreprocess = true;

        var model = await LoadAsync();

        Assert.True(model.PreprocessesEachRequest);
        Assert.Equal(3, _created); // the per-request stage's (the one made to ask), two workers
        Assert.Equal("PRE:OK", Encoding.UTF8.GetString((await Send(model, "ok").WaitAsync(Patience)).Body.Span));
    }

    [Fact]
    public async Task A_handler_that_declines_an_inherited_per_request_preprocess_runs_batches_only()
    {
        _handlers.DeclinesPerRequestPreprocess = true;

        var model = await LoadAsync();

        Assert.False(model.PreprocessesEachRequest);
        Assert.Equal(0, _handlers.PreprocessesRunning);
        Assert.Equal("OK", Encoding.UTF8.GetString((await Send(model, "ok").WaitAsync(Patience)).Body.Span));
        Assert.Equal(0, _handlers.PreprocessEntered.CurrentCount);
    }

    [Fact]
    public async Task A_handler_that_is_no_explaining_handler_refuses_explanations_before_they_queue()
    {
        var model = await LoadAsync();

        Assert.False(model.CanExplain);
        var result = await model.InferAsync(new InferenceRequest(Encoding.UTF8.GetBytes("ok")), explain: true, CancellationToken.None).WaitAsync(Patience);
        Assert.Equal(InferenceErrorKind.NotSupported, result.ErrorKind);
        Assert.Empty(_handlers.Batches);
    }

    [Fact]
    public async Task A_slot_bound_before_the_model_loads_finds_it_and_loses_it_when_unregistered()
    {
        var slot = _manager.Slot("model");
        Assert.Null(slot.Model);

        var model = await LoadAsync();
        Assert.Same(model, slot.Model);

        var queued = Send(model, "wait");
        await _handlers.WaitForBatchesAsync();
        var unregistering = _manager.UnregisterAsync("model", CancellationToken.None);
        Assert.Null(slot.Model); // new requests see no model at once...
        _handlers.Release();
        Assert.True(await unregistering.WaitAsync(Patience));
        Assert.True((await queued).IsSuccess); // ...while the queued one still ran
        Assert.False(_manager.TryGet("model", out _));
        Assert.False(await _manager.UnregisterAsync("model", CancellationToken.None));
    }

    [Fact]
    public async Task Scaling_goes_through_the_manager()
    {
        var model = await LoadAsync();

        Assert.True(await _manager.ScaleAsync("model", 3, CancellationToken.None));
        Assert.Equal(3, model.WorkerCount);
        Assert.Equal([0, 1, 2], _handlers.WorkerIndexes.Order()); // worker i's context, for device i
        Assert.True(await _manager.ScaleAsync("model", 1, CancellationToken.None)); // below the config's minWorkers: the new bound replaces it
        Assert.Equal(1, model.WorkerCount);
        Assert.False(await _manager.ScaleAsync("nope", 2, CancellationToken.None));
    }

    [Fact]
    public async Task The_same_version_under_the_same_name_is_refused()
    {
        await LoadAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => LoadAsync());
        Assert.Equal("Model version 1.0 is already registered for model model", error.Message);
    }

    [Fact]
    public async Task A_model_asking_for_an_unregistered_handler_names_the_registered_ones()
    {
        var error = await Assert.ThrowsAsync<ModelLoadException>(() =>
            _manager.LoadAsync(new ModelOptions { Name = "model", Path = ".", Handler = "nope" }, CancellationToken.None));

        Assert.Contains("asks for handler 'nope', which is not registered (registered: fake)", error.Message);
    }

    private sealed class Environment(string root) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Test";
        public string ApplicationName { get; set; } = "Serve.Server.Tests";
        public string ContentRootPath { get; set; } = root;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
