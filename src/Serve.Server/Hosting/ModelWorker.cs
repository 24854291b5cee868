using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>
/// One worker of a model: its own handler instance and <see cref="HandlerContext"/>, running
/// one batch at a time from the model's <see cref="BatchAggregator"/>. A batch that outlives
/// the response timeout fails alone; the worker then counts as stuck and leaves the pool,
/// which starts a replacement.
/// </summary>
internal sealed partial class ModelWorker(
    int id, IHandler handler, HandlerContext context, BatchAggregator batches, TimeSpan responseTimeout, TimeProvider time, DateTimeOffset startTime)
{
    private readonly CancellationTokenSource _retire = new();
    private readonly CancellationTokenSource _abort = new();
    private Task _loop = Task.CompletedTask;
    private Task? _abandoned;

    /// <summary>Unique across the server's workers, numbered from 9000 as TorchServe's (its worker's port).</summary>
    public int Id { get; } = id;

    /// <summary>When the worker began to start (its handler's initialize included).</summary>
    public DateTimeOffset StartTime { get; } = startTime;

    public IHandler Handler { get; } = handler;

    public HandlerContext Context { get; } = context;

    /// <summary>Completes when the worker has stopped: retired, drained or stuck.</summary>
    public Task Stopped => _loop;

    /// <summary>True once a batch outlived the response timeout.</summary>
    public bool IsStuck { get; private set; }

    /// <summary>Called when a batch outlives the response timeout, after its requests failed.</summary>
    public Action<ModelWorker>? OnStuck { get; init; }

    public void Start() => _loop = Task.Run(RunAsync);

    /// <summary>Stops taking batches; the batch in hand (and one being gathered) still runs.</summary>
    public void Retire() => _retire.Cancel();

    /// <summary>Cancels the batch in hand (shutdown that cannot wait any longer).</summary>
    public void Abort()
    {
        _retire.Cancel();
        _abort.Cancel();
    }

    private async Task RunAsync()
    {
        try
        {
            while (true)
            {
                InferenceJob[]? batch;
                try
                {
                    batch = await batches.NextBatchAsync(_retire.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_retire.IsCancellationRequested)
                {
                    break;
                }
                if (batch is null || !await RunBatchAsync(batch).ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        finally
        {
            if (_abandoned is null)
            {
                Context.ReleaseModel();
            }
            else
            {
                // The stuck call still holds the model: release it when (if ever) the call ends.
                _ = _abandoned.ContinueWith(static (_, context) => ((HandlerContext)context!).ReleaseModel(), Context,
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    /// <summary>Runs one batch and completes its jobs; false when it timed out and the worker is stuck.</summary>
    private async Task<bool> RunBatchAsync(InferenceJob[] batch)
    {
        var requests = new InferenceRequest[batch.Length];
        var traces = new ActivityContext[batch.Length];
        for (var i = 0; i < requests.Length; i++)
        {
            requests[i] = batch[i].Request;
            traces[i] = batch[i].Trace;
            ServeTracing.RecordSpan("serve.queue_wait", batch[i].Trace, time.GetElapsedTime(batch[i].QueuedAt), Context.ModelName, Context.ModelVersion, batch.Length);
        }

        var start = Stopwatch.GetTimestamp();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
        // On a thread-pool thread, so a handler that blocks cannot hold up the timeout.
        Task<IReadOnlyList<InferenceResult>> call;
        // The handler's stage timings become spans of each traced request in the batch.
        using (ServeTracing.BeginBatch(traces, Context.ModelName, Context.ModelVersion, Context.Device.ToString(), Context.PreprocessesEachRequest))
        {
            call = Task.Run(() => Handler.HandleAsync(requests, Context, cancel.Token).AsTask());
        }
        try
        {
            var results = await call.WaitAsync(responseTimeout, time).ConfigureAwait(false);
            if (results.Count != batch.Length)
            {
                throw new InvalidOperationException($"The handler returned {results.Count} results for a batch of {batch.Length} requests.");
            }
            for (var i = 0; i < batch.Length; i++)
            {
                batch[i].Complete(results[i]);
            }
        }
        catch (TimeoutException) when (!call.IsCompleted)
        {
            IsStuck = true;
            _abandoned = call;
            await cancel.CancelAsync().ConfigureAwait(false);
            LogTimedOut(Context.Logger, Context.ModelName, Id, batch.Length, responseTimeout.TotalSeconds);
            Fail(batch, InferenceErrorKind.Timeout,
                $"Model '{Context.ModelName}' did not answer within its responseTimeout of {responseTimeout.TotalSeconds:0.###} s; its worker is being replaced.");
            OnStuck?.Invoke(this);
            return false;
        }
        catch (HandlerStageException e) when (e.IsInvalidRequest)
        {
            Fail(batch, InferenceErrorKind.InvalidRequest, e.InnerException!.Message);
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            Fail(batch, InferenceErrorKind.Unavailable, $"Model '{Context.ModelName}' is shutting down.");
        }
        catch (Exception e)
        {
            LogBatchFailed(Context.Logger, e, Context.ModelName, batch.Length);
            // A HandlerStageException's message names the handler and the stage.
            Fail(batch, InferenceErrorKind.Internal, e is HandlerStageException ? e.Message : $"Model '{Context.ModelName}': {e.Message}");
        }
        finally
        {
            Context.Metrics.RecordPredictionTime(start);
            if (call.IsCompleted)
            {
                // The handler is done with the batch's bodies. A call that timed out may still read them: they stay held.
                foreach (var job in batch)
                {
                    job.ReleaseBody();
                }
            }
        }
        return true;
    }

    private static void Fail(InferenceJob[] batch, InferenceErrorKind kind, string message)
    {
        var error = InferenceResult.Error(kind, message);
        foreach (var job in batch)
        {
            job.Complete(error);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A batch of {Count} requests for model {ModelName} failed")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, string modelName, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {ModelName}: worker {Worker} took longer than {Seconds} s on a batch of {Count}; failing it and replacing the worker")]
    private static partial void LogTimedOut(ILogger logger, string modelName, int worker, int count, double seconds);
}
