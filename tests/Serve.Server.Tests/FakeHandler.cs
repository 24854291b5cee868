using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Server.Tests;

/// <summary>
/// A handler written by hand for the pool's tests: it records each batch, upper-cases each
/// body, and does what a body asks: "boom" fails the inference stage, "stuck" never returns,
/// "wait" waits for <see cref="Release"/>, and (with per-request preprocess) "bad" is rejected.
/// </summary>
internal class FakeHandler(FakeHandlers owner) : IHandler
{
    protected FakeHandlers Owner { get; } = owner;

    public ValueTask InitializeAsync(HandlerContext context, CancellationToken cancellationToken)
    {
        Owner.WorkerIndexes.Enqueue(context.WorkerIndex);
        return ValueTask.CompletedTask;
    }

    public async ValueTask<IReadOnlyList<InferenceResult>> HandleAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken)
    {
        var bodies = batch.Select(request => request.TryGetPreprocessed(out string input) ? input : Encoding.UTF8.GetString(request.Body.Span)).ToArray();
        Owner.Batches.Enqueue(bodies);
        Owner.BatchEntered.Release();
        if (bodies.Contains("boom"))
        {
            throw new HandlerStageException("fake", HandlerStage.Inference, new InvalidOperationException("the model exploded"));
        }
        if (bodies.Contains("stuck"))
        {
            await Task.Delay(Timeout.Infinite, Owner.Stuck.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        if (bodies.Contains("wait"))
        {
            await Owner.Gate.Task.ConfigureAwait(false);
        }
        return bodies.Select(body => InferenceResult.Text(body.ToUpperInvariant())).ToArray();
    }
}

/// <summary>The fake handler with a per-request preprocess, which the server runs as each request arrives.</summary>
internal class FakePreprocessingHandler(FakeHandlers owner) : FakeHandler(owner), IRequestPreprocessingHandler
{
    public async ValueTask<InferenceRequest> PreprocessAsync(InferenceRequest request, HandlerContext context, CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetString(request.Body.Span);
        Interlocked.Increment(ref Owner.PreprocessesRunning);
        try
        {
            Owner.PreprocessEntered.Release();
            if (body == "bad")
            {
                throw new HandlerStageException("fake", HandlerStage.Preprocess, new InvalidRequestException("'bad' is not accepted"));
            }
            if (body == "pair")
            {
                // Both "pair" requests must be in their preprocess at once to go on.
                await Owner.PairBarrier.SignalAndWaitAsync(cancellationToken);
            }
            return request.WithPreprocessed("pre:" + body);
        }
        finally
        {
            Interlocked.Decrement(ref Owner.PreprocessesRunning);
        }
    }
}

/// <summary>
/// A subclass that declines its base's per-request preprocess, as a generated subclass handler
/// with a batch preprocess does: it still is an <see cref="IRequestPreprocessingHandler"/>.
/// </summary>
internal sealed class FakeDecliningHandler(FakeHandlers owner) : FakePreprocessingHandler(owner), IRequestPreprocessingHandler
{
    bool IRequestPreprocessingHandler.PreprocessesEachRequest => false;
}

/// <summary>What the fake handlers of one model share, and a <see cref="ServedModel"/> running them.</summary>
internal sealed class FakeHandlers
{
    public bool PerRequestPreprocess;
    public bool DeclinesPerRequestPreprocess;
    public int Created;
    public int PreprocessesRunning;
    public readonly ConcurrentQueue<string[]> Batches = new();
    public readonly ConcurrentQueue<int> WorkerIndexes = new();
    public readonly SemaphoreSlim BatchEntered = new(0);
    public readonly SemaphoreSlim PreprocessEntered = new(0);
    public readonly TaskCompletionSource Gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public readonly CancellationTokenSource Stuck = new();
    public readonly AsyncBarrier PairBarrier = new(2);

    public void Release() => Gate.TrySetResult();

    /// <summary>A handler of this model, with a per-request preprocess when <see cref="PerRequestPreprocess"/> is set.</summary>
    public FakeHandler Create() =>
        DeclinesPerRequestPreprocess ? new FakeDecliningHandler(this)
        : PerRequestPreprocess ? new FakePreprocessingHandler(this)
        : new FakeHandler(this);

    public ServedModel Model(ModelConfig config, TimeProvider time, int requestStageConcurrency = 4, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        var manifest = new ModelManifest { ModelName = "fake", ModelVersion = "2.0" };
        ValueTask<(IHandler, HandlerContext)> CreateWorker(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Created);
            return ValueTask.FromResult<(IHandler, HandlerContext)>((Create(), new HandlerContext(manifest, ".") { ModelConfig = config }));
        }
        WorkerFactory? requestStages = PerRequestPreprocess
            ? _ => ValueTask.FromResult<(IHandler, HandlerContext)>((Create(), new HandlerContext(manifest, ".")))
            : null;
        return new ServedModel(manifest, config, requestStages, CreateWorker,
            new RequestStageLimiter(requestStageConcurrency), time, logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
    }

    private ServedModel? _started;

    /// <summary>A model of these handlers, started; <see cref="StopAsync"/> ends it.</summary>
    public async Task<ServedModel> StartAsync(ModelConfig config, TimeProvider time)
    {
        _started = Model(config, time);
        await _started.StartAsync(CancellationToken.None);
        return _started;
    }

    /// <summary>Lets every held batch go and drains the model <see cref="StartAsync"/> started, if any.</summary>
    public async Task StopAsync()
    {
        Release();
        await Stuck.CancelAsync();
        if (_started is not null)
        {
            await _started.DrainAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
        }
    }

    /// <summary>Waits (in real time, bounded) until a handler has entered <paramref name="count"/> more batches.</summary>
    public async Task WaitForBatchesAsync(int count = 1)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.True(await BatchEntered.WaitAsync(TimeSpan.FromSeconds(10)), "the handler was not called within 10 s");
        }
    }
}

/// <summary>Lets <c>participants</c> tasks go on only once all of them have arrived.</summary>
internal sealed class AsyncBarrier(int participants)
{
    private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _arrived;

    public Task SignalAndWaitAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _arrived) == participants)
        {
            _all.TrySetResult();
        }
        return _all.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
    }
}
