using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>
/// Owns one handler instance and feeds it batches from a bounded queue: whatever is waiting,
/// up to the model's batch size. The handler is never called concurrently.
/// </summary>
public sealed partial class ModelWorker : IAsyncDisposable
{
    private readonly IHandler _handler;
    private readonly HandlerContext _context;
    private readonly Channel<WorkItem> _queue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;

    public ModelWorker(IHandler handler, HandlerContext context)
    {
        _handler = handler;
        _context = context;
        _queue = Channel.CreateBounded<WorkItem>(new BoundedChannelOptions(context.ModelConfig.JobQueueSize)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _loop = Task.Run(RunAsync);
    }

    public bool CanExplain => _handler.CanExplain;

    /// <summary>Queues a request; false when the queue is full.</summary>
    public bool TryEnqueue(InferenceRequest request, bool explain, out Task<InferenceResult> result)
    {
        var item = new WorkItem(request, explain);
        result = item.Completion.Task;
        return _queue.Writer.TryWrite(item);
    }

    private async Task RunAsync()
    {
        var batchSize = _context.BatchSize;
        var batch = new List<WorkItem>(batchSize);
        WorkItem? carried = null;
        var reader = _queue.Reader;
        while (carried is not null || await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            if (carried is not null)
            {
                batch.Add(carried);
                carried = null;
            }
            // Predictions and explanations go to different handler calls, so a batch holds one kind.
            while (batch.Count < batchSize && reader.TryRead(out var item))
            {
                if (batch.Count > 0 && item.Explain != batch[0].Explain)
                {
                    carried = item;
                    break;
                }
                batch.Add(item);
            }
            await ProcessAsync(batch).ConfigureAwait(false);
        }
    }

    private async Task ProcessAsync(List<WorkItem> batch)
    {
        var requests = new InferenceRequest[batch.Count];
        for (var i = 0; i < requests.Length; i++)
        {
            requests[i] = batch[i].Request;
        }

        var start = Stopwatch.GetTimestamp();
        try
        {
            var results = batch[0].Explain
                ? await _handler.ExplainAsync(requests, _context, _stopping.Token).ConfigureAwait(false)
                : await _handler.HandleAsync(requests, _context, _stopping.Token).ConfigureAwait(false);
            if (results.Count != batch.Count)
            {
                throw new InvalidOperationException($"The handler returned {results.Count} results for a batch of {batch.Count} requests.");
            }
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Completion.TrySetResult(results[i]);
            }
        }
        catch (HandlerStageException e) when (e.IsInvalidRequest)
        {
            Fail(batch, InferenceResult.Error(400, nameof(InvalidRequestException), e.InnerException!.Message));
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            Fail(batch, InferenceResult.Error(503, "ServiceUnavailableException", $"Model '{_context.ModelName}' is shutting down."));
        }
        catch (Exception e)
        {
            LogBatchFailed(_context.Logger, e, _context.ModelName, batch.Count);
            Fail(batch, InferenceResult.Error(500, e.GetType().Name, e.Message));
        }
        finally
        {
            _context.Metrics.RecordPredictionTime(start);
        }
    }

    private static void Fail(List<WorkItem> batch, InferenceResult error)
    {
        foreach (var item in batch)
        {
            item.Completion.TrySetResult(error);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        while (_queue.Reader.TryRead(out var item))
        {
            item.Completion.TrySetResult(InferenceResult.Error(503, "ServiceUnavailableException", $"Model '{_context.ModelName}' is shutting down."));
        }
        _context.Model?.Dispose();
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A batch of {Count} requests for model {ModelName} failed")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, string modelName, int count);

    private sealed class WorkItem(InferenceRequest request, bool explain)
    {
        public InferenceRequest Request { get; } = request;

        public bool Explain { get; } = explain;

        public TaskCompletionSource<InferenceResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
