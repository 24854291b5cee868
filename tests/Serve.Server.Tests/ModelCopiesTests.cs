using System;
using System.Collections.Concurrent;
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
using Serve.Onnx;
using Serve.Runtime;
using Serve.Runtime.CompilerServices;

namespace Serve.Server.Tests;

/// <summary>
/// One copy of a model per device: a real ONNX Runtime session shared by every worker, none
/// loaded for the per-request stage handler; a backend whose models are not thread-safe loads one
/// per worker; scaling down and unregistering release them.
/// </summary>
public sealed class ModelCopiesTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("serve-copies-").FullName;
    private readonly ConcurrentQueue<HandlerContext> _contexts = new();
    private readonly CountingLoader _counting = new();

    public ModelCopiesTests()
    {
        File.Copy(Path.Combine(AppContext.BaseDirectory, "fixtures", "tiny.onnx"), Path.Combine(_directory, "tiny.onnx"));
        File.WriteAllText(Path.Combine(_directory, "model-config.yaml"), "minWorkers: 3\nmaxWorkers: 3\nmaxBatchDelay: 0\n");
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private ModelManager Manager(IModelLoader loader, bool perRequest, bool loadInPerRequestInitialize = false) =>
        new(Options.Create(new ServeOptions()),
            new HandlerRegistry([new HandlerRegistration("loading", () => new LoadingHandler(_contexts, perRequest, loadInPerRequestInitialize))]),
            [loader], new Environment(_directory), NullLoggerFactory.Instance, TimeProvider.System);

    private static Task<ServedModel> LoadAsync(ModelManager manager) =>
        manager.LoadAsync(new ModelOptions { Name = "tiny", Path = ".", Handler = "loading" }, CancellationToken.None);

    private HandlerContext[] Workers => [.. _contexts.Where(c => !c.RunsPerRequestStagesOnly)];

    [Fact]
    public async Task Three_workers_share_one_onnx_session_and_the_per_request_handler_loads_none_of_its_own()
    {
        var manager = Manager(new OnnxModelLoader(), perRequest: true);

        var model = await LoadAsync(manager);

        Assert.Equal(1, model.Copies.Loads);
        var copy = Assert.Single(model.Copies.Describe());
        Assert.Equal(("cpu", "onnxruntime", 4), (copy.Device, copy.Backend, copy.Users));
        Assert.Equal(new FileInfo(Path.Combine(_directory, "tiny.onnx")).Length, copy.FileBytes);
        var workers = Workers;
        Assert.Equal(3, workers.Length);
        Assert.All(workers, w => Assert.Same(workers[0].Model, w.Model));
        // The per-request handler (initialized after the workers) is given their copy: 4 users, 1 load.
        Assert.Same(workers[0].Model, Assert.Single(_contexts, c => c.RunsPerRequestStagesOnly).Model);
        // The first worker loaded the copy; the others were given it.
        Assert.Equal(2, workers.Count(w => w.DeviceReason.EndsWith("; the copy is shared by the model's workers on this device", StringComparison.Ordinal)));

        // The shared session answers requests from all workers at once.
        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => model.InferAsync(new InferenceRequest(new byte[1]), false, CancellationToken.None)));
        Assert.All(results, r => Assert.True(r.IsSuccess, r.ErrorMessage));
        Assert.Single(results.Select(r => Encoding.UTF8.GetString(r.Body.Span)).Distinct());

        await manager.UnregisterAsync("tiny", CancellationToken.None);
        Assert.Empty(model.Copies.Describe());
        Assert.All(workers, w => Assert.Null(w.Model));
    }

    [Fact]
    public async Task A_per_request_handler_that_loads_the_model_itself_gets_the_workers_copy()
    {
        var manager = Manager(new OnnxModelLoader(), perRequest: true, loadInPerRequestInitialize: true);

        var model = await LoadAsync(manager);

        Assert.Equal(1, model.Copies.Loads);
        Assert.Equal(4, Assert.Single(model.Copies.Describe()).Users);
        Assert.Same(Workers[0].Model, Assert.Single(_contexts, c => c.RunsPerRequestStagesOnly).Model);
        await manager.UnregisterAsync("tiny", CancellationToken.None);
    }

    [Fact]
    public async Task Models_that_are_not_thread_safe_load_one_copy_per_worker_and_scaling_down_disposes_them()
    {
        var manager = Manager(_counting, perRequest: false);

        var model = await LoadAsync(manager);

        Assert.Equal((3, 3), (model.Copies.Loads, _counting.Loaded.Count));
        Assert.Equal(3, model.Copies.Describe().Count);

        await model.ScaleAsync(1, 1, CancellationToken.None);

        Assert.Equal(2, _counting.Loaded.Count(m => m.Disposed));
        Assert.Single(model.Copies.Describe());
        await manager.UnregisterAsync("tiny", CancellationToken.None);
        Assert.All(_counting.Loaded, m => Assert.True(m.Disposed));
    }

    [Fact]
    public async Task The_per_request_handler_borrows_a_workers_copy_of_a_model_that_is_not_thread_safe()
    {
        var manager = Manager(_counting, perRequest: true);

        var model = await LoadAsync(manager);

        Assert.Equal((3, 3), (model.Copies.Loads, _counting.Loaded.Count));
        Assert.Contains(Workers.Select(w => w.Model), m => ReferenceEquals(m, Assert.Single(_contexts, c => c.RunsPerRequestStagesOnly).Model));
        await manager.UnregisterAsync("tiny", CancellationToken.None);
        Assert.All(_counting.Loaded, m => Assert.True(m.Disposed));
    }

    [Fact]
    public async Task Scaling_a_shared_copy_down_and_up_keeps_one_copy_and_unregistering_disposes_it()
    {
        var loader = new CountingLoader { ThreadSafe = true };
        var manager = Manager(loader, perRequest: true);
        var model = await LoadAsync(manager);

        await model.ScaleAsync(8, 8, CancellationToken.None);
        await model.ScaleAsync(1, 1, CancellationToken.None);
        await model.ScaleAsync(5, 5, CancellationToken.None);

        Assert.Equal(1, model.Copies.Loads);
        Assert.Equal(6, Assert.Single(model.Copies.Describe()).Users); // 5 workers and the per-request handler
        Assert.False(Assert.Single(loader.Loaded).Disposed);
        await manager.UnregisterAsync("tiny", CancellationToken.None);
        Assert.True(loader.Loaded[0].Disposed);
    }

    [Fact]
    public void A_context_without_copies_loads_its_own_and_releasing_it_disposes_it()
    {
        var context = new HandlerContext(new ModelManifest { ModelName = "tiny", SerializedFile = "tiny.onnx" }, _directory) { ModelLoaders = [_counting] };

        context.Model = context.LoadModel();
        context.ReleaseModel();

        Assert.True(Assert.Single(_counting.Loaded).Disposed);
        Assert.Null(context.Model);
    }

    /// <summary>What generated code with no [Initialize] does, with a per-request preprocess or not; the inference runs the context's model.</summary>
    private sealed class LoadingHandler(ConcurrentQueue<HandlerContext> contexts, bool perRequest, bool loadInPerRequestInitialize) : IHandler
    {
        public async ValueTask InitializeAsync(HandlerContext context, CancellationToken cancellationToken)
        {
            contexts.Enqueue(context);
            if (context.RunsPerRequestStagesOnly && loadInPerRequestInitialize)
            {
                context.Model = context.LoadModel();
                return;
            }
            await DefaultStages.InitializeAsync(context, cancellationToken);
        }

        public bool CanExplain => false;

        public bool PreprocessesEachRequest => perRequest;

        public ValueTask<InferenceRequest> PreprocessAsync(InferenceRequest request, HandlerContext context, CancellationToken cancellationToken) =>
            ValueTask.FromResult(request.WithPreprocessed(request.Body.Length));

        public async ValueTask<IReadOnlyList<InferenceResult>> HandleAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken)
        {
            var results = new List<InferenceResult>();
            foreach (var _ in batch)
            {
                if (context.Model is OnnxModel onnx)
                {
                    var shape = onnx.Inputs[0].Shape!.Select(d => d < 0 ? 1 : d).ToArray();
                    using var output = await ((IModel<Tensor<float>, Tensor<float>>)onnx).RunAsync(new Tensor<float>(new float[shape.Aggregate(1L, (a, b) => a * b)], shape), cancellationToken);
                    results.Add(InferenceResult.Text(output.Span[0].ToString(System.Globalization.CultureInfo.InvariantCulture)));
                }
                else
                {
                    results.Add(InferenceResult.Text("0"));
                }
            }
            return results;
        }

        public ValueTask<IReadOnlyList<InferenceResult>> ExplainAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }

    /// <summary>A backend that counts its loads; its models are thread-safe only when asked.</summary>
    private sealed class CountingLoader : IModelLoader
    {
        public List<CountedModel> Loaded { get; } = [];

        public bool ThreadSafe { get; init; }

        public string Backend => "counting";

        public bool CanLoad(string serializedFilePath) => true;

        public IModel Load(HandlerContext context)
        {
            var model = new CountedModel(ThreadSafe);
            lock (Loaded)
            {
                Loaded.Add(model);
            }
            return model;
        }
    }

    private sealed class CountedModel(bool threadSafe) : IModel
    {
        public bool Disposed { get; private set; }

        public string Backend => "counting";

        public bool IsThreadSafe => threadSafe;

        public void Dispose() => Disposed = true;
    }

    private sealed class Environment(string root) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Test";
        public string ApplicationName { get; set; } = "Serve.Server.Tests";
        public string ContentRootPath { get; set; } = root;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
