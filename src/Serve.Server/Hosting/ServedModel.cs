using System;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>
/// A model being served: its queue (bounded by <c>jobQueueSize</c>), the batch aggregator and
/// the worker pool. A request goes through its per-request preprocess at once (several in
/// parallel, bounded by the core count), then waits in the queue for a batch and a worker.
/// </summary>
public sealed class ServedModel
{
    private readonly Channel<InferenceJob> _queue = Channel.CreateUnbounded<InferenceJob>(new UnboundedChannelOptions { SingleReader = false });
    private readonly WorkerPool _pool;
    private readonly RequestStageLimiter _requestStages;
    private readonly TimeProvider _time;
    private readonly IHandler? _requestStageHandler;
    private readonly HandlerContext? _requestStageContext;

    // Requests admitted and not yet taken into a batch: in their per-request preprocess or queued.
    private int _waiting;

    internal ServedModel(
        ModelManifest manifest,
        ModelConfig config,
        bool canExplain,
        (IHandler Handler, HandlerContext Context)? requestStages,
        WorkerFactory createWorker,
        RequestStageLimiter requestStageLimiter,
        TimeProvider time,
        ILogger logger)
    {
        Manifest = manifest;
        Config = config;
        CanExplain = canExplain;
        (_requestStageHandler, _requestStageContext) = requestStages is { } stages ? (stages.Handler, stages.Context) : (null, null);
        _requestStages = requestStageLimiter;
        _time = time;
        var batches = new BatchAggregator(_queue.Reader, config.BatchSize, TimeSpan.FromMilliseconds(config.MaxBatchDelay), time);
        batches.Taken += () => Interlocked.Decrement(ref _waiting);
        _pool = new WorkerPool(createWorker, batches, ResponseTimeout(config), time, logger);
    }

    /// <summary>The config's responseTimeout; beyond what a timer can wait (~49 days), none.</summary>
    private static TimeSpan ResponseTimeout(ModelConfig config) =>
        config.ResponseTimeout < 4_000_000 ? TimeSpan.FromSeconds(config.ResponseTimeout) : Timeout.InfiniteTimeSpan;

    public string Name => Manifest.ModelName;

    public string Version => Manifest.ModelVersion;

    public ModelManifest Manifest { get; }

    public ModelConfig Config { get; }

    public bool CanExplain { get; }

    /// <summary>True when preprocess runs per request, as requests arrive, off the workers.</summary>
    public bool PreprocessesEachRequest => _requestStageHandler is not null;

    public int WorkerCount => _pool.Count;

    /// <summary>Stuck workers replaced so far.</summary>
    public int WorkersReplaced => _pool.Replaced;

    /// <summary>Requests admitted that no worker has taken yet.</summary>
    public int QueueLength => Volatile.Read(ref _waiting);

    /// <summary>
    /// Runs one request through the model. Never throws for the request's own failures: a full
    /// queue, a rejected input, a failed stage or a timeout each come back as a failed result.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired (the client left).</exception>
    public async Task<InferenceResult> InferAsync(InferenceRequest request, bool explain, CancellationToken cancellationToken)
    {
        if (explain && !CanExplain)
        {
            return InferenceResult.Error(InferenceErrorKind.NotSupported, $"The handler of model '{Name}' has no [Explain] stage.");
        }
        if (Interlocked.Increment(ref _waiting) > Config.JobQueueSize)
        {
            Interlocked.Decrement(ref _waiting);
            return InferenceResult.Error(InferenceErrorKind.Unavailable,
                $"Model '{Name}' has a full queue ({Config.JobQueueSize} requests, its jobQueueSize); try again later.");
        }

        var queued = false;
        try
        {
            if (_requestStageHandler is not null)
            {
                var preprocessed = await PreprocessAsync(request, cancellationToken).ConfigureAwait(false);
                if (preprocessed.Error is { } error)
                {
                    return error;
                }
                request = preprocessed.Request!;
            }
            var job = new InferenceJob(request, explain, _time.GetTimestamp());
            queued = _queue.Writer.TryWrite(job);
            if (!queued)
            {
                return InferenceResult.Error(InferenceErrorKind.Unavailable, $"Model '{Name}' is shutting down.");
            }
            return await job.Result.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (!queued)
            {
                Interlocked.Decrement(ref _waiting);
            }
        }
    }

    /// <summary>The per-request preprocess, bounded by the core count across all models; a rejection is answered now.</summary>
    private async ValueTask<(InferenceRequest? Request, InferenceResult? Error)> PreprocessAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        await _requestStages.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var input = await _requestStageHandler!.PreprocessAsync(request, _requestStageContext!, cancellationToken).ConfigureAwait(false);
            return (request.WithPreprocessedInput(input), null);
        }
        catch (HandlerStageException e) when (e.IsInvalidRequest)
        {
            return (null, InferenceResult.Error(InferenceErrorKind.InvalidRequest, e.InnerException!.Message));
        }
        catch (HandlerStageException e)
        {
            return (null, InferenceResult.Error(InferenceErrorKind.Internal, e.Message));
        }
        finally
        {
            _requestStages.Release();
        }
    }

    /// <summary>Starts or retires workers until <paramref name="workers"/> run, within minWorkers..maxWorkers.</summary>
    public Task ScaleAsync(int workers, CancellationToken cancellationToken)
    {
        var min = Math.Max(1, Config.MinWorkers);
        if (workers < min || workers > Config.MaxWorkers)
        {
            throw new ArgumentOutOfRangeException(nameof(workers), workers,
                $"Model '{Name}' runs between {min} and {Config.MaxWorkers} workers (minWorkers, maxWorkers).");
        }
        return _pool.ScaleAsync(workers, cancellationToken);
    }

    /// <summary>Starts the model's first workers: minWorkers of them, and at least one.</summary>
    internal Task StartAsync(CancellationToken cancellationToken) => _pool.ScaleAsync(Math.Max(1, Config.MinWorkers), cancellationToken);

    /// <summary>
    /// Takes no more requests and runs every queued one. When <paramref name="cancellationToken"/>
    /// fires first, the batches in hand are cancelled and what is still queued fails as unavailable.
    /// </summary>
    internal async Task DrainAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        await _pool.DrainAsync(cancellationToken).ConfigureAwait(false);
        while (_queue.Reader.TryRead(out var job))
        {
            job.Complete(InferenceResult.Error(InferenceErrorKind.Unavailable, $"Model '{Name}' is shutting down."));
        }
        _requestStageContext?.Model?.Dispose();
    }
}
