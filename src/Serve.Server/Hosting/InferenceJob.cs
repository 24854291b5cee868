using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Server;

/// <summary>One queued request: what to run, when it was queued, and where its result goes.</summary>
internal sealed class InferenceJob(InferenceRequest request, long queuedAt, ActivityContext trace = default)
{
    private readonly TaskCompletionSource<InferenceResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public InferenceRequest Request { get; } = request;

    /// <summary>The <see cref="System.TimeProvider.GetTimestamp"/> at which it was queued.</summary>
    public long QueuedAt { get; } = queuedAt;

    /// <summary>The request's trace (<see cref="ServeTracing"/>); default when it is not traced.</summary>
    public ActivityContext Trace { get; } = trace;

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

    /// <summary>Sets the result; false when it was already set (e.g. the request timed out first).</summary>
    public bool Complete(InferenceResult result) => _completion.TrySetResult(result);
}
