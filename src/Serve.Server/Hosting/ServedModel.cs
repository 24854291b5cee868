using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>Where a model is in its life: its workers starting, serving, or failed to start.</summary>
public enum ModelStatus
{
    Loading,
    Ready,
    Failed,
}

/// <summary>
/// A model being served: its queue (bounded by <c>jobQueueSize</c>), the batch aggregator and
/// the worker pool. A request goes through its per-request preprocess at once (several in
/// parallel, bounded by the core count), then waits in the queue for a batch and a worker.
/// One version of a model name; <see cref="ModelManager"/> holds the versions.
/// </summary>
public sealed partial class ServedModel
{
    private readonly Channel<InferenceJob> _queue = Channel.CreateUnbounded<InferenceJob>(new UnboundedChannelOptions { SingleReader = false });
    private readonly WorkerPool _pool;
    private readonly BatchAggregator _batches;
    private readonly RequestStageLimiter _requestStages;
    private readonly TimeProvider _time;
    private readonly WorkerFactory? _createRequestStages;
    private readonly ILogger _logger;
    private IRequestPreprocessingHandler? _requestStageHandler;
    private HandlerContext? _requestStageContext;
    private int _minWorkers;
    private int _maxWorkers;
    private volatile ModelStatus _status = ModelStatus.Loading;
    private volatile string? _error;

    // Requests admitted and not yet taken into a batch: in their per-request preprocess or queued.
    private int _waiting;

    /// <param name="manifest">The archive's manifest.</param>
    /// <param name="config">The model-config, with what registration overrode applied.</param>
    /// <param name="createRequestStages">Makes the handler that runs a per-request preprocess off the workers; null when preprocess runs on the batch.</param>
    /// <param name="createWorker">Makes one worker's handler and context.</param>
    /// <param name="requestStageLimiter">Bounds per-request stages across all models.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The model's logger.</param>
    /// <param name="nextWorkerId">Numbers workers across the server; 1, 2, ... when null.</param>
    internal ServedModel(
        ModelManifest manifest,
        ModelConfig config,
        WorkerFactory? createRequestStages,
        WorkerFactory createWorker,
        RequestStageLimiter requestStageLimiter,
        TimeProvider time,
        ILogger logger,
        Func<int>? nextWorkerId = null)
    {
        Manifest = manifest;
        Config = config;
        Meters = new ModelMeters(manifest.ModelName, manifest.ModelVersion); // makes no meter until one is asked for
        _createRequestStages = createRequestStages;
        _requestStages = requestStageLimiter;
        _time = time;
        _logger = logger;
        _minWorkers = Math.Max(0, config.MinWorkers);
        _maxWorkers = Math.Max(_minWorkers, config.MaxWorkers);
        var batches = _batches = new BatchAggregator(_queue.Reader, config.BatchSize, TimeSpan.FromMilliseconds(config.MaxBatchDelay), time);
        batches.Taken += _ => Interlocked.Decrement(ref _waiting);
        batches.Taken += job => QueueMetrics.RecordTaken(Meters, Name, Version, time.GetElapsedTime(job.QueuedAt));
        var workerIds = 0;
        _pool = new WorkerPool(createWorker, nextWorkerId ?? (() => Interlocked.Increment(ref workerIds)), batches, ResponseTimeout(config), time, logger);
    }

    /// <summary>The config's responseTimeout; beyond what a timer can wait (~49 days), none.</summary>
    internal static TimeSpan ResponseTimeout(ModelConfig config) =>
        config.ResponseTimeout < 4_000_000 ? TimeSpan.FromSeconds(config.ResponseTimeout) : Timeout.InfiniteTimeSpan;

    public string Name => Manifest.ModelName;

    public string Version => Manifest.ModelVersion;

    public ModelManifest Manifest { get; }

    public ModelConfig Config { get; }

    /// <summary>The meters of this model's series, disposed (its series removed) when it is unregistered.</summary>
    public ModelMeters Meters { get; init; }

    public bool CanExplain => Explanations is not null;

