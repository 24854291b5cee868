using System;
using System.Threading;
using System.Threading.Tasks;

namespace Serve.Server;

/// <summary>
/// Bounds how many per-request stages (preprocess of one request) run at once across all
/// models: one per core by default, so decoding uses every core without oversubscribing them.
/// </summary>
internal sealed class RequestStageLimiter(int concurrency)
{
    private readonly SemaphoreSlim _slots = new(concurrency, concurrency);

    public RequestStageLimiter() : this(Environment.ProcessorCount)
    {
    }

    public ValueTask WaitAsync(CancellationToken cancellationToken) =>
        _slots.Wait(0, CancellationToken.None) ? ValueTask.CompletedTask : new ValueTask(_slots.WaitAsync(cancellationToken));

    public void Release() => _slots.Release();
}
