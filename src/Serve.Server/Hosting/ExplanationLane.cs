using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>
/// A model's explanations, in a lane of their own: each runs on a handler instance made for
/// explanations (an explainer), never on the prediction workers, so a prediction does not wait
/// behind one. At most <c>maxConcurrent</c> run at once (Serve:MaxConcurrentExplanations); a call
/// beyond that is refused, not queued. Explainers are made on the first explanation and kept
/// until the model is drained; each takes the model copy its device's workers share (or, for a
/// model that is not thread-safe, loads its own), so an [Explain] stage runs the model while
/// [Inference] stages run it on the workers.
/// </summary>
internal sealed partial class ExplanationLane(WorkerFactory createExplainer, int maxConcurrent, TimeSpan responseTimeout, TimeProvider time, ILogger logger)
{
    private readonly SemaphoreSlim _slots = new(Math.Max(1, maxConcurrent));
    private readonly CancellationTokenSource _abort = new();
    private readonly Lock _gate = new();
    private readonly Stack<(IExplainingHandler Handler, HandlerContext Context)> _idle = [];
    private readonly HashSet<Task> _running = [];
    private bool _closed;

    /// <summary>
    /// Explains <paramref name="requests"/> in one handler call; one result per request, or one
    /// error for the call (busy, closed, the explainer failed to start, a timeout).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired (the client left).</exception>
    public async Task<IReadOnlyList<InferenceResult>> ExplainAsync(string modelName, IReadOnlyList<InferenceRequest> requests, CancellationToken cancellationToken)
    {
        if (!_slots.Wait(0, CancellationToken.None))
        {
            return [InferenceResult.Error(InferenceErrorKind.Unavailable,
                $"Model '{modelName}' is already running {maxConcurrent} explanation(s) (Serve:MaxConcurrentExplanations); retry shortly.")];
        }
        Task<IReadOnlyList<InferenceResult>> explanation;
        lock (_gate)
        {
            if (_closed)
            {
                _slots.Release();
                return [InferenceResult.Error(InferenceErrorKind.Unavailable, $"Model '{modelName}' is shutting down.")];
            }
            explanation = RunAsync(modelName, requests, cancellationToken);
            _running.Add(explanation);
        }
        try
        {
            return await explanation.ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                _running.Remove(explanation);
            }
            _slots.Release();
        }
    }

    private async Task<IReadOnlyList<InferenceResult>> RunAsync(string modelName, IReadOnlyList<InferenceRequest> requests, CancellationToken cancellationToken)
    {
        await Task.Yield(); // registered as running before it starts
        (IExplainingHandler Handler, HandlerContext Context) explainer;
        try
        {
            explainer = await RentAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogExplainerFailed(logger, e, modelName);
            return [InferenceResult.Error(InferenceErrorKind.Internal, $"Model '{modelName}': the explanation handler failed to start: {e.Message}")];
        }

        var (handler, context) = explainer;
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _abort.Token);
        var traces = new ActivityContext[requests.Count];
        Array.Fill(traces, Activity.Current?.Context ?? default);
        var start = Stopwatch.GetTimestamp();
        Task<IReadOnlyList<InferenceResult>> call;
        using (ServeTracing.BeginBatch(traces, context.ModelName, context.ModelVersion, context.Device.ToString(), context.PreprocessesEachRequest))
        {
            // On a thread-pool thread, so a handler that blocks cannot hold up the timeout.
            call = Task.Run(() => handler.ExplainAsync(requests, context, cancel.Token).AsTask(), CancellationToken.None);
        }
        var reuse = true;
        try
        {
            var results = await call.WaitAsync(responseTimeout, time, cancellationToken).ConfigureAwait(false);
            if (results.Count != requests.Count)
            {
                throw new InvalidOperationException($"The handler returned {results.Count} explanations for {requests.Count} requests.");
            }
            return results;
        }
        catch (TimeoutException) when (!call.IsCompleted)
        {
            reuse = false;
            await cancel.CancelAsync().ConfigureAwait(false);
            LogTimedOut(logger, modelName, requests.Count, responseTimeout.TotalSeconds);
            return [InferenceResult.Error(InferenceErrorKind.Timeout,
                $"Model '{modelName}' did not explain within its responseTimeout of {responseTimeout.TotalSeconds:0.###} s.")];
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client left: the call is cancelled, and its explainer serves again once the call has ended.
            await cancel.CancelAsync().ConfigureAwait(false);
            throw;
        }
        catch (HandlerStageException e) when (e.IsInvalidRequest)
        {
            return [InferenceResult.Error(InferenceErrorKind.InvalidRequest, e.InnerException!.Message)];
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            return [InferenceResult.Error(InferenceErrorKind.Unavailable, $"Model '{modelName}' is shutting down.")];
        }
        catch (Exception e)
        {
            LogExplanationFailed(logger, e, modelName, requests.Count);
            return [InferenceResult.Error(InferenceErrorKind.Internal, e is HandlerStageException ? e.Message : $"Model '{modelName}': {e.Message}")];
        }
        finally
        {
            context.Metrics.RecordPredictionTime(start);
            if (call.IsCompleted)
            {
                Return(explainer);
            }
            else
            {
                // A call that timed out is abandoned: its explainer is not used again, and its model
                // copy is released when (if ever) the call ends. One the client left is reused then.
                _ = AfterAsync(call, explainer, reuse);
            }
        }
    }

    private async Task AfterAsync(Task call, (IExplainingHandler Handler, HandlerContext Context) explainer, bool reuse)
    {
        await call.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (reuse)
        {
            Return(explainer);
        }
        else
        {
            explainer.Context.ReleaseModel();
        }
    }

    private async ValueTask<(IExplainingHandler, HandlerContext)> RentAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_idle.TryPop(out var idle))
            {
                return idle;
            }
        }
        // At most as many explainers as slots: one is made only when every one made is busy.
        var (handler, context) = await createExplainer(cancellationToken).ConfigureAwait(false);
        // The model manager makes a lane only for an explaining handler.
        return ((IExplainingHandler)handler, context);
    }

    private void Return((IExplainingHandler Handler, HandlerContext Context) explainer)
    {
        lock (_gate)
        {
            if (!_closed)
            {
                _idle.Push(explainer);
                return;
            }
        }
        explainer.Context.ReleaseModel();
    }

    /// <summary>
    /// Takes no more explanations, waits for those running (cancelled when
    /// <paramref name="cancellationToken"/> fires) and releases the explainers' model copies.
    /// </summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        Task[] running;
        lock (_gate)
        {
            _closed = true;
            running = [.. _running];
        }
        try
        {
            await Task.WhenAll(running).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await _abort.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(5), time).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        lock (_gate)
        {
            while (_idle.TryPop(out var idle))
            {
                idle.Context.ReleaseModel();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {ModelName}: the explanation handler failed to start")]
    private static partial void LogExplainerFailed(ILogger logger, Exception exception, string modelName);

    [LoggerMessage(Level = LogLevel.Error, Message = "An explanation of {Count} requests for model {ModelName} failed")]
    private static partial void LogExplanationFailed(ILogger logger, Exception exception, string modelName, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Model {ModelName}: an explanation of {Count} requests took longer than {Seconds} s; failing it")]
    private static partial void LogTimedOut(ILogger logger, string modelName, int count, double seconds);
}