    /// <summary>The lane explanations run in, off the workers; null when the handler has no [Explain] stage.</summary>
    internal ExplanationLane? Explanations { get; init; }

    /// <summary>True when preprocess runs per request, as requests arrive, off the workers.</summary>
    public bool PreprocessesEachRequest => _createRequestStages is not null;

    /// <summary>True once unregistered: it takes no more requests, and a request that found it just before gets "not found".</summary>
    public bool IsUnregistered { get; private set; }

    /// <summary>Loading while its first workers start (a background registration), then Ready, or Failed.</summary>
    public ModelStatus Status => _status;

    /// <summary>Why the model failed to load, or why the last scaling failed to start a worker; null when nothing failed.</summary>
    public string? Error => _error;

    /// <summary>TorchServe's minWorkers: the workers kept running; replaced by scaling.</summary>
    public int MinWorkers => Volatile.Read(ref _minWorkers);

    /// <summary>TorchServe's maxWorkers; replaced by scaling.</summary>
    public int MaxWorkers => Volatile.Read(ref _maxWorkers);

    /// <summary>The most workers one model may be scaled to (<see cref="ServeOptions.MaxWorkersPerModel"/>).</summary>
    public int WorkerLimit { get; init; } = ServeOptions.DefaultMaxWorkersPerModel;

    /// <summary>Workers running (their handler initialized).</summary>
    public int WorkerCount => _pool.Count;

    /// <summary>The workers running and starting, for describe.</summary>
    public IReadOnlyList<WorkerInfo> Workers => _pool.Describe();

    /// <summary>The model's loaded copies (one per device where workers share it), for describe's memory figures.</summary>
    public ModelCopies Copies { get; init; } = new();

    /// <summary>Stuck workers replaced so far.</summary>
    public int WorkersReplaced => _pool.Replaced;

    /// <summary>Requests admitted that no worker has taken yet.</summary>
    public int QueueLength => Volatile.Read(ref _waiting);

    /// <summary>
    /// Runs one request through the model. Never throws for the request's own failures: a full
    /// queue, a rejected input, a failed stage or a timeout each come back as a failed result.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired (the client left).</exception>
    public Task<InferenceResult> InferAsync(InferenceRequest request, bool explain, CancellationToken cancellationToken) =>
        InferAsync(request, explain, body: null, cancellationToken);

