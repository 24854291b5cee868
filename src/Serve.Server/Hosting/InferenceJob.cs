using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>One queued request: what to run, when it was queued, and where its result goes.</summary>
/// <remarks>A job whose body is pooled holds it (one more holder) until <see cref="ReleaseBody"/>.</remarks>
internal sealed class InferenceJob
{
    private readonly TaskCompletionSource<InferenceResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PooledBody? _body;

    public InferenceJob(InferenceRequest request, long queuedAt, ActivityContext trace = default, PooledBody? body = null)
    {
        Request = request;
        QueuedAt = queuedAt;
        Trace = trace;
        body?.Retain();
        _body = body;
    }

    public InferenceRequest Request { get; }

    /// <summary>The <see cref="System.TimeProvider.GetTimestamp"/> at which it was queued.</summary>
    public long QueuedAt { get; }

    /// <summary>The request's trace (<see cref="ServeTracing"/>); default when it is not traced.</summary>
    public ActivityContext Trace { get; }

    private const int Queued = 0, Taken = 1, Abandoned = 2;
    private int _state;

    public Task<InferenceResult> Result => _completion.Task;

    /// <summary>A worker claims it; false when its client left first (it is skipped, not run).</summary>
    public bool TryTake() => Interlocked.CompareExchange(ref _state, Taken, Queued) == Queued;

    /// <summary>
    /// Its client left while it waited: no worker will run it. False when a worker took it first.
    /// Exactly one of <see cref="TryTake"/> and this succeeds, so the queue's count drops once.
    /// </summary>
    public bool TryAbandon() => Interlocked.CompareExchange(ref _state, Abandoned, Queued) == Queued;

    /// <summary>
    /// Ends the job's hold on its pooled body, once nothing will read the request again: it was
    /// never queued, it was abandoned or failed unrun, or the handler's call on its batch has
    /// returned. Only the first call releases.
    /// </summary>
    public void ReleaseBody() => Interlocked.Exchange(ref _body, null)?.Release();

    /// <summary>Sets the result; false when it was already set (e.g. the request timed out first).</summary>
    public bool Complete(InferenceResult result) => _completion.TrySetResult(result);
}
