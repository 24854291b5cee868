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
internal sealed class FakeHandler(FakeHandlers owner) : IHandler
{
    public ValueTask InitializeAsync(HandlerContext context, CancellationToken cancellationToken)
    {
        owner.WorkerIndexes.Enqueue(context.WorkerIndex);
        return ValueTask.CompletedTask;
    }

    public bool CanExplain => false;

    public bool PreprocessesEachRequest => owner.PerRequestPreprocess;

    public async ValueTask<InferenceRequest> PreprocessAsync(InferenceRequest request, HandlerContext context, CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetString(request.Body.Span);
        Interlocked.Increment(ref owner.PreprocessesRunning);
        try
        {
            owner.PreprocessEntered.Release();
            if (body == "bad")
            {
                throw new HandlerStageException("fake", HandlerStage.Preprocess, new InvalidRequestException("'bad' is not accepted"));
            }
            if (body == "pair")
            {
                // Both "pair" requests must be in their preprocess at once to go on.
                await owner.PairBarrier.SignalAndWaitAsync(cancellationToken);
            }
            return request.WithPreprocessed("pre:" + body);
        }
        finally
        {
            Interlocked.Decrement(ref owner.PreprocessesRunning);
        }
    }

    public async ValueTask<IReadOnlyList<InferenceResult>> HandleAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken)
    {
        var bodies = batch.Select(request => request.TryGetPreprocessed(out string input) ? input : Encoding.UTF8.GetString(request.Body.Span)).ToArray();
        owner.Batches.Enqueue(bodies);
        owner.BatchEntered.Release();
        if (bodies.Contains("boom"))
        {
            throw new HandlerStageException("fake", HandlerStage.Inference, new InvalidOperationException("the model exploded"));
        }
        if (bodies.Contains("stuck"))
        {
            await Task.Delay(Timeout.Infinite, owner.Stuck.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        if (bodies.Contains("wait"))
        {
            await owner.Gate.Task.ConfigureAwait(false);
        }
        return bodies.Select(body => InferenceResult.Text(body.ToUpperInvariant())).ToArray();
    }

    public ValueTask<IReadOnlyList<InferenceResult>> ExplainAsync(IReadOnlyList<InferenceRequest> batch, HandlerContext context, CancellationToken cancellationToken) =>
        throw new NotSupportedException();
}

/// <summary>What the fake handlers of one model share, and a <see cref="ServedModel"/> running them.</summary>
internal sealed class FakeHandlers
{
    public bool PerRequestPreprocess;
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

    public ServedModel Model(ModelConfig config, TimeProvider time, int requestStageConcurrency = 4)
    {
        var manifest = new ModelManifest { ModelName = "fake", ModelVersion = "2.0" };
        ValueTask<(IHandler, HandlerContext)> CreateWorker(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Created);
            return ValueTask.FromResult<(IHandler, HandlerContext)>((new FakeHandler(this), new HandlerContext(manifest, ".") { ModelConfig = config }));
        }
        WorkerFactory? requestStages = PerRequestPreprocess
            ? _ => ValueTask.FromResult<(IHandler, HandlerContext)>((new FakeHandler(this), new HandlerContext(manifest, ".")))
            : null;
        return new ServedModel(manifest, config, canExplain: false, requestStages, CreateWorker,
            new RequestStageLimiter(requestStageConcurrency), time, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
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