    /// <summary>As the public overload, for a request whose body lies in <paramref name="body"/>: its job holds it until the worker's call on its batch has returned.</summary>
    internal async Task<InferenceResult> InferAsync(InferenceRequest request, bool explain, PooledBody? body, CancellationToken cancellationToken)
    {
        if (explain)
        {
            // An explanation may run on after its client left or its timeout passed, so a pooled body
            // it reads is held for good and left to the GC (the codecs do not pool explanations' bodies).
            body?.Retain();
            return (await ExplainAsync([request], cancellationToken).ConfigureAwait(false))[0];
        }
        if (Unavailable() is { } unavailable)
        {
            return unavailable;
        }
        if (!TryTakeQueuePlace() && !await TryTakeQueuePlaceOnceCancellationsRanAsync().ConfigureAwait(false))
        {
            NoteRefused();
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
            var job = new InferenceJob(request, _time.GetTimestamp(), Activity.Current?.Context ?? default, body);
            queued = _queue.Writer.TryWrite(job);
            if (!queued)
            {
                job.ReleaseBody();
                // Found just before it was unregistered: as if the request came just after (the adapter looks again).
                return IsUnregistered
                    ? InferenceResult.Error(InferenceErrorKind.ModelNotFound, $"Model not found: {Name} (version {Version} was unregistered)")
                    : InferenceResult.Error(InferenceErrorKind.Unavailable, $"Model '{Name}' is shutting down.");
            }
            // Scaled to zero as it was queued: no worker will take it (see FailQueuedWithoutWorkers).
            FailQueuedWithoutWorkers();
            try
            {
                return await job.Result.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (job.TryAbandon())
            {
                // The client left before a worker took it: it leaves the queue's count now, and
                // the workers skip it (a burst of abandoned requests would otherwise fill the
                // queue and turn newer clients away with 503s while the model runs for no one).
                Interlocked.Decrement(ref _waiting);
                job.ReleaseBody();
                throw;
            }
        }
        finally
        {
            if (!queued)
            {
                Interlocked.Decrement(ref _waiting);
            }
        }
    }

    private bool TryTakeQueuePlace()
    {
        if (Interlocked.Increment(ref _waiting) <= Config.JobQueueSize)
        {
            return true;
        }
        Interlocked.Decrement(ref _waiting);
        return false;
    }

    /// <summary>
    /// A second look before a 503. A queue that looks full may hold requests whose clients have
    /// left but whose cancellation has not run yet: Kestrel hands RequestAborted to the thread
    /// pool's global queue, and under load (pool threads busy with model runs, their local queues
    /// refilled by the next requests) it waits there while a new client's requests are admitted.
    /// A burst of departures could so turn the next clients away (17 503s in one benchmark run at 64
    /// connections, "100 waiting"). Each yield goes to the back of that same global queue, so the
    /// cancellations queued before it run first; a few cover the hops from the socket to the
    /// request's token. Refusing takes a few thread-pool turns longer; admitting takes none.
    /// </summary>
    private async ValueTask<bool> TryTakeQueuePlaceOnceCancellationsRanAsync()
    {
        for (var turn = 0; turn < CancellationTurns; turn++)
        {
            await YieldToThreadPool().ConfigureAwait(false);
            if (TryTakeQueuePlace())
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Kestrel's abort reaches a request's token through about three thread-pool hops; twice that, for margin.</summary>
    internal const int CancellationTurns = 6;

    /// <summary>One turn of the thread pool's global queue; tests replace it to run the pending cancellations themselves.</summary>
    internal Func<ValueTask> YieldToThreadPool { get; set; } = GlobalQueueTurn;

    private static ValueTask GlobalQueueTurn()
    {
        // Queued behind what waits in the global queue (not a thread's local one), and the
        // continuation runs inline in that work item: exactly one turn.
        var turn = new TaskCompletionSource();
        ThreadPool.UnsafeQueueUserWorkItem(static turn => turn.SetResult(), turn, preferLocal: false);
        return new ValueTask(turn.Task);
    }

    /// <summary>
    /// Explains <paramref name="requests"/> in the model's explanation lane, off the prediction
    /// workers (<see cref="ExplanationLane"/>); one result per request, or one error for the call.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired (the client left).</exception>
    internal async Task<IReadOnlyList<InferenceResult>> ExplainAsync(IReadOnlyList<InferenceRequest> requests, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(requests);
        if (Explanations is null)
        {
            return [InferenceResult.Error(InferenceErrorKind.NotSupported, $"The handler of model '{Name}' has no [Explain] stage.")];
        }
        if (Unavailable() is { } unavailable)
        {
            return [unavailable];
        }
        if (_requestStageHandler is not null)
        {
            var preprocessed = new InferenceRequest[requests.Count];
            for (var i = 0; i < preprocessed.Length; i++)
            {
                var (request, error) = await PreprocessAsync(requests[i], cancellationToken).ConfigureAwait(false);
                if (error is not null)
                {
                    return [error];
                }
                preprocessed[i] = request!;
            }
            requests = preprocessed;
        }
        return await Explanations.ExplainAsync(Name, requests, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Why the model cannot take a request now (loading, failed, scaled to zero); null when it can.</summary>
    private InferenceResult? Unavailable()
    {
        if (_status != ModelStatus.Ready)
        {
            return InferenceResult.Error(InferenceErrorKind.Unavailable, _status == ModelStatus.Loading
                ? $"Model '{Name}' version {Version} is loading: its workers are starting; try again later."
                : $"Model '{Name}' version {Version} failed to load ({_error}); unregister it and register it again.");
        }
        return MinWorkers == 0 && WorkerCount == 0 ? NoWorker() : null;
    }

    /// <summary>The per-request preprocess, bounded by the core count across all models; a rejection is answered now.</summary>
    private async ValueTask<(InferenceRequest? Request, InferenceResult? Error)> PreprocessAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        await _requestStages.WaitAsync(cancellationToken).ConfigureAwait(false);
        using var span = ServeTracing.Source.StartActivity("serve.preprocess");
        span?.SetTag(ServeTracing.ModelTag, Name);
        span?.SetTag(ServeTracing.VersionTag, Version);
        try
        {
            return (await _requestStageHandler!.PreprocessAsync(request, _requestStageContext!, cancellationToken).ConfigureAwait(false), null);
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

    private InferenceResult NoWorker() => InferenceResult.Error(InferenceErrorKind.Unavailable,
        $"Model '{Name}' version {Version} has no worker to serve inference requests (it was scaled to 0); scale its workers up to serve it.");

    /// <summary>
    /// With no worker and none to come (scaled to zero), answers what is queued now: a request
    /// queued while the last worker retired would otherwise wait for a worker forever. Both the
    /// scaling (after its last worker left) and each request (after queueing) call it, so
    /// whichever comes second finds the request.
    /// </summary>
    private void FailQueuedWithoutWorkers()
    {
        if (MinWorkers != 0 || WorkerCount != 0)
        {
            return;
        }
        foreach (var job in _batches.TakeQueued())
        {
            job.Complete(NoWorker());
            job.ReleaseBody();
        }
    }

    /// <summary>
    /// Replaces the model's bounds, as TorchServe's scale workers API does, and starts or retires
    /// workers until <paramref name="minWorkers"/> run, at most <see cref="WorkerLimit"/>. Zero
    /// workers is allowed, as in TorchServe: the model stays registered and its requests get 503
    /// until it is scaled up; requests queued when its last worker leaves get that 503 too.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The bounds are not 0 &lt;= min &lt;= max &lt;= <see cref="WorkerLimit"/>.</exception>
    public Task ScaleAsync(int minWorkers, int maxWorkers, CancellationToken cancellationToken)
    {
        CheckWorkers(minWorkers, maxWorkers, WorkerLimit);
        Volatile.Write(ref _minWorkers, minWorkers);
        Volatile.Write(ref _maxWorkers, maxWorkers);
        // A model that failed to load gets another start: scaling is how an operator retries it.
        return _status == ModelStatus.Failed ? StartAsync(minWorkers, cancellationToken) : ScaleWorkersAsync(minWorkers, cancellationToken);
    }

    private async Task ScaleWorkersAsync(int workers, CancellationToken cancellationToken)
    {
        await _pool.ScaleAsync(workers, cancellationToken).ConfigureAwait(false);
        _error = null;
        FailQueuedWithoutWorkers();
    }

    /// <summary>Checks worker bounds a scale or registration asks for; the message says what is allowed.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The bounds are not 0 &lt;= min &lt;= max &lt;= <paramref name="limit"/>.</exception>
    public static void CheckWorkers(int minWorkers, int maxWorkers, int limit)
    {
        if (minWorkers < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(minWorkers), minWorkers, $"min_worker={minWorkers}: a worker count is 0 or more.");
        }
        if (maxWorkers < minWorkers)
        {
            throw new ArgumentOutOfRangeException(nameof(maxWorkers), maxWorkers, "max_worker cannot be less than min_worker.");
        }
        if (maxWorkers > limit)
        {
            throw new ArgumentOutOfRangeException(nameof(maxWorkers), maxWorkers,
                $"{(minWorkers > limit ? $"min_worker={minWorkers}" : $"max_worker={maxWorkers}")} is more than this server's limit of {limit} workers per model (MaxWorkersPerModel).");
        }
    }

    /// <summary>Scales in the background (TorchServe's <c>synchronous=false</c>): a worker that fails to start is logged and kept in <see cref="Error"/>.</summary>
    public void ScaleInBackground(int minWorkers, int maxWorkers)
    {
        CheckWorkers(minWorkers, maxWorkers, WorkerLimit);
        _ = Run();

        async Task Run()
        {
            try
            {
                await ScaleAsync(minWorkers, maxWorkers, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                _error = e.Message;
                LogScaleFailed(_logger, e, Name, Version, minWorkers);
            }
        }
    }

    /// <summary>Starts the model's first workers: minWorkers of them.</summary>
    internal Task StartAsync(CancellationToken cancellationToken) => StartAsync(MinWorkers, cancellationToken);

    /// <summary>
    /// Starts <paramref name="workers"/> workers and then initializes the per-request stage's
    /// handler (if any); then the model is Ready, or Failed with the reason in <see cref="Error"/>.
    /// </summary>
    internal async Task StartAsync(int workers, CancellationToken cancellationToken)
    {
        try
        {
            await _pool.ScaleAsync(workers, cancellationToken).ConfigureAwait(false);
            // After the workers: its initialize is given a copy they loaded, not one of its own.
            if (_createRequestStages is not null && _requestStageHandler is null)
            {
                var (handler, context) = await _createRequestStages(cancellationToken).ConfigureAwait(false);
                // The model manager makes this factory only for a handler that preprocesses each request.
                _requestStageHandler = (IRequestPreprocessingHandler)handler;
                _requestStageContext = context;
            }
            _error = null;
            _status = ModelStatus.Ready;
        }
        catch (Exception e)
        {
            _error = e.Message;
            // Workers that did start serve on (the error stays visible); with none, the model failed.
            _status = _pool.Count > 0 && (_createRequestStages is null || _requestStageHandler is not null) ? ModelStatus.Ready : ModelStatus.Failed;
            throw;
        }
    }

    /// <summary>
    /// Takes no more requests and runs every queued one. When <paramref name="cancellationToken"/>
    /// fires first, the batches in hand are cancelled and what is still queued fails as unavailable.
    /// </summary>
    internal async Task DrainAsync(CancellationToken cancellationToken, bool unregistered = false)
    {
        IsUnregistered = unregistered;
        _queue.Writer.TryComplete();
        await _pool.DrainAsync(cancellationToken).ConfigureAwait(false);
        if (Explanations is not null)
        {
            await Explanations.DrainAsync(cancellationToken).ConfigureAwait(false);
        }
        while (_queue.Reader.TryRead(out var job))
        {
            job.Complete(InferenceResult.Error(InferenceErrorKind.Unavailable, $"Model '{Name}' is shutting down."));
            job.ReleaseBody();
        }
        _requestStageContext?.ReleaseModel();
        if (unregistered)
        {
            Meters.Dispose();
        }
    }

    private long _refused;
    private long _refusalLoggedAt = long.MinValue;

    /// <summary>
    /// Logs refusals for a full queue, at most once a second per model with how many there were
    /// since: the client's 503 says why, and the operator's log should too, without a line per request.
    /// </summary>
    private void NoteRefused()
    {
        var refused = Interlocked.Increment(ref _refused);
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _refusalLoggedAt);
        if ((last != long.MinValue && _time.GetElapsedTime(last, now) < TimeSpan.FromSeconds(1))
            || Interlocked.CompareExchange(ref _refusalLoggedAt, now, last) != last)
        {
            return;
        }
        LogQueueFull(_logger, Name, Version, Config.JobQueueSize, Interlocked.Exchange(ref _refused, 0), QueueLength);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {ModelName} version {Version}: its queue is full ({JobQueueSize} requests, its jobQueueSize); refused {Refused} request(s) with 503 since the last such line; {Waiting} waiting")]
    private static partial void LogQueueFull(ILogger logger, string modelName, string version, int jobQueueSize, long refused, int waiting);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {ModelName} version {Version}: scaling to {Workers} workers failed")]
    private static partial void LogScaleFailed(ILogger logger, Exception exception, string modelName, string version, int workers);
}
