using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>Makes and initializes one worker's handler and context.</summary>
internal delegate ValueTask<(IHandler Handler, HandlerContext Context)> WorkerFactory(CancellationToken cancellationToken);

/// <summary>
/// A model's workers. Scaling up starts workers (each initializes its own handler); scaling
/// down retires workers, which finish the batch in hand while the others take the rest of the
/// queue, so no request is lost. A stuck worker is replaced. The pool's lock guards only the
/// worker list: scaling and replacing take it, requests never do.
/// </summary>
internal sealed partial class WorkerPool(WorkerFactory createWorker, BatchAggregator batches, TimeSpan responseTimeout, TimeProvider time, ILogger logger)
{
    private readonly Lock _gate = new();
    private readonly List<ModelWorker> _workers = [];
    private readonly SemaphoreSlim _scaling = new(1, 1);
    private int _nextId;
    private bool _stopping;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _workers.Count;
            }
        }
    }

    /// <summary>How many stuck workers were replaced.</summary>
    public int Replaced { get; private set; }

    /// <summary>Starts or retires workers until <paramref name="count"/> run; retired ones finish their batch first.</summary>
    public async Task ScaleAsync(int count, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        await _scaling.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (Count < count)
            {
                await StartWorkerAsync(cancellationToken).ConfigureAwait(false);
            }
            ModelWorker[] retiring;
            lock (_gate)
            {
                retiring = _workers.Skip(count).ToArray();
                _workers.RemoveRange(count, _workers.Count - count);
            }
            foreach (var worker in retiring)
            {
                worker.Retire();
            }
            await Task.WhenAll(retiring.Select(worker => worker.Stopped)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _scaling.Release();
        }
    }

    private async Task StartWorkerAsync(CancellationToken cancellationToken)
    {
        var (handler, context) = await createWorker(cancellationToken).ConfigureAwait(false);
        var worker = new ModelWorker(Interlocked.Increment(ref _nextId), handler, context, batches, responseTimeout, time)
        {
            OnStuck = Replace,
        };
        lock (_gate)
        {
            if (_stopping)
            {
                context.Model?.Dispose();
                return;
            }
            _workers.Add(worker);
        }
        worker.Start();
    }

    private void Replace(ModelWorker stuck)
    {
        lock (_gate)
        {
            if (!_workers.Remove(stuck) || _stopping)
            {
                return;
            }
            Replaced++;
        }
        _ = ReplaceAsync();

        async Task ReplaceAsync()
        {
            try
            {
                await StartWorkerAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                LogReplacementFailed(logger, e, stuck.Context.ModelName);
            }
        }
    }

    /// <summary>
    /// Waits until the workers have run every queued request and stopped (the caller closes the
    /// queue first). When <paramref name="cancellationToken"/> fires, the batches in hand are cancelled.
    /// </summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        ModelWorker[] workers;
        lock (_gate)
        {
            _stopping = true;
            workers = _workers.ToArray();
        }
        try
        {
            await Task.WhenAll(workers.Select(worker => worker.Stopped)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            foreach (var worker in workers)
            {
                worker.Abort();
            }
            await Task.WhenAll(workers.Select(worker => worker.Stopped)).WaitAsync(TimeSpan.FromSeconds(5), time)
                .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {ModelName}: a replacement for a stuck worker failed to start")]
    private static partial void LogReplacementFailed(ILogger logger, Exception exception, string modelName);
}
