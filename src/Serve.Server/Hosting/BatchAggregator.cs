using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace Serve.Server;

/// <summary>
/// Forms a model's batches from its queue, as TorchServe does: a batch goes when it holds
/// <c>batchSize</c> requests or when <c>maxBatchDelay</c> has passed since its first request
/// was queued, whichever comes first. Workers ask for their next batch when they are free;
/// they take turns, so each batch is gathered by one worker while the others run theirs.
/// A job whose client left while it waited is skipped (<see cref="InferenceJob.TryTake"/>):
/// the model's time goes to requests someone still waits for.
/// </summary>
internal sealed class BatchAggregator(ChannelReader<InferenceJob> queue, int batchSize, TimeSpan maxBatchDelay, TimeProvider time)
{
    private readonly SemaphoreSlim _gathering = new(1, 1);

    public int BatchSize { get; } = batchSize;

    public TimeSpan MaxBatchDelay { get; } = maxBatchDelay;

    /// <summary>Raised for each job taken off the queue (the queue's bound counts waiting jobs; queue latency is measured here).</summary>
    public event Action<InferenceJob>? Taken;

    /// <summary>
    /// The next batch, or null when the queue is closed and empty. <paramref name="idle"/> stops
    /// the wait for a first request only: once a batch has begun it is always returned, so a
    /// worker told to stop never drops a request it has taken.
    /// </summary>
    public async ValueTask<InferenceJob[]?> NextBatchAsync(CancellationToken idle)
    {
        await _gathering.WaitAsync(idle).ConfigureAwait(false);
        try
        {
            var first = await FirstAsync(idle).ConfigureAwait(false);
            if (first is null)
            {
                return null;
            }

            var batch = new List<InferenceJob>(BatchSize) { first };
            while (batch.Count < BatchSize)
            {
                if (TryTake(out var job))
                {
                    batch.Add(job);
                    continue;
                }

                var remaining = MaxBatchDelay - time.GetElapsedTime(first.QueuedAt);
                if (remaining <= TimeSpan.Zero || !await WaitForMoreAsync(remaining).ConfigureAwait(false))
                {
                    break;
                }
            }
            return batch.ToArray();
        }
        finally
        {
            _gathering.Release();
        }
    }

    /// <summary>
    /// Takes every job waiting (for a model left without workers, to answer them); none while a
    /// worker is gathering a batch, since that worker will take them.
    /// </summary>
    public List<InferenceJob> TakeQueued()
    {
        var taken = new List<InferenceJob>();
        if (!_gathering.Wait(0))
        {
            return taken;
        }
        try
        {
            while (TryTake(out var job))
            {
                taken.Add(job);
            }
            return taken;
        }
        finally
        {
            _gathering.Release();
        }
    }

    private async ValueTask<InferenceJob?> FirstAsync(CancellationToken idle)
    {
        while (true)
        {
            if (TryTake(out var job))
            {
                return job;
            }
            if (!await queue.WaitToReadAsync(idle).ConfigureAwait(false))
            {
                return null;
            }
        }
    }

    /// <summary>Reads the next job that is still wanted, skipping those abandoned by their clients.</summary>
    private bool TryTake([NotNullWhen(true)] out InferenceJob? job)
    {
        while (queue.TryRead(out job))
        {
            if (job.TryTake())
            {
                Taken?.Invoke(job);
                return true;
            }
        }
        return false;
    }

    /// <summary>Waits until a job is queued (true) or the time is up or the queue closed (false).</summary>
    private async ValueTask<bool> WaitForMoreAsync(TimeSpan remaining)
    {
        using var timer = new CancellationTokenSource(remaining, time);
        var wait = queue.WaitToReadAsync(timer.Token).AsTask();
        await ((Task)wait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return wait.IsCompletedSuccessfully && wait.Result;
    }
}
