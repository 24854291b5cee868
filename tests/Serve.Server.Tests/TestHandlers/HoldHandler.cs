using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Serve.Runtime;

namespace Serve.Server.Tests.TestHandlers;

/// <summary>
/// Holds a batch as its bodies say: "hold" until <see cref="Release"/> (then reads the bodies
/// again), "forever" until its cancellation token fires (a response timeout cancels it).
/// Anything else passes at once.
/// </summary>
[Handler("hold")]
public partial class HoldHandler
{
    private static TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Released once for each batch that starts holding until <see cref="Release"/>.</summary>
    public static SemaphoreSlim Holding { get; } = new(0);

    /// <summary>The bodies of each held batch as read again once it was released.</summary>
    public static ConcurrentQueue<string> ReadAfterHold { get; } = new();

    public static void Release()
    {
        var gate = _gate;
        _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.TrySetResult();
    }

    [Inference]
    public static async Task<string[]> Run(IReadOnlyList<InferenceRequest> batch, CancellationToken cancellationToken)
    {
        var bodies = batch.Select(request => Encoding.UTF8.GetString(request.Body.Span)).ToArray();
        if (bodies.Contains("hold"))
        {
            Holding.Release();
            await _gate.Task.WaitAsync(cancellationToken);
            foreach (var request in batch)
            {
                ReadAfterHold.Enqueue(Encoding.UTF8.GetString(request.Body.Span));
            }
        }
        if (bodies.Contains("forever"))
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        return bodies;
    }
}
