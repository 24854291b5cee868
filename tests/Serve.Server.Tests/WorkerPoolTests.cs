using System;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using Serve.Runtime;

namespace Serve.Server.Tests;

/// <summary>
/// The queue, batch aggregator and worker pool of one model, on a fake clock with fake
/// handlers: time moves only when a test advances it, so "waits no longer than" is exact.
/// </summary>
public sealed class WorkerPoolTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _time = new();
    private readonly FakeHandlers _handlers = new();
    private ServedModel? _model;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _handlers.Release();
        await _handlers.Stuck.CancelAsync();
        if (_model is not null)
        {
            await _model.DrainAsync(new CancellationTokenSource(Patience).Token);
        }
    }

    private async Task<ServedModel> StartAsync(ModelConfig config)
    {
        _model = _handlers.Model(config, _time);
        await _model.StartAsync(CancellationToken.None);
        return _model;
    }

    private static Task<InferenceResult> Send(ServedModel model, string body) =>
        model.InferAsync(new InferenceRequest(Encoding.UTF8.GetBytes(body)), explain: false, CancellationToken.None);

    private static string Text(InferenceResult result) =>
        result.IsSuccess ? Encoding.UTF8.GetString(result.Body.Span) : $"{result.ErrorKind}: {result.ErrorMessage}";

    [Fact]
    public async Task A_batch_fills_to_batch_size_without_waiting_for_the_delay()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 4, MaxBatchDelay = 60_000 });

        var results = Enumerable.Range(0, 4).Select(i => Send(model, "r" + i)).ToArray();
        await Task.WhenAll(results).WaitAsync(Patience); // the clock never moves: only a full batch can go

        Assert.Equal(["r0", "r1", "r2", "r3"], Assert.Single(_handlers.Batches));
        Assert.Equal(["R0", "R1", "R2", "R3"], results.Select(result => Text(result.Result)));
    }

    [Fact]
    public async Task Requests_beyond_batch_size_go_in_the_next_batch()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 2, MaxBatchDelay = 60_000 });

        var results = Enumerable.Range(0, 5).Select(i => Send(model, "r" + i)).ToArray();
        await Task.WhenAll(results.Take(4)).WaitAsync(Patience);
        Assert.False(results[4].IsCompleted); // alone in its batch until the delay passes
        _time.Advance(TimeSpan.FromMinutes(1));
        await results[4].WaitAsync(Patience);

        Assert.Equal([2, 2, 1], _handlers.Batches.Select(batch => batch.Length));
    }

    [Fact]
    public async Task A_lone_request_waits_no_longer_than_max_batch_delay()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 8, MaxBatchDelay = 100 });

        var result = Send(model, "alone");
        _time.Advance(TimeSpan.FromMilliseconds(99));
        await Task.Delay(200); // real time, for a wrongly early batch to show
        Assert.False(result.IsCompleted);
        Assert.Empty(_handlers.Batches);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("ALONE", Text(await result.WaitAsync(Patience)));
        Assert.Equal(["alone"], Assert.Single(_handlers.Batches));
    }

    [Fact]
    public async Task Requests_arriving_together_go_in_one_batch()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 8, MaxBatchDelay = 100 });

        using var start = new Barrier(5);
        var results = new Task<InferenceResult>[5];
        var senders = Enumerable.Range(0, 5)
            .Select(i => Task.Run(() => { start.SignalAndWait(Patience); results[i] = Send(model, "c" + i); }))
            .ToArray();
        await Task.WhenAll(senders).WaitAsync(Patience);
        _time.Advance(TimeSpan.FromMilliseconds(100));
        await Task.WhenAll(results).WaitAsync(Patience);

        Assert.Equal(["c0", "c1", "c2", "c3", "c4"], Assert.Single(_handlers.Batches).Order());
    }

    [Fact]
    public async Task A_response_timeout_fails_only_the_late_batch_and_replaces_its_worker()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 1, MaxBatchDelay = 0, ResponseTimeout = 5 });

        var late = Send(model, "stuck");
        await _handlers.WaitForBatchesAsync();
        var queuedBehind = Send(model, "next");
        _time.Advance(TimeSpan.FromSeconds(5));

        var timedOut = await late.WaitAsync(Patience);
        Assert.Equal(InferenceErrorKind.Timeout, timedOut.ErrorKind);
        Assert.Contains("responseTimeout of 5 s", timedOut.ErrorMessage);
        Assert.Equal("NEXT", Text(await queuedBehind.WaitAsync(Patience)));
        Assert.Equal("AFTER", Text(await Send(model, "after").WaitAsync(Patience)));
        Assert.Equal(2, _handlers.Created);
        Assert.Equal(1, model.WorkersReplaced);
        Assert.Equal(1, model.WorkerCount);
    }

    [Fact]
    public async Task A_response_timeout_beyond_what_a_timer_can_wait_means_none()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 1, MaxBatchDelay = 0, ResponseTimeout = int.MaxValue });

        Assert.Equal("FINE", Text(await Send(model, "fine").WaitAsync(Patience)));
    }

    [Fact]
    public async Task A_failing_stage_fails_only_its_batch_with_a_message_naming_the_stage()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 1, MaxBatchDelay = 0 });

        var failed = await Send(model, "boom").WaitAsync(Patience);
        var next = await Send(model, "fine").WaitAsync(Patience);

        Assert.Equal(InferenceErrorKind.Internal, failed.ErrorKind);
        Assert.Equal("The inference stage of handler 'fake' failed: the model exploded", failed.ErrorMessage);
        Assert.Equal("FINE", Text(next));
    }

    [Fact]
    public async Task Scaling_down_drains_the_retired_workers_without_losing_a_request()
    {
        var model = await StartAsync(new ModelConfig { MinWorkers = 1, MaxWorkers = 3, BatchSize = 1, MaxBatchDelay = 0 });
        await model.ScaleAsync(3, 3, CancellationToken.None);
        Assert.Equal(3, model.WorkerCount);

        var results = Enumerable.Range(0, 9).Select(i => Send(model, "wait")).ToArray();
        await _handlers.WaitForBatchesAsync(3); // every worker holds a batch
        var scaling = model.ScaleAsync(1, 3, CancellationToken.None);
        Assert.False(scaling.IsCompleted); // the retired workers finish their batch first
        _handlers.Release();
        await scaling.WaitAsync(Patience);
        var all = await Task.WhenAll(results).WaitAsync(Patience);

        Assert.Equal(1, model.WorkerCount);
        Assert.All(all, result => Assert.Equal("WAIT", Text(result)));
        Assert.Equal(9, _handlers.Batches.Count);
    }

    [Fact]
    public async Task Scaling_replaces_the_bounds_within_zero_and_the_worker_limit()
    {
        var model = await StartAsync(new ModelConfig { MinWorkers = 1, MaxWorkers = 2 });

        await model.ScaleAsync(3, 5, CancellationToken.None); // beyond the config's maxWorkers: the new bounds replace it
        Assert.Equal((3, 5, 3), (model.MinWorkers, model.MaxWorkers, model.WorkerCount));

        var negative = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => model.ScaleAsync(-1, 0, CancellationToken.None));
        Assert.StartsWith("min_worker=-1: a worker count is 0 or more.", negative.Message);
        var inverted = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => model.ScaleAsync(3, 2, CancellationToken.None));
        Assert.StartsWith("max_worker cannot be less than min_worker.", inverted.Message);
        var absurd = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => model.ScaleAsync(1000, 1000, CancellationToken.None));
        Assert.StartsWith($"min_worker=1000 is more than this server's limit of {ServeOptions.DefaultMaxWorkersPerModel} workers per model", absurd.Message);
        Assert.Equal((3, 5, 3), (model.MinWorkers, model.MaxWorkers, model.WorkerCount)); // a refused scale changes nothing
    }

    [Fact]
    public async Task Scaled_to_zero_it_answers_503_also_to_requests_queued_as_its_last_worker_left_and_serves_again_once_scaled_up()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 1, MaxBatchDelay = 0 });
        var first = Send(model, "wait");
        await _handlers.WaitForBatchesAsync(1); // the worker holds it
        var queued = Enumerable.Range(0, 3).Select(_ => Send(model, "wait")).ToArray();

        var scaling = model.ScaleAsync(0, 0, CancellationToken.None);
        Assert.False(scaling.IsCompleted); // the worker finishes the batch in hand first
        _handlers.Release();
        await scaling.WaitAsync(Patience);

        Assert.Equal("WAIT", Text(await first.WaitAsync(Patience)));
        foreach (var result in await Task.WhenAll(queued).WaitAsync(Patience))
        {
            Assert.Equal(InferenceErrorKind.Unavailable, result.ErrorKind);
            Assert.Contains("has no worker to serve inference requests (it was scaled to 0)", result.ErrorMessage);
        }
        Assert.Equal((0, 0, 0, 0), (model.MinWorkers, model.MaxWorkers, model.WorkerCount, model.QueueLength));
        Assert.Equal(InferenceErrorKind.Unavailable, (await Send(model, "later").WaitAsync(Patience)).ErrorKind);

        await model.ScaleAsync(1, 1, CancellationToken.None);
        Assert.Equal("AGAIN", Text(await Send(model, "again").WaitAsync(Patience)));
    }

    [Fact]
    public async Task Describe_lists_each_worker_with_a_unique_id_start_time_and_device()
    {
        var model = await StartAsync(new ModelConfig { MinWorkers = 2, MaxWorkers = 2 });

        var workers = model.Workers;
        Assert.Equal(2, workers.Count);
        Assert.Equal(2, workers.Select(w => w.Id).Distinct().Count());
        Assert.All(workers, w => Assert.Equal((WorkerInfo.Ready, "cpu", _time.GetUtcNow()), (w.Status, w.Device, w.StartTime)));
        Assert.Equal(ModelStatus.Ready, model.Status);
    }

    [Fact]
    public async Task A_full_queue_refuses_a_request_as_unavailable()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 1, MaxBatchDelay = 0, JobQueueSize = 2 });

        var running = Send(model, "wait");
        await _handlers.WaitForBatchesAsync(); // taken by the worker: no longer queued
        var queued = new[] { Send(model, "wait"), Send(model, "wait") };
        var refused = await Send(model, "one too many").WaitAsync(Patience);

        Assert.Equal(InferenceErrorKind.Unavailable, refused.ErrorKind);
        Assert.Contains("full queue (2 requests", refused.ErrorMessage);
        _handlers.Release();
        Assert.All(await Task.WhenAll([running, .. queued]).WaitAsync(Patience), result => Assert.True(result.IsSuccess));
    }

    [Fact]
    public async Task Refusals_for_a_full_queue_are_logged_at_most_once_a_second_with_their_count()
    {
        var log = new LinesLogger();
        _model = _handlers.Model(new ModelConfig { BatchSize = 1, MaxBatchDelay = 0, JobQueueSize = 1 }, _time, logger: log);
        await _model.StartAsync(CancellationToken.None);
        var model = _model;

        var running = Send(model, "wait");
        await _handlers.WaitForBatchesAsync();
        var queued = Send(model, "wait");
        var refusals = new[] { await Send(model, "a"), await Send(model, "b"), await Send(model, "c") };
        _time.Advance(TimeSpan.FromSeconds(1));
        refusals = [.. refusals, await Send(model, "d")];

        Assert.All(refusals, refused => Assert.Equal(InferenceErrorKind.Unavailable, refused.ErrorKind));
        Assert.Equal(2, log.Lines.Count(line => line.Contains("its queue is full (1 requests, its jobQueueSize)", StringComparison.Ordinal)));
        Assert.Contains(log.Lines, line => line.Contains("refused 1 request(s)", StringComparison.Ordinal)); // the first, at once
        Assert.Contains(log.Lines, line => line.Contains("refused 3 request(s)", StringComparison.Ordinal)); // b, c and d, a second later
        _handlers.Release();
        await Task.WhenAll(running, queued).WaitAsync(Patience);
    }

    /// <summary>Keeps what is logged at Warning and above.</summary>
    private sealed class LinesLogger : Microsoft.Extensions.Logging.ILogger
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Lines { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Warning;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Lines.Enqueue(formatter(state, exception));
            }
        }
    }

    /// <summary>Queues "left-1" and "left-2" for clients that leave when <paramref name="leaving"/> fires.</summary>
    private static Task<InferenceResult>[] QueueTwoWhoseClientsLeave(ServedModel model, CancellationToken leaving) =>
        [.. new[] { "left-1", "left-2" }.Select(body => model.InferAsync(new InferenceRequest(Encoding.UTF8.GetBytes(body)), explain: false, leaving))];

    [Fact]
    public async Task A_request_whose_client_left_while_queued_frees_its_place_and_is_never_run()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 1, MaxBatchDelay = 0, JobQueueSize = 2 });

        var running = Send(model, "wait");
        await _handlers.WaitForBatchesAsync();
        using var leaving = new CancellationTokenSource();
        var abandoned = QueueTwoWhoseClientsLeave(model, leaving.Token);
        Assert.Equal(2, model.QueueLength);
        await leaving.CancelAsync();
        foreach (var gone in abandoned)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gone.WaitAsync(Patience));
        }

        Assert.Equal(0, model.QueueLength); // their places are free before any worker looks at them
        var queued = new[] { Send(model, "after-1"), Send(model, "after-2") };
        _handlers.Release();

        Assert.Equal(["AFTER-1", "AFTER-2"], (await Task.WhenAll(queued).WaitAsync(Patience)).Select(Text));
        Assert.True((await running.WaitAsync(Patience)).IsSuccess);
        Assert.DoesNotContain(_handlers.Batches, batch => batch.Any(body => body.StartsWith("left", StringComparison.Ordinal)));
        Assert.Equal(0, model.QueueLength);
    }

    [Fact]
    public async Task A_full_queue_looks_again_once_cancellations_already_on_the_thread_pool_ran_before_it_answers_503()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 1, MaxBatchDelay = 0, JobQueueSize = 2 });
        var running = Send(model, "wait");
        await _handlers.WaitForBatchesAsync();
        // Two clients left, but Kestrel's RequestAborted has not reached their tokens yet: it is
        // queued on the thread pool, which runs it at the first turn the new request yields.
        using var leaving = new CancellationTokenSource();
        var abandoned = QueueTwoWhoseClientsLeave(model, leaving.Token);
        var turns = 0;
        model.YieldToThreadPool = () =>
        {
            if (++turns == 2)
            {
                leaving.Cancel();
            }
            return ValueTask.CompletedTask;
        };

        var admitted = Send(model, "after");
        _handlers.Release();

        Assert.Equal("AFTER", Text(await admitted.WaitAsync(Patience)));
        Assert.Equal(2, turns);
        Assert.True((await running.WaitAsync(Patience)).IsSuccess);
        foreach (var gone in abandoned)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gone.WaitAsync(Patience));
        }
    }

    [Fact]
    public async Task A_queue_still_full_after_the_thread_pool_turned_over_answers_503()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 1, MaxBatchDelay = 0, JobQueueSize = 2 });
        var busy = Send(model, "wait");
        await _handlers.WaitForBatchesAsync();
        var queued = new[] { Send(model, "q-1"), Send(model, "q-2") };
        var turns = 0;
        model.YieldToThreadPool = () =>
        {
            turns++;
            return ValueTask.CompletedTask;
        };
        var refused = await Send(model, "refused").WaitAsync(Patience);

        Assert.Equal(InferenceErrorKind.Unavailable, refused.ErrorKind);
        Assert.Contains("full queue (2 requests, its jobQueueSize)", refused.ErrorMessage);
        Assert.Equal(ServedModel.CancellationTurns, turns); // it looked again after each turn
        _handlers.Release();
        await Task.WhenAll([busy, .. queued]).WaitAsync(Patience);
    }

    [Fact]
    public async Task Draining_runs_every_queued_request_then_refuses_new_ones()
    {
        var model = await StartAsync(new ModelConfig { BatchSize = 2, MaxBatchDelay = 0 });
        var results = Enumerable.Range(0, 5).Select(i => Send(model, "wait")).ToArray();
        await _handlers.WaitForBatchesAsync();

        var draining = model.DrainAsync(CancellationToken.None);
        var refused = await Send(model, "late").WaitAsync(Patience);
        _handlers.Release();
        await draining.WaitAsync(Patience);

        Assert.All(await Task.WhenAll(results), result => Assert.Equal("WAIT", Text(result)));
        Assert.Equal(InferenceErrorKind.Unavailable, refused.ErrorKind);
        _model = null;
    }

    [Fact]
    public async Task A_request_its_own_preprocess_rejects_is_answered_at_once_and_never_batched()
    {
        _handlers.PerRequestPreprocess = true;
        var model = await StartAsync(new ModelConfig { BatchSize = 1, MaxBatchDelay = 0 });

        var busy = Send(model, "wait");
        await _handlers.WaitForBatchesAsync(); // the only worker is busy
        var rejected = await Send(model, "bad").WaitAsync(Patience);

        Assert.Equal(InferenceErrorKind.InvalidRequest, rejected.ErrorKind);
        Assert.Equal("'bad' is not accepted", rejected.ErrorMessage);
        _handlers.Release();
        Assert.Equal("PRE:WAIT", Text(await busy.WaitAsync(Patience)));
        Assert.DoesNotContain(_handlers.Batches, batch => batch.Any(body => body.Contains("bad")));
        Assert.Equal(0, model.QueueLength);
    }

    [Fact]
    public async Task Per_request_preprocesses_run_concurrently_and_their_output_reaches_the_batch()
    {
        _handlers.PerRequestPreprocess = true;
        var model = await StartAsync(new ModelConfig { BatchSize = 2, MaxBatchDelay = 60_000 });

        // Each "pair" preprocess waits for the other to be running too: serial preprocessing would deadlock (and time out).
        var results = await Task.WhenAll(Send(model, "pair"), Send(model, "pair")).WaitAsync(Patience);

        Assert.All(results, result => Assert.Equal("PRE:PAIR", Text(result)));
        Assert.Equal(["pre:pair", "pre:pair"], Assert.Single(_handlers.Batches));
    }
}
