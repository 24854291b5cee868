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

/// <summary>What describe tells of one worker: TorchServe's id and start time, its status, the device it runs on.</summary>
/// <param name="Id">Unique across the server, from 9000 (TorchServe numbers a worker by its port).</param>
/// <param name="StartTime">When the worker began to start.</param>
/// <param name="Status"><see cref="Ready"/>, or <see cref="Loading"/> while its handler initializes.</param>
/// <param name="Device">The device its model runs on ("cpu", "cuda:0"); null while loading.</param>
public readonly record struct WorkerInfo(int Id, DateTimeOffset StartTime, string Status, string? Device)
{
    public const string Ready = "READY";
    public const string Loading = "LOADING";
}

/// <summary>
/// A model's workers. Scaling up starts workers (each initializes its own handler); scaling
/// down retires workers, which finish the batch in hand while the others take the rest of the
/// queue, so no request is lost, and then the memory they held goes back to the system
/// (<see cref="RetiredMemory"/>). A stuck worker is replaced. The pool's lock guards only the
/// worker list: scaling and replacing take it, requests never do.
/// </summary>
internal sealed partial class WorkerPool(WorkerFactory createWorker, Func<int> nextWorkerId, BatchAggregator batches, TimeSpan responseTimeout, TimeProvider time, ILogger logger)
{
    private readonly Lock _gate = new();
    private readonly List<ModelWorker> _workers = [];
    private readonly List<WorkerInfo> _starting = [];
    private readonly SemaphoreSlim _scaling = new(1, 1);
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

    private bool Stopping
    {
        get
        {
            lock (_gate)
            {
                return _stopping;
            }
        }
    }

    /// <summary>The workers running and starting, for describe.</summary>
    public WorkerInfo[] Describe()
    {
        lock (_gate)
        {
            return [.. _workers.Select(w => new WorkerInfo(w.Id, w.StartTime, WorkerInfo.Ready, w.Context.Device.ToString())), .. _starting];
        }
    }

    /// <summary>How many stuck workers were replaced.</summary>
    public int Replaced { get; private set; }

    /// <summary>Starts or retires workers until <paramref name="count"/> run; retired ones finish their batch first.</summary>
    public async Task ScaleAsync(int count, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        await _scaling.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // A pool drained meanwhile (unregistered while loading) starts no more workers.
            while (Count < count && !Stopping)
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
            if (retiring.Length > 0)
            {
                RetiredMemory.Return();
            }
        }
        finally
        {
            _scaling.Release();
        }
    }

    private async Task StartWorkerAsync(CancellationToken cancellationToken)
    {
        var starting = new WorkerInfo(nextWorkerId(), time.GetUtcNow(), WorkerInfo.Loading, null);
        lock (_gate)
        {
            _starting.Add(starting);
        }
        (IHandler Handler, HandlerContext Context) created;
        try
        {
            created = await createWorker(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            lock (_gate)
            {
                _starting.Remove(starting);
            }
            throw;
        }
        var (handler, context) = created;
        var worker = new ModelWorker(starting.Id, handler, context, batches, responseTimeout, time, starting.StartTime)
        {
            OnStuck = Replace,
        };
        lock (_gate)
        {
            // Leaves the starting list as it joins the workers: describe never misses it.
            _starting.Remove(starting);
            if (_stopping)
            {
                context.ReleaseModel();
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
